import { describe, expect, it } from 'vitest';
import {
  BUILD_ERROR_CODES,
  BuildError,
  DescriptorValidationError,
  EFFECT_ERROR_CODES,
  EffectError,
  HandlerError,
  OperationNameError,
  RUNTIME_ERROR_CODES,
  RuntimeError,
  STREAM_CODES,
  SYNCBAT_ERROR_CODES,
  SubscriptionError,
  SyncbatError,
  isSyncbatError,
  parseOperationName,
} from '../src/index.js';

describe('SyncbatError: one coded class for every syncbat failure', () => {
  it('is an Error with a code, a message and an optional cause', () => {
    const cause = new Error('inner');
    const err = new SyncbatError('ERR_EFFECT_FAILED', 'boom', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SyncbatError');
    expect(err.code).toBe('ERR_EFFECT_FAILED');
    expect(err.message).toBe('boom');
    expect(err.cause).toBe(cause);
    expect(isSyncbatError(err)).toBe(true);
    expect(isSyncbatError(err, 'ERR_EFFECT_FAILED')).toBe(true);
    expect(isSyncbatError(err, 'handler')).toBe(false);
    expect(isSyncbatError(new Error('x'))).toBe(false);
  });

  it('lists every code once, and keeps the codes each class had', () => {
    expect(new Set(SYNCBAT_ERROR_CODES).size).toBe(SYNCBAT_ERROR_CODES.length);
    for (const c of [...Object.values(BUILD_ERROR_CODES), ...RUNTIME_ERROR_CODES, ...STREAM_CODES, ...EFFECT_ERROR_CODES]) {
      expect(SYNCBAT_ERROR_CODES).toContain(c);
    }
    expect(RUNTIME_ERROR_CODES).toEqual(['unknown_operation', 'missing_handler', 'handler', 'receipt_sink', 'runtime']);
    expect(SYNCBAT_ERROR_CODES).toEqual(
      expect.arrayContaining(['ERR_HANDLER_INVALID_INPUT', 'ERR_HANDLER_FAILED', 'ERR_INVALID_DESCRIPTOR', 'ERR_INVALID_OPERATION_NAME']),
    );
  });

  it('BuildError: a SyncbatError with its ERR_* code, name and message unchanged', () => {
    const err = new BuildError({ kind: 'missing_receipt_sink' });
    expect(err).toBeInstanceOf(SyncbatError);
    expect(err).toBeInstanceOf(BuildError);
    expect(err.name).toBe('BuildError');
    expect(err.code).toBe('ERR_MISSING_RECEIPT_SINK');
    expect(err.detail).toEqual({ kind: 'missing_receipt_sink' });
    // Rust's Display, with our method spellings: 'core has no receipt sink: a sinkless core silently drops …'.
    expect(err.message).toBe(
      'core has no receipt sink: a sinkless core silently drops every runtime receipt. Wire one with CoreBuilder.receiptSink(), or opt out explicitly with CoreBuilder.withoutReceipts()',
    );
    expect(isSyncbatError(err, 'ERR_MISSING_RECEIPT_SINK')).toBe(true);
  });

  it('RuntimeError: a SyncbatError whose code is the netbat wire token', () => {
    const denied = new RuntimeError({ kind: 'denied', name: 'a.b', code: 'capability.denied', message: 'no' });
    expect(denied).toBeInstanceOf(SyncbatError);
    expect(denied.name).toBe('RuntimeError');
    expect(denied.code).toBe('runtime');
    expect(denied.message).toBe('operation `a.b` denied with capability.denied: no');
    expect(denied.receipt).toBeUndefined();
    expect('cause' in denied).toBe(false);
    expect(new RuntimeError({ kind: 'unknown_operation', name: 'x' }).code).toBe('unknown_operation');
  });

  it('HandlerError: a SyncbatError coded by its class, message and reason unchanged', () => {
    const bad = HandlerError.invalidInput('empty order');
    expect(bad).toBeInstanceOf(SyncbatError);
    expect(bad).toBeInstanceOf(HandlerError);
    expect(bad.name).toBe('HandlerError');
    expect(bad.code).toBe('ERR_HANDLER_INVALID_INPUT');
    expect(bad.class).toBe('invalid_input');
    expect(bad.reason).toBe('empty order');
    expect(bad.message).toBe('invalid_input: empty order');
    const cause = new Error('disk');
    const failed = HandlerError.failed('write', { cause });
    expect(failed.code).toBe('ERR_HANDLER_FAILED');
    expect(failed.cause).toBe(cause);
  });

  it('EffectError: a SyncbatError with its ERR_EFFECT_* code and Rust Display', () => {
    const err = new EffectError('no backend');
    expect(err).toBeInstanceOf(SyncbatError);
    expect(err.name).toBe('EffectError');
    expect(err.code).toBe('ERR_EFFECT_FAILED');
    expect(err.message).toBe('effect backend failure: no backend');
    const undeclared = new EffectError('evt.f001 is not declared', { code: 'ERR_EFFECT_UNDECLARED' });
    expect(undeclared.code).toBe('ERR_EFFECT_UNDECLARED');
    expect(undeclared.message).toBe('evt.f001 is not declared');
  });

  it('SubscriptionError: a SyncbatError whose code is the stream code of its kind', () => {
    const err = new SubscriptionError('unknown_subscription', 'orders.v1');
    expect(err).toBeInstanceOf(SyncbatError);
    expect(err.name).toBe('SubscriptionError');
    expect(err.kind).toBe('unknown_subscription');
    expect(err.code).toBe('unknown_subscription');
    expect(err.message).toBe('orders.v1');
    expect(new SubscriptionError('store', 'read failed').code).toBe('internal_error');
  });

  it('DescriptorValidationError and OperationNameError: SyncbatErrors with their own codes', () => {
    const d = new DescriptorValidationError('name', '', 'empty');
    expect(d).toBeInstanceOf(SyncbatError);
    expect(d.name).toBe('DescriptorValidationError');
    expect(d.code).toBe('ERR_INVALID_DESCRIPTOR');
    expect(d.message).toBe('name `` is invalid: empty');
    let thrown: unknown;
    try {
      parseOperationName('a..b');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(OperationNameError);
    expect(isSyncbatError(thrown, 'ERR_INVALID_OPERATION_NAME')).toBe(true);
    expect((thrown as OperationNameError).name).toBe('OperationNameError');
    expect((thrown as OperationNameError).kind).toBe('consecutive_dots');
  });
});

describe('README error section', () => {
  it('names every code a SyncbatError can carry', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Security'));
    for (const code of SYNCBAT_ERROR_CODES) expect(section).toContain(`\`${code}\``);
  });
});
