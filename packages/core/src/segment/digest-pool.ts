// Digests chunks of whole frames (CRC verdicts and payload BLAKE3s, segment/frame-digest.ts) on worker threads, or
// in this thread. Invariant: workers only compute over bytes the caller read through Fs; they never keep the process alive.

import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { blake3Into, blake3WasmModule } from '../crypto/blake3.js';
import { blake3x4WasmModule } from '../crypto/blake3x4.js';
import { BatpakError } from '../errors.js';
import { blake3x4Hasher, digestFrames, digestWorkerSource, locatePayload, type ChunkHasher, type FrameDigests } from './frame-digest.js';

/** A chunk's digests together with its bytes (handed back by the worker that computed them). */
export interface ChunkDigest extends FrameDigests {
  readonly bytes: Uint8Array;
}

export interface FrameDigester {
  /** Digests the `frames` whole frames at the start of `bytes`; the caller must use the returned bytes, not its own. */
  digest(bytes: Uint8Array, frames: number): Promise<ChunkDigest>;
  /** Stops the workers; pending digests reject. */
  close(): Promise<void>;
}

let hereHasher: ChunkHasher | undefined;

function digestHere(bytes: Uint8Array, frames: number): ChunkDigest {
  const out = { bytes, crcOk: new Uint8Array(frames), payloadAt: new Int32Array(frames), digests: new Uint8Array(32 * frames) };
  const h = (hereHasher ??= blake3x4Hasher(blake3x4WasmModule(), blake3Into));
  h.begin(bytes, frames, out.digests, out.crcOk);
  digestFrames(bytes, frames, out, crc32, h.hashInto, locatePayload, true);
  h.end();
  return out;
}

/** Computes each digest in this thread, when asked. */
export const inThreadDigester: FrameDigester = {
  digest: (bytes, frames) => Promise.resolve(digestHere(bytes, frames)),
  close: () => Promise.resolve(),
};

interface Pending {
  readonly resolve: (d: ChunkDigest) => void;
  readonly reject: (e: Error) => void;
}

interface Reply {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly crcOk: Uint8Array;
  readonly payloadAt: Int32Array;
  readonly digests: Uint8Array;
}

/** A fixed set of digest workers, fed round-robin; the chunk's bytes are transferred there and back, never copied twice. */
export class DigestPool implements FrameDigester {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending & { readonly length: number }>();
  #nextId = 0;
  #turn = 0;
  #failure: Error | undefined;

  constructor(workers: number) {
    const source = digestWorkerSource();
    const module = blake3WasmModule();
    const x4 = blake3x4WasmModule();
    for (let i = 0; i < workers; i++) {
      const w = new Worker(source, { eval: true, workerData: { module, x4 } });
      // A verification that is abandoned must not hold the process open.
      w.unref();
      w.on('message', (m: Reply) => this.#settle(m));
      w.on('error', (err) => this.#fail(err));
      w.on('exit', (code) => {
        if (this.#pending.size > 0) this.#fail(new Error(`digest worker exited with code ${code}`));
      });
      this.#workers.push(w);
    }
  }

  #settle(m: Reply): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    p.resolve({ bytes: new Uint8Array(m.buffer, 0, p.length), crcOk: m.crcOk, payloadAt: m.payloadAt, digests: m.digests });
  }

  #fail(err: Error): void {
    this.#failure ??= new BatpakError('ERR_IO', `a verification worker failed: ${err.message}`, { cause: err });
    for (const p of this.#pending.values()) p.reject(this.#failure);
    this.#pending.clear();
  }

  digest(bytes: Uint8Array, frames: number): Promise<ChunkDigest> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const worker = this.#workers[this.#turn++ % this.#workers.length]!;
    return new Promise<ChunkDigest>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, length: bytes.byteLength });
      const post = (b: Uint8Array) => worker.postMessage({ id, buffer: b.buffer, length: b.byteLength, frames }, [b.buffer as ArrayBuffer]);
      // The buffer moves to the worker and back. One that is not the chunk's alone from offset 0 (a slice of
      // Node's shared pool, which refuses to move) is copied first.
      const whole = bytes.byteOffset === 0 && bytes.buffer instanceof ArrayBuffer;
      try {
        try {
          post(whole ? bytes : new Uint8Array(bytes));
        } catch (err) {
          if (!whole) throw err;
          post(new Uint8Array(bytes));
        }
      } catch (err) {
        this.#pending.delete(id);
        reject(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    this.#fail(new Error('the verification ended'));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
