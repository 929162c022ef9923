// Frame codec: `magic u32be | length u32be | crc32 u32be (of body) | msgpack body` (FORMAT.md § Frame).
// Pure functions; encode is canonical (fixed key order, smallest ints) so golden vectors pin every byte.

import { crc32 } from 'node:zlib';
import { MsgpackReader, type MsgpackReadProblem } from '../encoding/msgpack-read.js';
import { binSize, MsgpackWriter, strSize, uintSize } from '../encoding/msgpack-write.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, frameHeaderDamage, readFrameHeader } from './format.js';
import type { BatchRef, EncryptionRef, FrameHeaderFields } from './header-fields.js';

export type { BatchRef, EncryptionRef, FrameHeaderFields } from './header-fields.js';

export const FrameType = Object.freeze({ EVENT: 0, SEAL: 1 });

/** Event flag bits (body key `f`). */
export const EventFlags = Object.freeze({
  /** Payload is application bytes (appendRaw), not msgpack written by the store. */
  RAW: 0x01,
  /** Payload was removed by tombstone compaction; `contentHash` still names the original bytes. */
  TOMBSTONE: 0x02,
  /** Written in a signed commit group: a seal frame after it must cover it. */
  SEALED: 0x04,
});

/** An event frame: its header fields, then the stored payload bytes (key `p`). */
export interface EventFrame extends FrameHeaderFields {
  readonly type: 0;
  readonly payload: Uint8Array;
}

export interface SealFrame {
  readonly type: 1;
  /** Global sequences of the first and last event the seal covers (inclusive). */
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly count: number;
  readonly keyId: Uint8Array;
  /** Merkle root of the group's receipt covers. */
  readonly root: Uint8Array;
  /**
   * Format 2: digest of the group's frame header fields (receipt/headers.ts); the signature is over
   * `merkleNode(root, headerDigest)`. Absent in format-1 seals, whose signature is over `root`.
   */
  readonly headerDigest?: Uint8Array | undefined;
  readonly signature: Uint8Array;
}

export type Frame = EventFrame | SealFrame;

// ---------------------------------------------------------------------------------------------
// Encoding

const utf8 = new TextEncoder();

const K = (s: string) => utf8.encode(s);
const KEY = {
  t: K('t'), id: K('id'), g: K('g'), n: K('n'), k: K('k'), e: K('e'), s: K('s'), ts: K('ts'), ph: K('ph'),
  ch: K('ch'), v: K('v'), f: K('f'), b: K('b'), x: K('x'), r: K('r'), p: K('p'), ks: K('ks'), nc: K('nc'),
  kg: K('kg'), g0: K('g0'), g1: K('g1'), c: K('c'), kid: K('kid'), root: K('root'), hd: K('hd'), sig: K('sig'),
} as const;

const keySize = (k: Uint8Array) => 1 + k.length;

function finishFrame(w: MsgpackWriter): Uint8Array {
  const bodyLength = w.pos - FRAME_HEADER_BYTES;
  w.view.setUint32(0, FRAME_MAGIC);
  w.view.setUint32(4, bodyLength);
  w.view.setUint32(8, crc32(w.buf.subarray(FRAME_HEADER_BYTES, w.pos)));
  return w.pos === w.buf.length ? w.buf : w.buf.subarray(0, w.pos);
}

/** Bytes a map header of `n` entries takes (fixmap, `de`, `df`). */
const mapHeaderSize = (n: number): number => (n <= 15 ? 1 : n <= 0xffff ? 3 : 5);

/** Map entries of an event frame's body: the 13 fixed keys and each optional one present. */
function eventEntries(f: EventFrame): number {
  return 13 + (f.batch !== undefined ? 1 : 0) + (f.encryption !== undefined ? 1 : 0) + (f.extensions !== undefined && f.extensions.size > 0 ? 1 : 0);
}

/**
 * The exact size of an event frame, header and body, as writeEventFrame lays it out: frames of a commit group are
 * laid end to end in one buffer sized from these, so a byte too many would be a gap on disk.
 */
