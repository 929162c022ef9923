// compaction.log: compaction's own record of what it removed (sequence, id, content hash, seal leaf),
// so recovery can accept the holes it left and verifyChain can report links to removed parents as
// gaps, not tampering. Entries are ed25519-signed in signed stores so a deletion cannot pose as one.

import { crc32 } from 'node:zlib';
import { blake3 } from '../crypto/blake3.js';
import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { BatpakError } from '../errors.js';
import { carray, cbin, cmap, cnil, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import { toHex } from '../encoding/hex.js';
import { keyIdOf } from '../receipt/cover.js';
import type { ReceiptSigner } from '../receipt/sign.js';

export const COMPACTION_LOG_FILE = 'compaction.log';
const LOG_MAGIC = new TextEncoder().encode('BPCLOG');
const LOG_VERSION = 1;
const SIGN_DOMAIN = new TextEncoder().encode('batpak.compaction.v1\0');

export interface RemovedEvent {
  readonly globalSequence: number;
  readonly id: Uint8Array;
  readonly contentHash: Uint8Array;
  /** Merkle leaf of the event's receipt cover, when it was in a signed group (its seal still needs it). */
  readonly leaf: Uint8Array | undefined;
}

export interface CompactionEntry {
  readonly compactionId: string;
  readonly strategy: string;
  readonly mergedId: number;
  readonly sources: readonly number[];
  readonly removed: readonly RemovedEvent[];
  /** Present in signed stores: the signer's key id and its signature over the entry. */
  readonly keyId?: Uint8Array;
  readonly signature?: Uint8Array;
}

function entryBody(e: CompactionEntry): CanonicalValue {
  return cmap([
    [cstr('id'), cstr(e.compactionId)],
    [cstr('strategy'), cstr(e.strategy)],
    [cstr('merged'), cuint(e.mergedId)],
    [cstr('sources'), carray(e.sources.map((s) => cuint(s)))],
    [cstr('removed'), carray(e.removed.map((r) => carray([cuint(r.globalSequence), cbin(r.id), cbin(r.contentHash), r.leaf === undefined ? cnil() : cbin(r.leaf)])))],
  ]);
}

function signedMessage(e: CompactionEntry): Uint8Array {
  return new Uint8Array(Buffer.concat([SIGN_DOMAIN, blake3(encodeCanonical(entryBody(e)))]));
}

/** Signs an entry with the store's signer (or returns it unsigned for a keyless store). */
export function signEntry(e: CompactionEntry, signer: ReceiptSigner | undefined): CompactionEntry {
  if (signer === undefined) return e;
  return { ...e, keyId: blake3(signer.publicKey), signature: signer.sign(signedMessage(e)) };
}

/** Whether an entry is trusted: signed by one of `keys`, or — only when there are no keys — unsigned. */
export function entryTrusted(e: CompactionEntry, keys: readonly Uint8Array[]): boolean {
  if (e.signature === undefined || e.keyId === undefined) return keys.length === 0;
  const key = keys.find((k) => keyIdOf(k) === toHex(e.keyId!));
  return key !== undefined && ed25519Verify(key, signedMessage(e), e.signature);
}

export function encodeEntry(e: CompactionEntry): CanonicalValue {
  const body = entryBody(e);
  if (body.t !== 'map') throw new Error('unreachable');
  return cmap([...body.entries, [cstr('kid'), e.keyId === undefined ? cnil() : cbin(e.keyId)], [cstr('sig'), e.signature === undefined ? cnil() : cbin(e.signature)]]);
}

export function decodeEntry(v: CanonicalValue, bad: (reason: string) => BatpakError): CompactionEntry {
  const e = v.t === 'map' ? v.entries : [];
  const field = (i: number, name: string) => {
    const x = e[i];
    if (x === undefined || x[0].t !== 'str' || x[0].v !== name) throw bad(`entry field ${i} is not '${name}'`);
    return x[1];
  };
  const str = (x: CanonicalValue, what: string) => {
    if (x.t !== 'str') throw bad(`${what} is not a string`);
    return x.v;
  };
  const uint = (x: CanonicalValue | undefined, what: string) => {
    if (x === undefined || x.t !== 'int' || typeof x.v !== 'number' || x.v < 0) throw bad(`${what} is not an unsigned integer`);
    return x.v;
  };
  const bin = (x: CanonicalValue | undefined, what: string, n: number) => {
    if (x === undefined || x.t !== 'bin' || x.v.length !== n) throw bad(`${what} is not ${n} bytes`);
    return x.v;
  };
  const arr = (x: CanonicalValue, what: string) => {
    if (x.t !== 'array') throw bad(`${what} is not a list`);
    return x.items;
  };
  if (e.length !== 7) throw bad('entry is not a compaction entry');
  const removed = arr(field(4, 'removed'), 'removed').map((row) => {
    const t = arr(row, 'removed row');
    if (t.length !== 4) throw bad('removed row is not [sequence, id, hash, leaf]');
    return {
      globalSequence: uint(t[0], 'removed sequence'),
      id: bin(t[1], 'removed id', 16),
      contentHash: bin(t[2], 'removed hash', 32),
      leaf: t[3]?.t === 'nil' ? undefined : bin(t[3], 'removed leaf', 32),
    };
  });
  const kid = field(5, 'kid');
  const sig = field(6, 'sig');
  return {
    compactionId: str(field(0, 'id'), 'id'),
    strategy: str(field(1, 'strategy'), 'strategy'),
    mergedId: uint(field(2, 'merged'), 'merged'),
    sources: arr(field(3, 'sources'), 'sources').map((s) => uint(s, 'source')),
    removed,
    ...(kid.t === 'nil' ? {} : { keyId: bin(kid, 'kid', 32) }),
    ...(sig.t === 'nil' ? {} : { signature: bin(sig, 'sig', 64) }),
  };
}

/** `"BPCLOG" | version u16le | crc32 u32le (body) | msgpack { entries: [...] }`. */
export function encodeCompactionLog(entries: readonly CompactionEntry[]): Uint8Array {
  const body = encodeCanonical(cmap([[cstr('entries'), carray(entries.map(encodeEntry))]]));
  const out = new Uint8Array(12 + body.length);
  out.set(LOG_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, LOG_VERSION, true);
  dv.setUint32(8, crc32(body), true);
  out.set(body, 12);
  return out;
}

export function decodeCompactionLog(bytes: Uint8Array, path: string): CompactionEntry[] {
  const bad = (reason: string) => new BatpakError('ERR_CORRUPT_MARKER', `compaction log ${path} refused: ${reason}`, { details: { file: path, reason } });
  if (bytes.length < 12 || Buffer.compare(bytes.subarray(0, 6), LOG_MAGIC) !== 0) throw bad('bad magic or short header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(6, true) !== LOG_VERSION) throw bad(`unsupported version ${dv.getUint16(6, true)}`);
  const body = bytes.subarray(12);
  if (crc32(body) !== dv.getUint32(8, true)) throw bad('CRC mismatch');
  let v: CanonicalValue;
  try {
    v = decodeCanonical(body);
  } catch (err) {
    throw bad(`body does not decode: ${(err as Error).message}`);
  }
  const top = v.t === 'map' ? v.entries[0] : undefined;
  if (v.t !== 'map' || v.entries.length !== 1 || top === undefined || top[0].t !== 'str' || top[0].v !== 'entries' || top[1].t !== 'array') {
    throw bad('body is not a compaction log');
  }
  return top[1].items.map((item) => decodeEntry(item, bad));
}

/** What committed compactions removed: explains sequence holes, proves gaps, verifies pruned seals. */
export class RemovedSet {
  readonly #bySequence = new Map<number, RemovedEvent>();
  readonly #trustedHashes = new Set<string>();

  /** `trusted`: the entry verified (or no keys are configured), so links into it are gaps. */
  addEntry(e: CompactionEntry, trusted: boolean): void {
    for (const r of e.removed) {
      this.#bySequence.set(r.globalSequence, r);
      if (trusted) this.#trustedHashes.add(toHex(r.contentHash));
    }
  }

  bySequence(g: number): RemovedEvent | undefined {
    return this.#bySequence.get(g);
  }

  /** Content hashes (hex) of removed events whose record is trusted. */
  hashes(): ReadonlySet<string> {
    return this.#trustedHashes;
  }

  maxSequence(): number {
    let m = 0;
    for (const g of this.#bySequence.keys()) if (g > m) m = g;
    return m;
  }

  /** True when every sequence strictly between `last` and `next` was removed by a committed compaction. */
  explains(last: number, next: number): boolean {
    for (let g = last + 1; g < next; g++) if (!this.#bySequence.has(g)) return false;
    return true;
  }
}
