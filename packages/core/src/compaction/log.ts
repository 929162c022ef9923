// compaction.log: compaction's own record of what it removed (sequence, id, content hash, seal leaves)
// and tombstoned, so recovery accepts the holes it left and verifyChain tells compaction from tampering
// (a tombstone flag no record explains is damage). Entries are ed25519-signed in signed stores.

import { blake3 } from '../crypto/blake3.js';
import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { BatpakError } from '../errors.js';
import { carray, cbin, cmap, cnil, cstr, cuint, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import { openEnvelope, sealEnvelope } from '../encoding/envelope.js';
import { toHex } from '../encoding/hex.js';
import { keyIdOf } from '../receipt/cover.js';
import type { ReceiptSigner } from '../receipt/sign.js';

export const COMPACTION_LOG_FILE = 'compaction.log';
const LOG_MAGIC = new TextEncoder().encode('BPCLOG');
/** Written: 2 (entries record tombstones and removed header leaves). Read: 1 and 2. */
const LOG_VERSION = 2;
const MIN_LOG_VERSION = 1;
const SIGN_DOMAIN = new TextEncoder().encode('batpak.compaction.v1\0');

export interface RemovedEvent {
  readonly globalSequence: number;
  readonly id: Uint8Array;
  readonly contentHash: Uint8Array;
  /** Merkle leaf of the event's receipt cover, when it was in a signed group (its seal still needs it). */
  readonly leaf: Uint8Array | undefined;
  /** Its header leaf (receipt/headers.ts), when its group's seal carries a header digest (format 2). */
  readonly headerLeaf?: Uint8Array | undefined;
}

/** An event compaction turned into a tombstone (flag set, payload emptied). */
export interface TombstonedEvent {
  readonly globalSequence: number;
  readonly id: Uint8Array;
}

export interface CompactionEntry {
  readonly compactionId: string;
  readonly strategy: string;
  readonly mergedId: number;
  readonly sources: readonly number[];
  readonly removed: readonly RemovedEvent[];
  /** Log version 2: the events it tombstoned. Absent in version-1 entries (which did not record them). */
  readonly tombstoned?: readonly TombstonedEvent[];
  /** Present in signed stores: the signer's key id and its signature over the entry. */
  readonly keyId?: Uint8Array;
  readonly signature?: Uint8Array;
}

const optBin = (b: Uint8Array | undefined) => (b === undefined ? cnil() : cbin(b));

/** A version-1 entry (no `tombstoned`) encodes exactly as it was signed; a version-2 one adds its fields. */
function entryBody(e: CompactionEntry): CanonicalValue {
  const v2 = e.tombstoned !== undefined;
  const row = (r: RemovedEvent) => {
    const base = [cuint(r.globalSequence), cbin(r.id), cbin(r.contentHash), optBin(r.leaf)];
    return carray(v2 ? [...base, optBin(r.headerLeaf)] : base);
  };
  return cmap([
    [cstr('id'), cstr(e.compactionId)],
    [cstr('strategy'), cstr(e.strategy)],
    [cstr('merged'), cuint(e.mergedId)],
    [cstr('sources'), carray(e.sources.map((s) => cuint(s)))],
    [cstr('removed'), carray(e.removed.map(row))],
    ...(v2 ? [[cstr('tombstoned'), carray(e.tombstoned!.map((t) => carray([cuint(t.globalSequence), cbin(t.id)])))] as [CanonicalValue, CanonicalValue]] : []),
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
  // 7 fields: a version-1 entry; 8: version 2, with `tombstoned` before kid and sig.
  if (e.length !== 7 && e.length !== 8) throw bad('entry is not a compaction entry');
  const v2 = e.length === 8;
  const removed = arr(field(4, 'removed'), 'removed').map((row) => {
    const t = arr(row, 'removed row');
    if (t.length !== (v2 ? 5 : 4)) throw bad(`removed row is not [sequence, id, hash, leaf${v2 ? ', header leaf' : ''}]`);
    const headerLeaf = v2 && t[4]?.t !== 'nil' ? bin(t[4], 'removed header leaf', 32) : undefined;
    return {
      globalSequence: uint(t[0], 'removed sequence'),
      id: bin(t[1], 'removed id', 16),
      contentHash: bin(t[2], 'removed hash', 32),
      leaf: t[3]?.t === 'nil' ? undefined : bin(t[3], 'removed leaf', 32),
      ...(headerLeaf === undefined ? {} : { headerLeaf }),
    };
  });
  const tombstoned = !v2
    ? undefined
    : arr(field(5, 'tombstoned'), 'tombstoned').map((row) => {
        const t = arr(row, 'tombstoned row');
        if (t.length !== 2) throw bad('tombstoned row is not [sequence, id]');
        return { globalSequence: uint(t[0], 'tombstoned sequence'), id: bin(t[1], 'tombstoned id', 16) };
      });
  const kid = field(v2 ? 6 : 5, 'kid');
  const sig = field(v2 ? 7 : 6, 'sig');
  return {
    compactionId: str(field(0, 'id'), 'id'),
    strategy: str(field(1, 'strategy'), 'strategy'),
    mergedId: uint(field(2, 'merged'), 'merged'),
    sources: arr(field(3, 'sources'), 'sources').map((s) => uint(s, 'source')),
    removed,
    ...(tombstoned === undefined ? {} : { tombstoned }),
    ...(kid.t === 'nil' ? {} : { keyId: bin(kid, 'kid', 32) }),
    ...(sig.t === 'nil' ? {} : { signature: bin(sig, 'sig', 64) }),
  };
}

/** `"BPCLOG" | version u16le | crc32 u32le (body) | msgpack { entries: [...] }`. */
export function encodeCompactionLog(entries: readonly CompactionEntry[]): Uint8Array {
  return sealEnvelope(LOG_MAGIC, LOG_VERSION, cmap([[cstr('entries'), carray(entries.map(encodeEntry))]]));
}

export function decodeCompactionLog(bytes: Uint8Array, path: string): CompactionEntry[] {
  const bad = (reason: string) => new BatpakError('ERR_CORRUPT_MARKER', `compaction log ${path} refused: ${reason}`, { details: { file: path, reason } });
  const { value: v } = openEnvelope(bytes, LOG_MAGIC, MIN_LOG_VERSION, LOG_VERSION, bad);
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
  /** Hex ids of events a trusted entry tombstoned. */
  readonly #tombstoned = new Set<string>();
  readonly #uncheckedTombstones = new Set<string>();
  #unrecordedTombstones = false;

  /**
   * `trusted`: the entry verified (or no keys are configured), so links into it are gaps.
   * `uncheckable`: a signed entry read without any key — its tombstones can be neither confirmed nor refuted.
   */
  addEntry(e: CompactionEntry, trusted: boolean, uncheckable = false): void {
    for (const r of e.removed) {
      this.#bySequence.set(r.globalSequence, r);
      if (trusted) this.#trustedHashes.add(toHex(r.contentHash));
    }
    if (!trusted && !uncheckable) return;
    const into = trusted ? this.#tombstoned : this.#uncheckedTombstones;
    for (const t of e.tombstoned ?? []) into.add(toHex(t.id));
    // A version-1 tombstone pass did not record what it tombstoned: its tombstones cannot be checked.
    if (e.tombstoned === undefined && e.strategy === 'tombstone') this.#unrecordedTombstones = true;
  }

  /** Whether a tombstone flag on `eventId` is compaction's: 'recorded', 'unknown' (cannot be told), or 'unexplained'. */
  tombstone(eventId: string): 'recorded' | 'unknown' | 'unexplained' {
    if (this.#tombstoned.has(eventId)) return 'recorded';
    return this.#unrecordedTombstones || this.#uncheckedTombstones.has(eventId) ? 'unknown' : 'unexplained';
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
