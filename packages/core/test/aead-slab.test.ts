// Sealed payloads of event size are cut from a shared off-heap slab (aead-native.ts): every output is its own
// region, never handed out twice, so a payload sealed earlier keeps its bytes however many seals follow; big
// outputs get their own buffer.
import { describe, expect, it } from 'vitest';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { nativeAead, sealOutput, SLAB_OUTPUT_MAX } from '../src/crypto/aead-native.js';

const SLAB = 64 * 1024;

describe('sealed outputs from the slab', () => {
  it('small outputs are regions of one shared 64 KiB buffer, laid end to end; big ones own their buffer', () => {
    const a = sealOutput(272);
    const b = sealOutput(100);
    expect(a.buffer.byteLength).toBe(SLAB);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + 272);
    expect(a.length).toBe(272);
    const big = sealOutput(SLAB_OUTPUT_MAX + 1);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(SLAB_OUTPUT_MAX + 1);
    const edge = sealOutput(SLAB_OUTPUT_MAX);
    expect(edge.buffer.byteLength).toBe(SLAB);
  });

  it('a full slab is replaced, never rewritten from its start', () => {
    const first = sealOutput(1000);
    let last = first;
    for (let i = 0; i < SLAB / 1000 + 1; i++) last = sealOutput(1000);
    expect(last.buffer).not.toBe(first.buffer);
    // No region of the first slab runs past its end.
    expect(first.byteOffset + first.length).toBeLessThanOrEqual(SLAB);
  });

  it.runIf(nativeAead !== undefined)('payloads sealed earlier keep their bytes across many later seals (more than a slab)', () => {
    const key = new Uint8Array(32).fill(3);
    const aad = new Uint8Array(48).fill(4);
    const kept: { nonce: Uint8Array; pt: Uint8Array; sealed: Uint8Array }[] = [];
    for (let i = 0; i < 600; i++) {
      const nonce = new Uint8Array(24).fill(i & 0xff);
      const pt = new Uint8Array(200 + (i % 57)).fill(i & 0xff);
      kept.push({ nonce, pt, sealed: nativeAead!.seal(key, nonce, pt, aad) });
    }
    for (const { nonce, pt, sealed } of kept) {
      expect(Buffer.from(sealed).equals(Buffer.from(xchacha20poly1305(key, nonce, aad).encrypt(pt)))).toBe(true);
    }
  });
});
