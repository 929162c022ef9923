// Test helper: builds Rust-format segment files in memory, the way Rust batpak's writer lays them out (chain
// per (entity, lane), batch markers, SIDX footers). It lives with the tests: the shipped reader never writes.

import { ZERO_HASH } from '../../src/chain/links.js';
import { blake3 } from '../../src/crypto/blake3.js';
import { encodeRustFrameBody, rustFrameBytes, type RustFrameBody } from '../../src/rust/frame.js';
import { RustKinds, rustSegmentName } from '../../src/rust/format.js';
import type { RustEventHeader } from '../../src/rust/header.js';
import { encodeRustSegmentHead } from '../../src/rust/segment.js';
import { encodeSidxFooter, type SidxEntry } from '../../src/rust/sidx.js';

export interface RustBuildEvent {
  readonly entity: string;
  readonly scope: string;
  readonly kind: number;
  /** Stored payload bytes (Rust: rmp_serde::to_vec_named of the value). */
  readonly payload: Uint8Array;
  readonly id?: Uint8Array;
  readonly lane?: number;
  readonly depth?: number;
  readonly extensions?: ReadonlyMap<string, Uint8Array>;
  /** Omit to write a 9-key header (pre-versioning); a number writes the 10th key. */
  readonly payloadVersion?: number;
  readonly encryption?: { readonly keyscopeId: Uint8Array; readonly nonce: Uint8Array };
  readonly timestampUs?: bigint;
  /** Overrides the chain link (to forge a bad one); default: the (entity, lane) head's hash. */
  readonly prevHash?: Uint8Array;
}

export interface RustBuiltEvent {
  readonly eventId: Uint8Array;
  readonly eventHash: Uint8Array;
  readonly prevHash: Uint8Array;
  /** The sequence Rust's writer allocated (what a SIDX footer records). */
  readonly globalSequence: bigint;
  readonly segmentId: bigint;
  readonly offset: number;
}

interface SegmentDraft {
  readonly id: bigint;
  readonly chunks: Uint8Array[];
  size: number;
  readonly sidx: { entry: SidxEntry; entity: string; scope: string }[];
}

let idCounter = 0x1000n;

