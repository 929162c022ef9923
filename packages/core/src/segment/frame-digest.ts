// The per-frame work of a whole-log check that needs no index: each frame's CRC verdict and the BLAKE3 of its
// payload, found by a positional msgpack skip. Invariant: these functions reference nothing outside their own
// bodies, because worker threads run them from their source text (segment/digest-pool.ts) as well as in-thread.

/** What `digestFrames` fills in for a chunk of `frames` whole frames. */
export interface FrameDigests {
  /** 1 when the frame's body matches its header's CRC-32, else 0. */
  readonly crcOk: Uint8Array;
  /**
   * Chunk offset of the payload bytes (key `p`, the body's last value, ending with it), or -1 when not found. A hint,
   * not a finding: it may be guessed from the previous frame (digestFrames), so a reader trusts the digest only where
   * its own parse of the body puts the payload at this very offset.
   */
  readonly payloadAt: Int32Array;
  /** BLAKE3-256 of each found payload, 32 bytes a frame (zeros where `payloadAt` is -1). */
  readonly digests: Uint8Array;
}

/**
 * Chunk offset where the payload of the event body `bytes[from, to)` starts: the body is a map whose last
 * key is `p` with a bin value that ends exactly at `to`. -1 when the body has another shape (a seal, an odd
 * encoding, damage): the caller then decodes the frame the slow way. Only a locator: it validates nothing.
 */
export function locatePayload(bytes: Uint8Array, from: number, to: number): number {
  let p = from;
  const m = bytes[p++]!;
  let entries: number;
  if (m >= 0x80 && m <= 0x8f) entries = m & 0x0f;
  else if (m === 0xde && p + 2 <= to) {
    entries = (bytes[p]! << 8) | bytes[p + 1]!;
    p += 2;
  } else return -1;
  if (entries === 0) return -1;
  for (let i = 0; i < entries; i++) {
    const k = bytes[p]!;
    if (k < 0xa0 || k > 0xbf) return -1;
    if (i === entries - 1) {
      if (k !== 0xa1 || bytes[p + 1] !== 0x70) return -1;
      p += 2;
      const b = bytes[p]!;
      let n: number;
      let at: number;
      if (b === 0xc4) {
        n = bytes[p + 1]!;
        at = p + 2;
      } else if (b === 0xc5) {
        n = (bytes[p + 1]! << 8) | bytes[p + 2]!;
        at = p + 3;
      } else if (b === 0xc6) {
        n = ((bytes[p + 1]! << 24) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 8) | bytes[p + 4]!) >>> 0;
        at = p + 5;
      } else return -1;
      return at <= to && at + n === to ? at : -1;
    }
    p += 1 + (k & 0x1f);
    // Skip one value (and everything nested in it): `todo` counts the values still to pass.
    let todo = 1;
    while (todo > 0) {
      if (p >= to) return -1;
      todo--;
      const t = bytes[p]!;
      if (t <= 0x7f || t === 0xc0 || t === 0xc2 || t === 0xc3) p += 1;
      else if (t <= 0x8f) {
        todo += 2 * (t & 0x0f);
        p += 1;
      } else if (t <= 0x9f) {
        todo += t & 0x0f;
        p += 1;
      } else if (t <= 0xbf) p += 1 + (t & 0x1f);
      else if (t === 0xcc) p += 2;
      else if (t === 0xcd) p += 3;
      else if (t === 0xce) p += 5;
      else if (t === 0xcf) p += 9;
      else if (t === 0xc4 || t === 0xd9) p += 2 + bytes[p + 1]!;
      else if (t === 0xc5 || t === 0xda) p += 3 + ((bytes[p + 1]! << 8) | bytes[p + 2]!);
      else if (t === 0xc6 || t === 0xdb) p += 5 + (((bytes[p + 1]! << 24) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 8) | bytes[p + 4]!) >>> 0);
      else if (t === 0xdc || t === 0xde) {
        const n = (bytes[p + 1]! << 8) | bytes[p + 2]!;
        todo += t === 0xde ? 2 * n : n;
        p += 3;
      } else return -1;
    }
    if (p > to) return -1;
  }
  return -1;
}

