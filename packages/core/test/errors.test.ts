import { describe, expect, it } from 'vitest';
import { BatpakError, ERROR_CODES, ioError, isBatpakError } from '../src/errors.js';

describe('BatpakError', () => {
  it('carries a stable code, details and cause', () => {
    const cause = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const err = ioError(cause, 'append', { file: '000001.bps' });
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_NO_SPACE');
    expect(err.details.file).toBe('000001.bps');
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(true);
    expect(isBatpakError(err, 'ERR_NO_SPACE')).toBe(true);
    expect(isBatpakError(err, 'ERR_IO')).toBe(false);
  });

  it('maps other errno values to ERR_IO and passes typed errors through', () => {
    expect(ioError(Object.assign(new Error('x'), { code: 'EIO' }), 'read').code).toBe('ERR_IO');
    const typed = new BatpakError('ERR_NOT_FOUND', 'missing');
    expect(ioError(typed, 'read')).toBe(typed);
  });

  it('has the codes callers switch on', () => {
    for (const code of [
      'ERR_INVALID_COORDINATE', 'ERR_INVALID_KIND', 'ERR_NOT_FOUND', 'ERR_STORE_CLOSED', 'ERR_STORE_LOCKED',
      'ERR_READ_ONLY', 'ERR_CORRUPT_SEGMENT', 'ERR_CORRUPT_KEYSET', 'ERR_CHAIN_VERIFICATION_FAILED',
      'ERR_KIND_COLLISION', 'ERR_UPCAST_CHAIN_INCOMPLETE', 'ERR_SIGNING_KEY_REQUIRED', 'ERR_SIGNING_FAILED',
      'ERR_PAYLOAD_SHREDDED', 'ERR_PAYLOAD_DECRYPT_FAILED', 'ERR_SHRED_SELECTOR_MISMATCH',
      'ERR_ENCRYPTION_NOT_CONFIGURED', 'ERR_SEQUENCE_CONFLICT', 'ERR_PAYLOAD_TOO_LARGE', 'ERR_IO',
      'ERR_NO_SPACE', 'ERR_ABORTED',
    ]) {
      expect(ERROR_CODES).toContain(code);
    }
  });
});

