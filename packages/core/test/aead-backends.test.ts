// Both XChaCha20-Poly1305 backends — libsodium (sodium-native, optional) and the portable noble HChaCha20 +
// node:crypto construction — produce the same bytes as @noble/ciphers and refuse the same forgeries, so a
// store sealed by one opens under the other; and on this project's CI platform the fast one really loads.
import fc from 'fast-check';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { AEAD_BACKEND, xchachaOpen, xchachaSeal } from '../src/crypto/aead.js';
import { nativeAead } from '../src/crypto/aead-native.js';
import { portableOpen, portableSeal } from '../src/crypto/aead-portable.js';
import { isBatpakError } from '../src/errors.js';

type Open = (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array | undefined;
interface Backend {
  readonly name: string;
  readonly seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => Uint8Array;
  readonly open: Open;
}

const portable: Backend = {
  name: 'node:crypto',
  seal: portableSeal,
  open: (key, nonce, sealed, aad) => {
    try {
      return portableOpen(key, nonce, sealed, aad);
    } catch (err) {
      if (isBatpakError(err, 'ERR_PAYLOAD_DECRYPT_FAILED')) return undefined;
      throw err;
    }
  },
};
const backends: Backend[] = [portable, ...(nativeAead === undefined ? [] : [{ name: 'libsodium', ...nativeAead }])];
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
// Keys and nonces are often views into larger buffers (a decoded frame): offsets must not matter.
const view = (b: Uint8Array) => {
  const host = new Uint8Array(b.length + 7);
  host.set(b, 5);
  return host.subarray(5, 5 + b.length);
};

describe('AEAD backends', () => {
  it('libsodium loads where sodium-native ships a prebuilt binary (linux-x64, this CI), and is the one used', () => {
    if (process.platform === 'linux' && process.arch === 'x64') expect(nativeAead).toBeDefined();
    expect(AEAD_BACKEND).toBe(nativeAead === undefined ? 'node:crypto' : 'libsodium');
    // The public functions use the backend they report: a native seal opens with the portable open and back.
    const key = new Uint8Array(32).fill(9);
    const nonce = new Uint8Array(24).fill(8);
    const pt = new TextEncoder().encode('payload');
    expect(portable.open(key, nonce, xchachaSeal(key, nonce, pt, pt), pt)).toEqual(pt);
    expect(xchachaOpen(key, nonce, portableSeal(key, nonce, pt, pt), pt)).toEqual(pt);
  });

  it.each(backends.map((b) => [b.name, b] as const))('%s: the same bytes as @noble/ciphers, and each opens the other', (_name, b) => {
    const sizes = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 4096), fc.nat({ max: 5000 }));
    fc.assert(
      fc.property(bytes(32), bytes(24), sizes.chain((n) => bytes(n)), fc.uint8Array({ maxLength: 80 }), (key, nonce, pt, aad) => {
        const ours = b.seal(view(key), view(nonce), view(pt), view(aad));
        const theirs = xchacha20poly1305(key, nonce, aad).encrypt(pt);
        expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
        expect(b.open(view(key), view(nonce), view(theirs), view(aad))).toEqual(pt);
        for (const other of backends) expect(other.open(key, nonce, ours, aad)).toEqual(pt);
      }),
      { numRuns: 120 },
    );
  });

  it.each(backends.map((b) => [b.name, b] as const))('%s: any altered byte, key, nonce or AAD opens to nothing', (_name, b) => {
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(24).fill(2);
    const aad = new TextEncoder().encode('entity:x');
    const pt = new Uint8Array(100).fill(3);
    const sealed = b.seal(key, nonce, pt, aad);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('sealed', 'key', 'nonce', 'aad'), (at, x, what) => {
        const args = { sealed: sealed.slice(), key: key.slice(), nonce: nonce.slice(), aad: aad.slice() };
        args[what][at % args[what].length]! ^= x;
        expect(b.open(args.key, args.nonce, args.sealed, args.aad)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(b.open(key, nonce, sealed, aad)).toEqual(pt);
  });
});