function freshId(): Uint8Array {
  idCounter++;
  const out = new Uint8Array(16);
  let v = idCounter;
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export class RustLogBuilder {
  readonly #segments: SegmentDraft[] = [];
  readonly #heads = new Map<string, { hash: Uint8Array; sequence: number }>();
  #nextSeq = 0n;
  #clockUs = 1_779_000_000_000_000n;

  constructor() {
    this.rotate();
  }

  /** Starts the next segment (Rust: rotation, or a new writable open). */
  rotate(): this {
    const id = BigInt(this.#segments.length + 1);
    const head = encodeRustSegmentHead({ version: 1, flags: 0, createdNs: this.#clockUs * 1000n, segmentId: id });
    this.#segments.push({ id, chunks: [head], size: head.length, sidx: [] });
    return this;
  }

  get #current(): SegmentDraft {
    return this.#segments[this.#segments.length - 1]!;
  }

  #writeFrame(body: RustFrameBody): { offset: number; length: number } {
    const frame = rustFrameBytes(encodeRustFrameBody(body));
    const seg = this.#current;
    const offset = seg.size;
    seg.chunks.push(frame);
    seg.size += frame.length;
    return { offset, length: frame.length };
  }

  #header(e: RustBuildEvent, id: Uint8Array, hash: Uint8Array, sequence: number, payloadSize: number): RustEventHeader {
    this.#clockUs += 1000n;
    const ts = e.timestampUs ?? this.#clockUs;
    return {
      eventId: id,
      correlationId: id,
      causationId: undefined,
      timestampUs: ts,
      position: { wallMs: ts / 1000n, counter: 0, depth: e.depth ?? 0, lane: e.lane ?? 0, sequence },
      payloadSize,
      eventKind: e.kind,
      flags: 0,
      contentHash: hash,
      payloadVersion: e.payloadVersion ?? 0,
      payloadEncryption: e.encryption,
      wire: { contentHash: true, payloadVersion: e.payloadVersion !== undefined },
    };
  }

  /** Writes one event frame; it becomes committed (sequence, footer entry) only through #commit. */
  #event(e: RustBuildEvent): { built: RustBuiltEvent; header: RustEventHeader; length: number } {
    const id = e.id ?? freshId();
    const key = `${e.lane ?? 0}\u0000${e.entity}`;
    const head = this.#heads.get(key);
    const prevHash = e.prevHash ?? head?.hash ?? ZERO_HASH.slice();
    const sequence = head === undefined ? 0 : head.sequence + 1;
    const eventHash = blake3(e.payload);
    const header = this.#header(e, id, eventHash, sequence, e.payload.length);
    const at = this.#writeFrame({
      header,
      payload: e.payload,
      hashChain: { prevHash, eventHash },
      entity: e.entity,
      scope: e.scope,
      receiptExtensions: e.extensions ?? new Map(),
      wireHasExtensions: true,
    });
    // Batch items chain on each other inside the batch, as Rust's writer does.
    this.#heads.set(key, { hash: eventHash, sequence });
    return { built: { eventId: id, eventHash, prevHash, globalSequence: -1n, segmentId: this.#current.id, offset: at.offset }, header, length: at.length };
  }

  #commit(w: { built: RustBuiltEvent; header: RustEventHeader; length: number }, e: RustBuildEvent): RustBuiltEvent {
    const b = w.built;
    const seq = this.#nextSeq++;
    const seg = this.#segments.find((s) => s.id === b.segmentId)!;
    seg.sidx.push({
      entity: e.entity,
      scope: e.scope,
      entry: {
        eventId: b.eventId,
        entityIdx: 0,
        scopeIdx: 0,
        kind: e.kind,
        wallMs: w.header.position.wallMs,
        clock: w.header.position.sequence,
        dagLane: w.header.position.lane,
        dagDepth: w.header.position.depth,
        prevHash: b.prevHash,
        eventHash: b.eventHash,
        frameOffset: BigInt(b.offset),
        frameLength: w.length,
        globalSequence: seq,
        correlationId: b.eventId,
        causationId: new Uint8Array(16),
      },
    });
    return { ...b, globalSequence: seq };
  }

  append(e: RustBuildEvent): RustBuiltEvent {
    return this.#commit(this.#event(e), e);
  }

  #marker(kind: number, count: number): void {
    const id = freshId();
    this.#writeFrame({
      header: this.#header({ entity: 'batpak:store', scope: 'batpak:batch', kind, payload: new Uint8Array(0) }, id, ZERO_HASH, 0, count),
      payload: new Uint8Array(0),
      hashChain: undefined,
      entity: 'batpak:store',
      scope: 'batpak:batch',
      receiptExtensions: new Map(),
      wireHasExtensions: true,
    });
  }

  /**
   * A BEGIN/COMMIT batch. `declare` overrides the BEGIN count; `commit: false` leaves the batch open (a crash
   * before COMMIT); `rotateAfter: i` starts a new segment before item i (Rust's writer never does, recovery
   * must still cope). Items of a batch that never commits get no sequence (-1n).
   */
  batch(items: readonly RustBuildEvent[], options: { readonly declare?: number; readonly commit?: boolean; readonly rotateAfter?: number } = {}): RustBuiltEvent[] {
    this.#marker(RustKinds.SYSTEM_BATCH_BEGIN, options.declare ?? items.length);
    const written = items.map((e, i) => {
      if (options.rotateAfter === i) this.rotate();
      return { w: this.#event(e), e };
    });
    if (options.commit === false) return written.map(({ w }) => w.built);
    this.#marker(RustKinds.SYSTEM_BATCH_COMMIT, 0);
    return written.map(({ w, e }) => this.#commit(w, e));
  }

  /** Raw bytes appended to the current segment (a torn write, garbage, a forged trailer). */
  raw(bytes: Uint8Array): this {
    const seg = this.#current;
    seg.chunks.push(bytes);
    seg.size += bytes.length;
    return this;
  }

  /**
   * The segment files. `footers` picks each segment's footer by index (default: SDX3 on every segment but
   * the last, which Rust leaves open until a clean close).
   */
  files(footers?: readonly ('none' | 'SDX2' | 'SDX3')[]): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    this.#segments.forEach((seg, i) => {
      const kind = footers?.[i] ?? (i < this.#segments.length - 1 ? 'SDX3' : 'none');
      const frames = Buffer.concat(seg.chunks);
      if (kind === 'none') {
        out.set(rustSegmentName(seg.id), new Uint8Array(frames));
        return;
      }
      const strings: string[] = [];
      const intern = (s: string): number => {
        let i = strings.indexOf(s);
        if (i < 0) i = strings.push(s) - 1;
        return i;
      };
      const entries = seg.sidx.map(({ entry, entity, scope }) => ({ ...entry, entityIdx: intern(entity), scopeIdx: intern(scope) }));
      const footer = encodeSidxFooter(BigInt(seg.size), strings, entries, { legacy: kind === 'SDX2' });
      out.set(rustSegmentName(seg.id), new Uint8Array(Buffer.concat([frames, footer])));
    });
    return out;
  }
}
