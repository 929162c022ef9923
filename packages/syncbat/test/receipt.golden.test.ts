// Receipt envelope bytes against Rust's golden (fixtures/syncbat/receipt_envelope_completed.hex), plus the
// store-sink extension keys and drawer-blob layout of syncbat-hostbat.md §2.5.
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import {
  decodeReceiptEnvelope,
  encodeDrawerBlob,
  encodeReceiptEnvelope,
  receiptExtensions,
  syncbatExtensionKey,
  type ReceiptEnvelope,
} from '../src/index.js';
import { bytes } from './helpers/fixtures.js';

const GOLDEN = readFileSync(new URL('../../../fixtures/syncbat/receipt_envelope_completed.hex', import.meta.url), 'utf8').trim();

const golden: ReceiptEnvelope = {
  descriptorName: 'inventory.reserve',
  receiptKind: 'receipt.inventory.reserve.v1',
  inputHash: new Uint8Array(32).fill(0x11),
  outputHash: new Uint8Array(32).fill(0x22),
  outcome: { class: 'completed' },
  // Inserted out of order on purpose: encoding sorts by key bytes like a BTreeMap.
  signedExtensions: new Map([
    ['syncbat.signed.beta', bytes('signed-b')],
    ['syncbat.signed.alpha', bytes('signed-a')],
  ]),
  localExtensions: new Map([
    ['local.beta', bytes('local-b')],
    ['local.alpha', bytes('local-a')],
  ]),
};

describe('ReceiptEnvelope canonical bytes', () => {
  it('reproduces the Rust golden byte for byte (323 bytes)', () => {
    const encoded = encodeReceiptEnvelope(golden);
    expect(encoded.length).toBe(323);
    expect(toHex(encoded)).toBe(GOLDEN);
  });

  it('decodes the golden back to the same envelope and re-encodes identically', () => {
    const decoded = decodeReceiptEnvelope(fromHex(GOLDEN));
    expect(decoded.descriptorName).toBe('inventory.reserve');
    expect(decoded.outcome).toEqual({ class: 'completed' });
    expect(decoded.signedExtensions.get('syncbat.signed.alpha')).toEqual(bytes('signed-a'));
    expect(toHex(encodeReceiptEnvelope(decoded))).toBe(GOLDEN);
  });

  it('encodes struct outcomes as one-entry maps and absent hashes as nil', () => {
    const denied: ReceiptEnvelope = {
      descriptorName: 'a',
      receiptKind: 'r',
      outcome: { class: 'denied', code: 'capability.denied', message: 'no' },
      signedExtensions: new Map(),
      localExtensions: new Map(),
    };
    const hex = toHex(encodeReceiptEnvelope(denied));
    // input_hash: nil, output_hash: nil
    expect(hex).toContain(`aa${toHex(bytes('input_hash'))}c0ab${toHex(bytes('output_hash'))}c0`);
    // outcome: {"Denied": {"code": …, "message": …}}
    expect(hex).toContain(`a7${toHex(bytes('outcome'))}81a6${toHex(bytes('Denied'))}82a4${toHex(bytes('code'))}`);
    expect(decodeReceiptEnvelope(encodeReceiptEnvelope(denied))).toEqual(denied);
  });

  it('rejects bytes that are not an envelope with ERR_INVALID_PAYLOAD', () => {
    expect(() => decodeReceiptEnvelope(new Uint8Array([0xc0]))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PAYLOAD' }));
    expect(() => decodeReceiptEnvelope(fromHex(GOLDEN).subarray(0, 100))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PAYLOAD' }));
  });
});

describe('store-sink extensions', () => {
  it('lists descriptor, outcome, kind, hashes and the signed-drawer blob under syncbat.*', () => {
    const ext = receiptExtensions(golden);
    expect([...ext.keys()]).toEqual(['syncbat.descriptor', 'syncbat.outcome', 'syncbat.kind', 'syncbat.input', 'syncbat.output', 'syncbat.signed']);
    expect(ext.get('syncbat.outcome')).toEqual(bytes('completed'));
    expect(ext.get('syncbat.input')).toEqual(golden.inputHash);
    const bare = receiptExtensions({ ...golden, receiptKind: '', signedExtensions: new Map(), outcome: { class: 'failed', code: 'failed', message: 'x' } } as ReceiptEnvelope);
    expect([...bare.keys()]).toEqual(['syncbat.descriptor', 'syncbat.outcome', 'syncbat.input', 'syncbat.output']);
  });

  it('drawer blob: magic, then u64-BE length-prefixed key and value per entry in key order', () => {
    const blob = encodeDrawerBlob(new Map([['b', bytes('22')], ['a', bytes('1')]]));
    const expected = [
      ...bytes('syncbat.drawer.v1\0'),
      ...[0, 0, 0, 0, 0, 0, 0, 1], ...bytes('a'), ...[0, 0, 0, 0, 0, 0, 0, 1], ...bytes('1'),
      ...[0, 0, 0, 0, 0, 0, 0, 1], ...bytes('b'), ...[0, 0, 0, 0, 0, 0, 0, 2], ...bytes('22'),
    ];
    expect([...blob]).toEqual(expected);
  });

  it('extension field names may not contain a dot', () => {
    expect(syncbatExtensionKey('descriptor')).toBe('syncbat.descriptor');
    expect(() => syncbatExtensionKey('a.b')).toThrow(RangeError);
    expect(() => syncbatExtensionKey('')).toThrow(RangeError);
  });
});