/**
 * Fills `out` for the `frames` whole frames at the start of `bytes` (headers already checked by the caller:
 * magic, length, and every frame inside the chunk). `crc32` is zlib's; `hashInto` writes BLAKE3-256 of
 * `bytes[from, to)` to `out.digests` at `outAt`.
 */
export function digestFrames(
  bytes: Uint8Array,
  frames: number,
  out: FrameDigests,
  crc32: (data: Uint8Array) => number,
  hashInto: (src: Uint8Array, from: number, to: number, dst: Uint8Array, dstAt: number) => void,
  locate: (bytes: Uint8Array, from: number, to: number) => number,
  /** `out.crcOk` holds each verdict already, 2 where it is left to `crc32` (ChunkHasher.begin). */
  crcKnown = false,
): void {
  let pos = 0;
  // The previous frame's payload length (-1: none). Frames in a row mostly carry payloads of one size: where the body
  // ends with `p` and a bin header of that length, the payload is taken to start there without walking the body (a
  // third of the per-frame work at 256 B payloads). A wrong guess (a payload that happens to end in such bytes) costs
  // only time: the walk parses each body itself and hashes again wherever its payload offset differs from this one.
  let last = -1;
  for (let i = 0; i < frames; i++) {
    const length = ((bytes[pos + 4]! << 24) | (bytes[pos + 5]! << 16) | (bytes[pos + 6]! << 8) | bytes[pos + 7]!) >>> 0;
    const crc = ((bytes[pos + 8]! << 24) | (bytes[pos + 9]! << 16) | (bytes[pos + 10]! << 8) | bytes[pos + 11]!) >>> 0;
    const from = pos + 12;
    const to = from + length;
    if (!crcKnown || out.crcOk[i] === 2) out.crcOk[i] = crc32(bytes.subarray(from, to)) === crc ? 1 : 0;
    let at = -1;
    if (last >= 0) {
      const g = to - last;
      // Key `p` (a1 70), then bin 8 / 16 / 32 holding `last`: the header locatePayload reads, at the guessed place.
      if (last <= 0xff) {
        if (g - 4 >= from + 1 && bytes[g - 4] === 0xa1 && bytes[g - 3] === 0x70 && bytes[g - 2] === 0xc4 && bytes[g - 1] === last) at = g;
      } else if (last <= 0xffff) {
        if (g - 5 >= from + 1 && bytes[g - 5] === 0xa1 && bytes[g - 4] === 0x70 && bytes[g - 3] === 0xc5 && ((bytes[g - 2]! << 8) | bytes[g - 1]!) === last) at = g;
      } else if (g - 7 >= from + 1 && bytes[g - 7] === 0xa1 && bytes[g - 6] === 0x70 && bytes[g - 5] === 0xc6) {
        if ((((bytes[g - 4]! << 24) | (bytes[g - 3]! << 16) | (bytes[g - 2]! << 8) | bytes[g - 1]!) >>> 0) === last) at = g;
      }
    }
    if (at === -1) at = locate(bytes, from, to);
    out.payloadAt[i] = at;
    if (at !== -1) {
      hashInto(bytes, at, to, out.digests, i * 32);
      last = to - at;
    }
    pos = to;
  }
}

/** Writes BLAKE3-256 of `src[from, to)` to `dst[dstAt, +32)`. */
export type HashInto = (src: Uint8Array, from: number, to: number, dst: Uint8Array, dstAt: number) => void;

/** A chunk's payload hashing, batched: `hashInto` (digestFrames' hasher) only notes what to hash; `end` hashes it all. */
export interface ChunkHasher {
  /**
   * Starts a chunk of `frames` frames read into `bytes`, whose digests go to `digests` (32 bytes a frame), and writes
   * each frame's CRC verdict to `crcOk`: 1 or 0, or 2 where it is left to the caller (digestFrames' `crcKnown`).
   */
  begin(bytes: Uint8Array, frames: number, digests: Uint8Array, crcOk: Uint8Array): void;
  readonly hashInto: HashInto;
  /** Hashes what was noted and writes every digest of the chunk (zeros where nothing was hashed). */
  end(): void;
}

