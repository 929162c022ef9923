// The index turns an encryption reference's scope to hex once per scope array (scope-hex.ts): the same bytes as
// toHex, and the appends of one coordinate, which share their seal context's scope array, reuse it.
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/encoding/hex.js';
import { scopeHex } from '../src/event-index/scope-hex.js';

describe('scopeHex', () => {
  it('is toHex of the scope, for views at an offset too', () => {
    const host = new Uint8Array([9, 1, 2, 3, 0xab, 0xff, 7]);
    expect(scopeHex(host.subarray(1, 6))).toBe('010203abff');
    const other = new Uint8Array([0, 0x10]);
    expect(scopeHex(other)).toBe(toHex(other));
    expect(scopeHex(new Uint8Array(0))).toBe('');
  });

  it('is computed once per array: a second call answers from what was kept', () => {
    const scope = new Uint8Array([1, 2, 3]);
    expect(scopeHex(scope)).toBe('010203');
    // Scopes the index keeps are never written; writing one here shows the answer is the kept one.
    scope[0] = 0xee;
    expect(scopeHex(scope)).toBe('010203');
    // Another array with the same bytes has its own entry (keyed by array, not by bytes).
    expect(scopeHex(new Uint8Array([0xee, 2, 3]))).toBe('ee0203');
  });
});