export function eventFrameSize(f: EventFrame, entityBytes: Uint8Array, scopeBytes: Uint8Array): number {
  let size =
    FRAME_HEADER_BYTES +
    mapHeaderSize(eventEntries(f)) +
    keySize(KEY.t) + 1 +
    keySize(KEY.id) + binSize(16) +
    keySize(KEY.g) + uintSize(f.globalSequence) +
    keySize(KEY.n) + uintSize(f.entitySequence) +
    keySize(KEY.k) + uintSize(f.kind) +
    keySize(KEY.e) + strSize(entityBytes.length) +
    keySize(KEY.s) + strSize(scopeBytes.length) +
    keySize(KEY.ts) + uintSize(f.committedAt) +
    keySize(KEY.ph) + binSize(32) +
    keySize(KEY.ch) + binSize(32) +
    keySize(KEY.v) + uintSize(f.payloadVersion) +
    keySize(KEY.f) + uintSize(f.flags) +
    keySize(KEY.p) + binSize(f.payload.length);
  if (f.batch !== undefined) {
    size += keySize(KEY.b) + 1 + uintSize(f.batch.first) + uintSize(f.batch.index) + uintSize(f.batch.count);
  }
  if (f.encryption !== undefined) {
    size += keySize(KEY.x) + 1 + keySize(KEY.ks) + binSize(f.encryption.scope.length) + keySize(KEY.nc) + binSize(f.encryption.nonce.length);
    if (f.encryption.generation !== 0) size += keySize(KEY.kg) + uintSize(f.encryption.generation);
  }
  if (f.extensions !== undefined && f.extensions.size > 0) {
    size += keySize(KEY.r) + mapHeaderSize(f.extensions.size);
    for (const [k, v] of f.extensions) size += strSize(utf8.encode(k).length) + binSize(v.length);
  }
  return size;
}

/** Encodes an event frame (header + body). `entityBytes`/`scopeBytes` may be passed pre-encoded. */
export function encodeEventFrame(f: EventFrame, entityBytes = utf8.encode(f.entity), scopeBytes = utf8.encode(f.scope)): Uint8Array {
  const size = eventFrameSize(f, entityBytes, scopeBytes);
  const w = new MsgpackWriter(size, 0);
  writeEventFrame(f, entityBytes, scopeBytes, w);
  return w.buf;
}

/**
 * Writes an event frame (header + body) at `w.pos`, which ends exactly eventFrameSize() bytes later. The
 * writer's buffer must start at its ArrayBuffer's first byte (the header is set through `w.view`).
 */
export function writeEventFrame(f: EventFrame, entityBytes: Uint8Array, scopeBytes: Uint8Array, w: MsgpackWriter): void {
  const start = w.pos;
  w.pos = start + FRAME_HEADER_BYTES;
  w.mapHeader(eventEntries(f));
  w.str(KEY.t);
  w.uint(FrameType.EVENT);
  w.str(KEY.id);
  w.bin(f.id);
  w.str(KEY.g);
  w.uint(f.globalSequence);
  w.str(KEY.n);
  w.uint(f.entitySequence);
  w.str(KEY.k);
  w.uint(f.kind);
  w.str(KEY.e);
  w.str(entityBytes);
  w.str(KEY.s);
  w.str(scopeBytes);
  w.str(KEY.ts);
  w.uint(f.committedAt);
  w.str(KEY.ph);
  w.bin(f.prevHash);
  w.str(KEY.ch);
  w.bin(f.contentHash);
  w.str(KEY.v);
  w.uint(f.payloadVersion);
  w.str(KEY.f);
  w.uint(f.flags);
  if (f.batch !== undefined) {
    w.str(KEY.b);
    w.arrayHeader(3);
    w.uint(f.batch.first);
    w.uint(f.batch.index);
    w.uint(f.batch.count);
  }
  if (f.encryption !== undefined) {
    w.str(KEY.x);
    w.mapHeader(f.encryption.generation === 0 ? 2 : 3);
    w.str(KEY.ks);
    w.bin(f.encryption.scope);
    w.str(KEY.nc);
    w.bin(f.encryption.nonce);
    if (f.encryption.generation !== 0) {
      w.str(KEY.kg);
      w.uint(f.encryption.generation);
    }
  }
  if (f.extensions !== undefined && f.extensions.size > 0) {
    w.str(KEY.r);
    w.mapHeader(f.extensions.size);
    for (const k of [...f.extensions.keys()].sort()) {
      w.str(utf8.encode(k));
      w.bin(f.extensions.get(k)!);
    }
  }
  w.str(KEY.p);
  w.bin(f.payload);
  const bodyStart = start + FRAME_HEADER_BYTES;
  w.view.setUint32(start, FRAME_MAGIC);
  w.view.setUint32(start + 4, w.pos - bodyStart);
  w.view.setUint32(start + 8, crc32(w.buf.subarray(bodyStart, w.pos)));
}