/**
 * A ChunkHasher over crypto/blake3x4-wasm.ts (`module`). Payloads of one length, up to 1 KiB (one BLAKE3 chunk), in a
 * row are hashed four at a time (SIMD lanes) in one call for the whole chunk; longer ones by `fallback`. Why: hash-wasm's
 * BLAKE3 is scalar, one call a payload (at 256 B: ~350 ns against ~170; at 1 KiB ~1.6 µs against ~0.7). The CRCs of
 * bodies under CRC_HERE bytes are computed in one call for the chunk too: zlib's crc32 costs ~200 ns a call, more
 * than the bytes of a small body (436 B: ~285 ns against ~190; from ~770 B zlib is the faster). Runs from its source
 * text in workers too: it references nothing outside its own body.
 */
export function blake3x4Hasher(module: object, fallback: HashInto): ChunkHasher {
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  const WA = (globalThis as unknown as {
    WebAssembly: { Memory: new (d: { initial: number }) => Memory; Instance: new (m: object, i: object) => { exports: unknown } };
  }).WebAssembly;
  const memory = new WA.Memory({ initial: 16 });
  const { hash4, crc_frames } = new WA.Instance(module, { env: { __linear_memory: memory } }).exports as {
    hash4(jobs: number, n: number, scratch: number): void;
    crc_frames(chunk: number, frames: number, tables: number, out: number, limit: number): void;
  };
  /** The largest payload hashed here: one BLAKE3 chunk, so its last block is the root. */
  const MAX = 1024;
  const CRC_HERE = 768;
  // Memory: [0, 256) the module's scratch, 16 CRC tables of 256 words, then nine i32 a job (four payload offsets, the
  // length, four digest offsets), the chunk's CRC verdicts and digests, and the chunk's bytes.
  const TABLES = 256;
  const JOBS = TABLES + 16 * 1024;
  let u8 = new Uint8Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  // Table 0 is zlib's (reflected 0xedb88320); table k gives the CRC of a byte followed by k zero bytes.
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    i32[(TABLES >> 2) + i] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = i32[(TABLES >> 2) + 256 * (k - 1) + i]!;
      i32[(TABLES >> 2) + 256 * k + i] = (prev >>> 8) ^ i32[(TABLES >> 2) + (prev & 0xff)]!;
    }
  }
  let src: Uint8Array = u8;
  let dst: Uint8Array = u8;
  let frames = 0;
  let crcAt = 0;
  let digAt = 0;
  let chunkAt = 0;
  let jobs = 0;
  let job = 0;
  let lanes = 0;
  let length = -1;
  const ensure = (bytes: number) => {
    if (memory.buffer.byteLength < bytes) {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
      u8 = new Uint8Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
    }
  };
  // A job that got fewer than four payloads repeats its last lane: that digest is written twice, to the same place.
  const pad = () => {
    for (let k = lanes; k < 4; k++) {
      i32[job + k] = i32[job + lanes - 1]!;
      i32[job + 5 + k] = i32[job + 5 + lanes - 1]!;
    }
  };
  return {
    begin(bytes, n, digests, crcOk) {
      src = bytes;
      dst = digests;
      frames = n;
      crcAt = JOBS + 36 * n;
      digAt = (crcAt + n + 15) & ~15;
      chunkAt = digAt + 32 * n;
      ensure(chunkAt + bytes.length);
      u8.fill(0, digAt, chunkAt);
      u8.set(bytes, chunkAt);
      crc_frames(chunkAt, n, TABLES, crcAt, CRC_HERE);
      crcOk.set(u8.subarray(crcAt, crcAt + n));
      jobs = 0;
      lanes = 0;
      length = -1;
    },
    hashInto(bytes, from, to, _dst, dstAt) {
      const n = to - from;
      if (n > MAX || bytes !== src) {
        fallback(bytes, from, to, u8, digAt + dstAt);
        return;
      }
      if (lanes === 0 || lanes === 4 || n !== length) {
        if (lanes > 0) pad();
        job = (JOBS >> 2) + 9 * jobs++;
        i32[job + 4] = n;
        length = n;
        lanes = 0;
      }
      i32[job + lanes] = chunkAt + from;
      i32[job + 5 + lanes] = digAt + dstAt;
      lanes++;
    },
    end() {
      if (lanes > 0) pad();
      if (jobs > 0) hash4(JOBS, jobs, 0);
      dst.set(u8.subarray(digAt, digAt + 32 * frames));
    },
  };
}