describe('BatpakError factories', () => {
  it('invalidArgument: ERR_INVALID_ARGUMENT with the message, optional details and cause', () => {
    const cause = new Error('inner');
    const err = BatpakError.invalidArgument('limit must be positive', { field: 'limit' }, cause);
    expect(err).toBeInstanceOf(BatpakError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ERR_INVALID_ARGUMENT');
    expect(err.message).toBe('limit must be positive');
    expect(err.details).toEqual({ field: 'limit' });
    expect(err.cause).toBe(cause);
    const bare = BatpakError.invalidArgument('bad');
    expect(bare.details).toEqual({});
    expect('cause' in bare).toBe(false);
  });

  it('corruptSegment: the one corrupt-segment message, with file, offset and reason in details', () => {
    const err = BatpakError.corruptSegment('/d/000001.bps', 64, 'bad frame CRC');
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_CORRUPT_SEGMENT');
    expect(err.message).toBe('corrupt segment /d/000001.bps at offset 64: bad frame CRC');
    expect(err.details).toEqual({ file: '/d/000001.bps', offset: 64, reason: 'bad frame CRC' });
    expect(err.retryable).toBe(false);
    const cause = new Error('decode');
    const withEvent = BatpakError.corruptSegment('f', 0, 'why', { eventId: 'abc', cause });
    expect(withEvent.details).toEqual({ file: 'f', offset: 0, reason: 'why', eventId: 'abc' });
    expect(withEvent.cause).toBe(cause);
  });

  it('aborted and throwIfAborted: `<op> was aborted`, the signal reason as cause', () => {
    const err = BatpakError.aborted('query');
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_ABORTED');
    expect(err.message).toBe('query was aborted');
    expect(err.details).toEqual({});
    expect('cause' in err).toBe(false);
    expect(err.retryable).toBe(true);

    expect(() => BatpakError.throwIfAborted(undefined, 'snapshot')).not.toThrow();
    const ac = new AbortController();
    expect(() => BatpakError.throwIfAborted(ac.signal, 'snapshot')).not.toThrow();
    const reason = new Error('stop');
    ac.abort(reason);
    let thrown: unknown;
    try {
      BatpakError.throwIfAborted(ac.signal, 'snapshot');
    } catch (e) {
      thrown = e;
    }
    expect(isBatpakError(thrown, 'ERR_ABORTED')).toBe(true);
    expect((thrown as BatpakError).message).toBe('snapshot was aborted');
    expect((thrown as BatpakError).cause).toBe(reason);
  });

  it('storeLocked: ERR_STORE_LOCKED naming how the holder was seen and the lock file', () => {
    const err = BatpakError.storeLocked('/d/LOCK', 'held in this SimFs');
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_STORE_LOCKED');
    expect(err.message).toBe('store is locked by another writer (held in this SimFs): /d/LOCK');
    expect(err.details).toEqual({ file: '/d/LOCK' });
    expect(err.retryable).toBe(true);
  });

  it('notFound: ERR_NOT_FOUND with the message and details', () => {
    const err = BatpakError.notFound('no event 01', { eventId: '01' });
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_NOT_FOUND');
    expect(err.message).toBe('no event 01');
    expect(err.details).toEqual({ eventId: '01' });
    expect(BatpakError.notFound('gone').details).toEqual({});
  });

  it('signerFailed and badSignature: ERR_SIGNING_FAILED naming the signer', () => {
    const thrown = new Error('hsm offline');
    const err = BatpakError.signerFailed('the receipt signer', thrown);
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_SIGNING_FAILED');
    expect(err.message).toBe('the receipt signer failed: hsm offline');
    expect(err.cause).toBe(thrown);
    expect(err.details).toEqual({});
    expect(BatpakError.signerFailed('the signer', 'nope').message).toBe('the signer failed: nope');
    const bad = BatpakError.badSignature('the signer');
    expect(bad.code).toBe('ERR_SIGNING_FAILED');
    expect(bad.message).toBe('the signer returned something other than a 64-byte signature');
    expect(bad.details).toEqual({});
  });

  it('invalidKind: ERR_INVALID_KIND with the message and the batch index only when given', () => {
    const err = BatpakError.invalidKind('kind typeId must be an integer 0..4095, got 5000', 3);
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_INVALID_KIND');
    expect(err.message).toBe('kind typeId must be an integer 0..4095, got 5000');
    expect(err.details).toEqual({ index: 3 });
    expect(BatpakError.invalidKind('x', 0).details).toEqual({ index: 0 });
    const single = BatpakError.invalidKind('expected an event definition from defineEvent()');
    expect(single.details).toEqual({});
    expect('index' in single.details).toBe(false);
    expect('cause' in single).toBe(false);
    expect(single.retryable).toBe(false);
  });

  it('invalidPayload: ERR_INVALID_PAYLOAD with the message, optional details and cause', () => {
    const cause = new Error('bad msgpack');
    const err = BatpakError.invalidPayload('payload of event e1 is not valid msgpack', { eventId: 'e1' }, cause);
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_INVALID_PAYLOAD');
    expect(err.message).toBe('payload of event e1 is not valid msgpack');
    expect(err.details).toEqual({ eventId: 'e1' });
    expect(err.cause).toBe(cause);
    const bare = BatpakError.invalidPayload('raw payload must be a Uint8Array');
    expect(bare.details).toEqual({});
    expect('cause' in bare).toBe(false);
    expect(BatpakError.invalidPayload('m', undefined, cause).details).toEqual({});
  });

  it('storeClosed: ERR_STORE_CLOSED with the message, no details, not retryable', () => {
    const err = BatpakError.storeClosed('the store is closed');
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_STORE_CLOSED');
    expect(err.message).toBe('the store is closed');
    expect(err.details).toEqual({});
    expect('cause' in err).toBe(false);
    expect(err.retryable).toBe(false);
  });
});

describe('README error table', () => {
  it('documents exactly the codes in ERROR_CODES', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Errors'));
    const documented = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...ERROR_CODES]);
  });
});