export function encodeSealFrame(f: SealFrame): Uint8Array {
  const size =
    3 +
    keySize(KEY.t) + 1 +
    keySize(KEY.g0) + uintSize(f.firstSequence) +
    keySize(KEY.g1) + uintSize(f.lastSequence) +
    keySize(KEY.c) + uintSize(f.count) +
    keySize(KEY.kid) + binSize(f.keyId.length) +
    keySize(KEY.root) + binSize(f.root.length) +
    (f.headerDigest === undefined ? 0 : keySize(KEY.hd) + binSize(f.headerDigest.length)) +
    keySize(KEY.sig) + binSize(f.signature.length);
  const w = new MsgpackWriter(FRAME_HEADER_BYTES + size, FRAME_HEADER_BYTES);
  w.mapHeader(f.headerDigest === undefined ? 7 : 8);
  w.str(KEY.t);
  w.uint(FrameType.SEAL);
  w.str(KEY.g0);
  w.uint(f.firstSequence);
  w.str(KEY.g1);
  w.uint(f.lastSequence);
  w.str(KEY.c);
  w.uint(f.count);
  w.str(KEY.kid);
  w.bin(f.keyId);
  w.str(KEY.root);
  w.bin(f.root);
  if (f.headerDigest !== undefined) {
    w.str(KEY.hd);
    w.bin(f.headerDigest);
  }
  w.str(KEY.sig);
  w.bin(f.signature);
  return finishFrame(w);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Why a body failed to decode; the caller turns it into ERR_CORRUPT_SEGMENT with file and offset. */
export class FrameDecodeError extends Error {}

function decodeProblem(p: MsgpackReadProblem): FrameDecodeError {
  switch (p.kind) {
    case 'truncated':
      return new FrameDecodeError(`body truncated at byte ${p.at}`);
    case 'utf8':
      return new FrameDecodeError('string is not valid UTF-8');
    case 'type':
      return new FrameDecodeError(`expected ${p.expected} at byte ${p.at}`);
    case 'unsafe-integer':
      return new FrameDecodeError('integer exceeds 2^53');
  }
}

/** The frame body's msgpack reads, each failing with a FrameDecodeError that names the byte. */
class BodyReader extends MsgpackReader {
  constructor(body: Uint8Array) {
    super(body, 0, { error: decodeProblem });
  }
  binOf(n: number, what: string): Uint8Array {
    const v = this.bin();
    if (v.length !== n) throw new FrameDecodeError(`${what} must be ${n} bytes, got ${v.length}`);
    return v;
  }
  /** A body key as a small number (up to 4 ASCII bytes, fixstr) without building a string. */
  keyCode(): number {
    const b = this.u8();
    if ((b & 0xe0) !== 0xa0 || (b & 0x1f) === 0 || (b & 0x1f) > 4) {
      this.pos--;
      return -1;
    }
    const n = b & 0x1f;
    this.need(n);
    let code = n;
    for (let i = 0; i < n; i++) code = code * 256 + this.bytes[this.pos + i]!;
    this.pos += n;
    return code;
  }
}

const REQUIRED_EVENT_KEYS = ['id', 'g', 'n', 'k', 'e', 's', 'ts', 'ph', 'ch', 'v', 'f', 'p'] as const;

/** keyCode() of an ASCII key: its length, then its bytes, base 256. */
function code(key: string): number {
  let c = key.length;
  for (let i = 0; i < key.length; i++) c = c * 256 + key.charCodeAt(i);
  return c;
}
const KC = {
  id: code('id'), g: code('g'), n: code('n'), k: code('k'), e: code('e'), s: code('s'), ts: code('ts'), ph: code('ph'),
  ch: code('ch'), v: code('v'), f: code('f'), b: code('b'), x: code('x'), r: code('r'), p: code('p'),
} as const;
const KEY_NAME = new Map<number, string>(Object.entries(KC).map(([name, c]) => [c, name]));
const KEY_BIT = new Map<number, number>(Object.values(KC).map((c, i) => [c, 1 << i]));
const REQUIRED_BITS = REQUIRED_EVENT_KEYS.reduce((acc, k) => acc | KEY_BIT.get(KC[k])!, 0);
const EMPTY: Uint8Array = new Uint8Array(0);

/** Decodes a frame body. Throws FrameDecodeError on anything that is not a well-formed v1 body. */
export function decodeFrameBody(body: Uint8Array): Frame {
  const r = new BodyReader(body);
  const entries = r.mapLen();
  if (entries === 0) throw new FrameDecodeError('empty body map');
  const first = r.str();
  if (first !== 't') throw new FrameDecodeError('body must start with key t');
  const type = r.uint();
  if (type === FrameType.EVENT) {
    // One fixed object shape, filled in place: decoding runs once per frame on open and on verify.
    const f = {
      type: 0 as const,
      id: EMPTY,
      globalSequence: 0,
      entitySequence: 0,
      kind: 0,
      entity: '',
      scope: '',
      committedAt: 0,
      prevHash: EMPTY,
      contentHash: EMPTY,
      payloadVersion: 0,
      flags: 0,
      batch: undefined as BatchRef | undefined,
      encryption: undefined as EncryptionRef | undefined,
      extensions: undefined as Map<string, Uint8Array> | undefined,
      payload: EMPTY,
    };
    let seen = 0;
    for (let i = 1; i < entries; i++) {
      const kc = r.keyCode();
      const bit = kc === -1 ? undefined : KEY_BIT.get(kc);
      if (bit === undefined) throw new FrameDecodeError(`unknown key ${kc === -1 ? r.str() : `#${kc}`}`);
      if ((seen & bit) !== 0) throw new FrameDecodeError(`duplicate key ${KEY_NAME.get(kc)}`);
      seen |= bit;
      switch (kc) {
        case KC.id: f.id = r.binOf(16, 'event id'); break;
        case KC.g: f.globalSequence = r.uint(); break;
        case KC.n: f.entitySequence = r.uint(); break;
        case KC.k: {
          const k = r.uint();
          if (k > 0xffff) throw new FrameDecodeError('kind exceeds u16');
          f.kind = k;
          break;
        }
        case KC.e: f.entity = r.str(); break;
        case KC.s: f.scope = r.str(); break;
        case KC.ts: f.committedAt = r.uint(); break;
        case KC.ph: f.prevHash = r.binOf(32, 'prev hash'); break;
        case KC.ch: f.contentHash = r.binOf(32, 'content hash'); break;
        case KC.v: f.payloadVersion = r.uint(); break;
        case KC.f: f.flags = r.uint(); break;
        case KC.b: {
          if (r.arrayLen() !== 3) throw new FrameDecodeError('batch ref must have 3 items');
          const first = r.uint();
          const index = r.uint();
          const count = r.uint();
          if (count === 0 || index >= count) throw new FrameDecodeError('batch ref index out of range');
          f.batch = { first, index, count };
          break;
        }
        case KC.x: {
          const n = r.mapLen();
          if ((n !== 2 && n !== 3) || r.str() !== 'ks') throw new FrameDecodeError('bad encryption ref');
          const scope = r.bin();
          if (r.str() !== 'nc') throw new FrameDecodeError('bad encryption ref');
          const nonce = r.binOf(24, 'nonce');
          let generation = 0;
          if (n === 3) {
            if (r.str() !== 'kg') throw new FrameDecodeError('bad encryption ref');
            generation = r.uint();
            // Generation 0 is written by omission; an explicit 0 is not canonical.
            if (generation === 0) throw new FrameDecodeError('explicit key generation 0');
          }
          f.encryption = { scope, nonce, generation };
          break;
        }
        case KC.r: {
          const n = r.mapLen();
          const m = new Map<string, Uint8Array>();
          for (let j = 0; j < n; j++) m.set(r.str(), r.bin());
          f.extensions = m;
          break;
        }
        case KC.p: f.payload = r.bin(); break;
      }
    }
    if ((seen & REQUIRED_BITS) !== REQUIRED_BITS) {
      const missing = REQUIRED_EVENT_KEYS.find((k) => (seen & KEY_BIT.get(KC[k])!) === 0);
      throw new FrameDecodeError(`missing key ${missing}`);
    }
    if (r.pos !== body.length) throw new FrameDecodeError('trailing bytes after body');
    return f;
  }
  if (type === FrameType.SEAL) {
    // 7 keys: a format-1 seal; 8: format 2, with the header digest before the signature.
    if (entries !== 7 && entries !== 8) throw new FrameDecodeError('seal frame must have 7 or 8 keys');
    const expect = (k: string) => {
      if (r.str() !== k) throw new FrameDecodeError(`seal frame: expected key ${k}`);
    };
    expect('g0');
    const firstSequence = r.uint();
    expect('g1');
    const lastSequence = r.uint();
    expect('c');
    const count = r.uint();
    expect('kid');
    const keyId = r.binOf(32, 'key id');
    expect('root');
    const root = r.binOf(32, 'root');
    let headerDigest: Uint8Array | undefined;
    if (entries === 8) {
      expect('hd');
      headerDigest = r.binOf(32, 'header digest');
    }
    expect('sig');
    const signature = r.binOf(64, 'signature');
    if (r.pos !== body.length) throw new FrameDecodeError('trailing bytes after seal');
    return { type: 1, firstSequence, lastSequence, count, keyId, root, ...(headerDigest === undefined ? {} : { headerDigest }), signature };
  }
  throw new FrameDecodeError(`unknown frame type ${type}`);
}

export { readFrameHeader, type FrameHeaderView } from './format.js';

/** True when a complete, CRC-valid frame starts at `pos` (used to tell corruption from a torn tail). */
export function isValidFrameAt(buf: Uint8Array, pos: number): boolean {
  const h = pos + FRAME_HEADER_BYTES <= buf.length ? readFrameHeader(buf, pos) : undefined;
  if (h === undefined || frameHeaderDamage(h, pos, buf.length) !== undefined) return false;
  return crc32(buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + h.length)) === h.crc;
}