/**
 * A digest worker's main function, run from its source text in a worker thread: it instantiates the BLAKE3
 * module it is handed and answers each chunk with its digests, handing the chunk's bytes back.
 */
export function digestWorkerMain(locate: typeof locatePayload, digest: typeof digestFrames, x4: typeof blake3x4Hasher): void {
  // Nothing here may reach outside this function. An eval'd worker runs as CommonJS (a `require` global) or, when the
  // process was started with --input-type=module (workers inherit it), as a module without one: getBuiltinModule
  // (Node >= 20.16) works in both.
  const req = (globalThis as unknown as { process: { getBuiltinModule: (id: string) => unknown } }).process.getBuiltinModule;
  const { parentPort, workerData } = req('node:worker_threads') as {
    parentPort: { on(e: 'message', f: (m: never) => void): void; postMessage(m: unknown, t: ArrayBuffer[]): void };
    workerData: { module: object; x4: object };
  };
  const { crc32 } = req('node:zlib') as { crc32: (d: Uint8Array) => number };
  interface Exports {
    memory: { buffer: ArrayBuffer };
    Hash_GetBuffer(): number;
    Hash_Init(k: number): void;
    Hash_Update(n: number): void;
    Hash_Final(n: number): void;
    Hash_Calculate(n: number, init: number, final: number): void;
  }
  const WA = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: unknown } } }).WebAssembly;
  const wasm = new WA.Instance(workerData.module, {}).exports as Exports;
  const CHUNK = 16 * 1024;
  let io = new Uint8Array(0);
  const view = () => {
    if (io.byteLength === 0) io = new Uint8Array(wasm.memory.buffer, wasm.Hash_GetBuffer(), CHUNK);
  };
  // Driven as hash-wasm drives it (crypto/blake3.ts): init(0), update in 16 KiB chunks, final(32); a payload that fits
  // the buffer in one call (init, update and final at once), as most do: two calls into the module fewer a frame.
  const hashInto = (src: Uint8Array, from: number, to: number, dst: Uint8Array, dstAt: number) => {
    if (to - from <= CHUNK) {
      view();
      io.set(src.subarray(from, to));
      wasm.Hash_Calculate(to - from, 0, 32);
      for (let i = 0; i < 32; i++) dst[dstAt + i] = io[i]!;
      return;
    }
    wasm.Hash_Init(0);
    for (let at = from; at < to; at += CHUNK) {
      const end = Math.min(to, at + CHUNK);
      view();
      io.set(src.subarray(at, end));
      wasm.Hash_Update(end - at);
    }
    wasm.Hash_Final(32);
    view();
    for (let i = 0; i < 32; i++) dst[dstAt + i] = io[i]!;
  };
  const hasher = x4(workerData.x4, hashInto);
  parentPort.on('message', (m: { id: number; buffer: ArrayBuffer; length: number; frames: number }) => {
    const bytes = new Uint8Array(m.buffer, 0, m.length);
    const out = { crcOk: new Uint8Array(m.frames), payloadAt: new Int32Array(m.frames), digests: new Uint8Array(32 * m.frames) };
    hasher.begin(bytes, m.frames, out.digests, out.crcOk);
    digest(bytes, m.frames, out, crc32, hasher.hashInto, locate, true);
    hasher.end();
    parentPort.postMessage({ id: m.id, buffer: m.buffer, ...out }, [m.buffer, out.crcOk.buffer, out.payloadAt.buffer, out.digests.buffer]);
  });
}

/** The source text a digest worker runs (`new Worker(source, { eval: true })`). */
export function digestWorkerSource(): string {
  return `(${digestWorkerMain.toString()})((${locatePayload.toString()}), (${digestFrames.toString()}), (${blake3x4Hasher.toString()}));`;
}
