// Append input, validated into drafts: a typed or raw append, a batch, an import. Nothing here touches
// the log; the drafts go to the append pipeline (store/append-pipeline.ts), which places and writes them.
// Invariant: a draft is fully checked (coordinate, kind, payload, size, extensions) or not made at all.

import { Coordinate, isConstructedCoordinate } from '../coordinate.js';
import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import type { EventDefinition } from '../event.js';
import { eventIdForIdempotencyKey, eventIdToString, newEventId } from '../id.js';
import { checkKind, isReservedCategory, kindToRaw, type EventKind } from '../kind.js';
import { encodePayload } from '../payload.js';
import { snapshotPayload } from '../payload-value.js';
import { runSchema, type StandardSchemaV1 } from '../standard-schema.js';
import { isWellFormedString } from '../encoding/utf16.js';
import type { EventRegistry } from '../registry.js';
import { EventFlags } from '../segment/frame.js';
import type { EventDraft, ImportDraft } from './append-intent.js';
import { checkCausalIds, withCausalIds, type CausalIds } from './causation.js';

export interface AppendOptions extends CausalIds {
  /**
   * Repeating a key with the same request (coordinate, kind, payload, payload version, extensions) returns the
   * original receipt and writes nothing; the key with a different request is ERR_IDEMPOTENCY_CONFLICT. Keys are
   * store-wide (the key derives the event id).
   */
  readonly idempotencyKey?: string;
  /** Optimistic concurrency: 0n = the entity has no events yet; n = its latest entitySequence is n. */
  readonly expectedSequence?: bigint;
  /**
   * Receipt extensions: `namespace.field` keys (ASCII, one dot, the `batpak` namespace is the store's)
   * to byte values, stored with the event and covered by its signature. They count toward payloadMaxBytes.
   */
  readonly extensions?: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
  /** appendRaw only: the payload version to record for app-managed bytes (default 0). */
  readonly payloadVersion?: number;
  /** Abandons the append (ERR_ABORTED) while it waits for room under maxQueuedBytes; an accepted append is not abandoned. */
  readonly signal?: AbortSignal;
}

const EXTENSION_KEY = /^[\x21-\x2d\x2f-\x7e]+\.[\x21-\x2d\x2f-\x7e]+$/;

/** Validates caller extensions; undefined when there are none. */
export function checkExtensions(ext: AppendOptions['extensions'], index?: number): ReadonlyMap<string, Uint8Array> | undefined {
  if (ext === undefined) return undefined;
  const entries = ext instanceof Map ? [...ext.entries()] : typeof ext === 'object' && ext !== null ? Object.entries(ext) : undefined;
  const where = index === undefined ? {} : { index };
  if (entries === undefined) throw BatpakError.invalidArgument('extensions must be a Map or an object of byte values', where);
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of entries) {
    if (typeof k !== 'string' || k.length > 256 || !EXTENSION_KEY.test(k)) {
      throw BatpakError.invalidArgument(`extension key ${JSON.stringify(k)} must be 'namespace.field' (printable ASCII, one dot)`, { ...where, field: 'extensions' });
    }
    if (k.startsWith('batpak.')) throw BatpakError.invalidArgument(`extension namespace 'batpak' is reserved for the store`, { ...where, field: 'extensions' });
    if (!(v instanceof Uint8Array)) throw BatpakError.invalidArgument(`extension ${k} must be a Uint8Array`, { ...where, field: 'extensions' });
    out.set(k, new Uint8Array(v));
  }
  return out.size === 0 ? undefined : out;
}

function extensionBytes(ext: ReadonlyMap<string, Uint8Array> | undefined): number {
  let n = 0;
  if (ext !== undefined) for (const [k, v] of ext) n += k.length + v.length;
  return n;
}

/**
 * The coordinate an append names, validated from its field values. `instanceof` proves nothing here: an
 * object made with `Object.create(Coordinate.prototype)` (or a subclass, or a Proxy) is an instance whose
 * fields never went through the constructor. The fields are read once, so a getter cannot change them later.
 */
export function toCoordinate(coord: unknown, index?: number): Coordinate {
  if (typeof coord === 'object' && coord !== null) {
    // The constructor validated and froze it: checking its strings again would find nothing new.
    if (isConstructedCoordinate(coord)) return coord;
    let entity: unknown;
    let scope: unknown;
    try {
      ({ entity, scope } = coord as { entity?: unknown; scope?: unknown });
      return validCoordinate(entity, scope);
    } catch (err) {
      const e = err instanceof BatpakError ? err : new BatpakError('ERR_INVALID_COORDINATE', `coordinate fields cannot be read: ${String(err)}`, { cause: err });
      if (index !== undefined) {
        throw new BatpakError(e.code, `batch item ${index}: ${e.message}`, { cause: e.cause, details: { ...e.details, index } });
      }
      throw e;
    }
  }
  throw new BatpakError('ERR_INVALID_COORDINATE', 'coordinate must be a Coordinate or { entity, scope }', {
    details: index === undefined ? {} : { index },
  });
}

/**
 * Coordinates already validated, by entity then scope. Validity is a function of the two strings alone
 * and appends repeat the same few, so each pair is checked (UTF-8 encoded, scanned) once. Bounded:
 * emptied when full.
 */
const validated = new Map<string, Map<string, Coordinate>>();
let validatedCount = 0;
const VALIDATED_MAX = 4096;

/** A Coordinate for the two field values read from the caller's object: checked, or found checked before. */
function validCoordinate(entity: unknown, scope: unknown): Coordinate {
  if (typeof entity === 'string' && typeof scope === 'string') {
    const known = validated.get(entity)?.get(scope);
    if (known !== undefined) return known;
  }
  const coord = new Coordinate(entity as string, scope as string); // validates (throws ERR_INVALID_COORDINATE)
  if (validatedCount >= VALIDATED_MAX) {
    validated.clear();
    validatedCount = 0;
  }
  let byScope = validated.get(coord.entity);
  if (byScope === undefined) validated.set(coord.entity, (byScope = new Map()));
  byScope.set(coord.scope, coord);
  validatedCount++;
  return coord;
}

export interface DraftLimits {
  readonly payloadMaxBytes: number;
  readonly registry: EventRegistry | undefined;
  readonly now: number;
  /**
   * The store seals user payloads (payloadEncryption): sealing replaces the content hash with the ciphertext's,
   * so the plaintext is hashed only for a keyed draft, whose idempotent repeat compares it (requestHash), and raw
   * bytes are not copied (they are sealed before the append call returns).
   */
  readonly seals?: boolean | undefined;
}

/**
 * The content hash of a draft the pipeline will seal before anything reads it (sealDraft sets the ciphertext's).
 * Empty, never a valid hash: a frame written with it would fail to decode, not pass as a wrong hash.
 */
export const HASHED_WHEN_SEALED: Uint8Array = new Uint8Array(0);

/** The plaintext hash a draft keeps: none when the store seals and no idempotent repeat will compare it. */
function plaintextHash(bytes: Uint8Array, limits: DraftLimits, key: string | undefined): Uint8Array {
  return limits.seals === true && key === undefined ? HASHED_WHEN_SEALED : blake3(bytes);
}

function checkSize(bytes: Uint8Array, limits: DraftLimits, index?: number, extra = 0): void {
  if (bytes.length + extra > limits.payloadMaxBytes) {
    throw new BatpakError(
      'ERR_PAYLOAD_TOO_LARGE',
      `payload of ${bytes.length} bytes exceeds payloadMaxBytes ${limits.payloadMaxBytes}${index === undefined ? '' : ` (batch item ${index})`}`,
      { details: { size: bytes.length, limit: limits.payloadMaxBytes, ...(index === undefined ? {} : { index }) } },
    );
  }
}

function isDefinition(x: unknown): x is EventDefinition<unknown> {
  return typeof x === 'object' && x !== null && 'kind' in x && 'version' in x && 'upcasters' in x;
}

const USER_KIND = Object.freeze({ user: true });

/** checkKind's rule for a user append: the shared one, or one naming the batch item (no spread per draft). */
function userKindRule(index: number | undefined): { user: boolean; index?: number } {
  return index === undefined ? USER_KIND : { user: true, index };
}

/**
 * The raw u16 of a user kind, checked as checkKind checks it: the common valid kind without the frozen copy
 * checkKind returns (an allocation and a freeze per draft); anything else goes through checkKind, which throws
 * its error (or returns the kind it read, should a getter answer differently the second time).
 */
function userRawKind(kind: unknown, index: number | undefined): number {
  if (typeof kind === 'object' && kind !== null) {
    const { category, typeId } = kind as { category?: unknown; typeId?: unknown };
    if (
      Number.isInteger(category) &&
      (category as number) >= 0 &&
      (category as number) <= 0xf &&
      !isReservedCategory(category as number) &&
      Number.isInteger(typeId) &&
      (typeId as number) >= 0 &&
      (typeId as number) <= 0xfff
    ) {
      return ((category as number) << 12) | (typeId as number);
    }
  }
  return kindToRaw(checkKind(kind, userKindRule(index)));
}

function idFor(key: string | undefined, now: number): Uint8Array {
  return key === undefined ? newEventId(now) : eventIdForIdempotencyKey(key);
}

/** What every draft is made from besides its payload: where it goes and under which rules. */
interface DraftCommon {
  readonly coord: unknown;
  readonly idempotencyKey?: string | undefined;
  readonly limits: DraftLimits;
  /** The item's position in a batch (error messages and details name it). */
  readonly index?: number | undefined;
  /** Checked caller extensions (checkExtensions). */
  readonly extensions?: ReadonlyMap<string, Uint8Array> | undefined;
}

export interface TypedDraftInput extends DraftCommon {
  readonly definition: unknown;
  readonly payload: unknown;
}

export interface RawDraftInput extends DraftCommon {
  readonly kind: unknown;
  readonly bytes: unknown;
  /** The payload version to record for app-managed bytes (default 0). */
  readonly payloadVersion?: number | undefined;
  /** The caller hands `bytes` over (BatchItem.transferPayload): kept as they are, not copied. */
  readonly transfer?: boolean | undefined;
}

/**
 * The store's copies of raw payloads, cut from shared buffers: one allocation for many small payloads instead of one
 * buffer each (a typed array over 64 bytes gets its own off-heap store, which V8 allocates and frees at a cost far
 * above the copy).
 */
class PayloadCopies {
  /** Payloads above this get their own buffer: a shared one would be mostly theirs anyway. */
  static readonly SHARED_MAX = 4096;
  readonly #chunk: number;
  #buf: Uint8Array = new Uint8Array(0);
  #at = 0;

  /** `items`: how many payloads will be copied at most (sizes the shared buffers). */
  constructor(items: number) {
    this.#chunk = Math.min(256 * 1024, Math.max(4096, items * 512));
  }

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > PayloadCopies.SHARED_MAX) return new Uint8Array(bytes);
    if (this.#at + n > this.#buf.length) {
      this.#buf = new Uint8Array(Math.max(this.#chunk, n));
      this.#at = 0;
    }
    const out = this.#buf.subarray(this.#at, this.#at + n);
    out.set(bytes);
    this.#at += n;
    return out;
  }
}

/**
 * Where the store's copies of raw payloads are cut from, for single appends and batches alike: shared buffers instead
 * of an off-heap array per event. A buffer lives until the last draft cut from it has landed and been dropped (no
 * draft's payload is kept past its landing). One pool, not one per batch: a buffer per appendBatch call (4 KiB at
 * least, zeroed, off-heap) made a one-item batch cost ~19k instructions more than appendRaw (callgrind, 64 writers).
 */
const sharedCopies = new PayloadCopies(128);

/** A typed append: the definition must be a user kind (and registered, when a registry is configured). */
/** What a definition's schema makes of a payload: its output, itself checked to round-trip when the schema transformed it. */
function schemaOutput(schema: StandardSchemaV1, value: unknown, what: string, index: number | undefined): unknown {
  const out = runSchema(schema, value, what, index === undefined ? {} : { index });
  return Object.is(out, value) ? value : snapshotPayload(out);
}

export function typedDraft(input: TypedDraftInput): EventDraft {
  const { coord: coordIn, definition: def, payload, idempotencyKey: key, limits, index, extensions } = input;
  const coord = toCoordinate(coordIn, index);
  if (!isDefinition(def)) {
    throw BatpakError.invalidKind('expected an event definition from defineEvent()', index);
  }
  const kind = userRawKind(def.kind, index);
  if (limits.registry !== undefined && !limits.registry.has(def)) {
    throw BatpakError.invalidKind(`${def.name} is not in the store's registry`, index);
  }
  // One checked copy: what validate() sees is exactly what is encoded, and it round-trips (README § Payload values).
  let value: unknown;
  try {
    value = snapshotPayload(payload);
  } catch (err) {
    if (index === undefined || !(err instanceof BatpakError)) throw err;
    throw new BatpakError(err.code, `batch item ${index}: ${err.message}`, { cause: err.cause, details: { ...err.details, index } });
  }
  if (def.validate !== undefined && !def.validate(value)) {
    throw BatpakError.invalidPayload(`payload does not satisfy ${def.name}.validate`, index === undefined ? {} : { index });
  }
  if (def.schema !== undefined) value = schemaOutput(def.schema, value, `${index === undefined ? '' : `batch item ${index}: `}payload of ${def.name}`, index);
  const bytes = encodePayload(value);
  checkSize(bytes, limits, index, extensionBytes(extensions));
  const id = idFor(key, limits.now);
  const hash = plaintextHash(bytes, limits, key);
  return {
    entity: coord.entity,
    scope: coord.scope,
    kind,
    id,
    eventId: eventIdToString(id),
    payload: bytes,
    contentHash: hash,
    requestHash: hash,
    payloadVersion: def.version,
    flags: 0,
    keyed: key !== undefined,
    extensions,
  };
}

/** A raw append: application bytes under a user kind, payload version 0 unless given. */
export function rawDraft(input: RawDraftInput): EventDraft {
  const { coord: coordIn, kind: kindIn, bytes, idempotencyKey: key, limits, index, extensions, payloadVersion = 0, transfer = false } = input;
  const coord = toCoordinate(coordIn, index);
  const kind = userRawKind(kindIn, index);
  if (!(bytes instanceof Uint8Array)) {
    throw BatpakError.invalidPayload('raw payload must be a Uint8Array', index === undefined ? {} : { index });
  }
  checkSize(bytes, limits, index, extensionBytes(extensions));
  const id = idFor(key, limits.now);
  // The store's own copy, so the caller's later writes cannot reach the hash or the frame — unless the caller
  // handed the bytes over. Only a plain Uint8Array is kept: a subclass (Buffer) has other slice semantics.
  // A store that seals needs no copy: the pipeline seals the draft before appendRaw or appendBatch returns to
  // the caller, and the frame gets the ciphertext, a fresh array the caller never sees.
  const copy =
    limits.seals === true || (transfer && Object.getPrototypeOf(bytes) === Uint8Array.prototype) ? bytes : sharedCopies.copy(bytes);
  const hash = plaintextHash(copy, limits, key);
  return {
    entity: coord.entity,
    scope: coord.scope,
    kind,
    id,
    eventId: eventIdToString(id),
    payload: copy,
    contentHash: hash,
    requestHash: hash,
    payloadVersion,
    flags: EventFlags.RAW,
    keyed: key !== undefined,
    extensions,
  };
}

/** A batch item: `kind` is an event definition (typed payload) or a raw kind (Uint8Array payload). */
export interface BatchItem extends CausalIds {
  readonly coord: Coordinate | { readonly entity: string; readonly scope: string };
  readonly kind: EventDefinition<unknown> | EventKind;
  readonly payload: unknown;
  readonly idempotencyKey?: string;
  readonly extensions?: AppendOptions['extensions'];
  /**
   * Raw items only: the store keeps this Uint8Array as it is instead of copying it (a typed item's payload is encoded
   * anyway; a Buffer or other subclass is still copied). For bytes made for this append and dropped after it: the
   * caller must not write to them (or to any other view of their buffer) from the call on, or the stored event may
   * not match its content hash (verifyChain reports it).
   */
  readonly transferPayload?: boolean;
}

export function batchDrafts(items: unknown, limits: DraftLimits & { readonly batchMaxEvents: number }): EventDraft[] {
  if (!Array.isArray(items) || items.length === 0) {
    throw BatpakError.invalidArgument('appendBatch needs a non-empty array of items');
  }
  if (items.length > limits.batchMaxEvents) {
    throw new BatpakError('ERR_BATCH_TOO_LARGE', `batch of ${items.length} events exceeds batchMaxEvents ${limits.batchMaxEvents}`, {
      details: { size: items.length, limit: limits.batchMaxEvents },
    });
  }
  const drafts = items.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null) throw BatpakError.invalidArgument(`batch item ${i} is not an object`, { index: i });
    const item = raw as Partial<BatchItem> & { expectedSequence?: unknown };
    if (item.expectedSequence !== undefined) {
      throw BatpakError.invalidArgument('expectedSequence is not supported inside appendBatch', { index: i });
    }
    const ext = withCausalIds(checkExtensions(item.extensions, i), checkCausalIds(item));
    return isDefinition(item.kind)
      ? typedDraft({ coord: item.coord, definition: item.kind, payload: item.payload, idempotencyKey: item.idempotencyKey, limits, index: i, extensions: ext })
      : rawDraft({ coord: item.coord, kind: item.kind, bytes: item.payload, idempotencyKey: item.idempotencyKey, limits, index: i, extensions: ext, transfer: item.transferPayload === true });
  });
  let keyed = 0;
  for (const d of drafts) if (d.keyed) keyed++;
  if (keyed === 0) return drafts; // fresh random ids (UUIDv7): only keys can repeat one
  if (keyed !== drafts.length) {
    throw BatpakError.invalidArgument('in a batch, either every item has an idempotencyKey or none does');
  }
  const ids = new Set(drafts.map((d) => d.eventId));
  if (ids.size !== drafts.length) throw BatpakError.invalidArgument('a batch repeats an idempotencyKey');
  return drafts;
}

/** One event to import with its identity preserved (see Store.importEvents). */
export interface ImportEvent {
  /** Kept exactly: 32 lowercase hex characters. */
  readonly eventId: string;
  readonly coordinate: Coordinate | { readonly entity: string; readonly scope: string };
  readonly kind: EventKind;
  /** The stored payload bytes, kept exactly (not re-encoded, not flagged raw). */
  readonly payload: Uint8Array;
  /** Must equal blake3(payload). */
  readonly contentHash: Uint8Array;
  readonly payloadVersion: number;
  /** The original commit time (Unix ms); clamped so commit times never go backwards in this store. */
  readonly committedAt?: bigint;
  /** Receipt extensions to keep with the event (any namespace: they are preserved data). */
  readonly extensions?: ReadonlyMap<string, Uint8Array>;
}

/** Validates imported events into drafts; every failure names the item. */
export function importDrafts(events: unknown, limits: DraftLimits & { readonly batchMaxEvents: number }): ImportDraft[] {
  if (!Array.isArray(events) || events.length === 0) throw BatpakError.invalidArgument('importEvents needs a non-empty array');
  if (events.length > limits.batchMaxEvents) {
    throw new BatpakError('ERR_BATCH_TOO_LARGE', `import of ${events.length} events exceeds batchMaxEvents ${limits.batchMaxEvents}`);
  }
  const seen = new Set<string>();
  return events.map((raw: unknown, i) => {
    const e = raw as Partial<ImportEvent>;
    const bad = (msg: string) => BatpakError.invalidArgument(`import item ${i}: ${msg}`, { index: i });
    if (typeof e !== 'object' || e === null) throw bad('not an object');
    if (typeof e.eventId !== 'string' || !/^[0-9a-f]{32}$/.test(e.eventId)) throw bad('eventId must be 32 lowercase hex characters');
    if (seen.has(e.eventId)) throw bad(`event ${e.eventId} appears twice`);
    seen.add(e.eventId);
    const coord = toCoordinate(e.coordinate, i);
    const kind = checkKind(e.kind, { user: true, index: i });
    if (!(e.payload instanceof Uint8Array)) throw bad('payload must be a Uint8Array');
    checkSize(e.payload, limits, i);
    if (!(e.contentHash instanceof Uint8Array) || e.contentHash.length !== 32) throw bad('contentHash must be 32 bytes');
    const payload = new Uint8Array(e.payload);
    const hash = blake3(payload);
    if (Buffer.compare(hash, e.contentHash) !== 0) throw bad(`contentHash is not blake3(payload) for event ${e.eventId}`);
    if (!Number.isInteger(e.payloadVersion) || (e.payloadVersion as number) < 0 || (e.payloadVersion as number) > 0xffff) throw bad('payloadVersion must be 0..65535');
    if (e.committedAt !== undefined && (typeof e.committedAt !== 'bigint' || e.committedAt < 0n)) throw bad('committedAt must be a non-negative bigint');
    let extensions: Map<string, Uint8Array> | undefined;
    if (e.extensions !== undefined) {
      if (!(e.extensions instanceof Map)) throw bad('extensions must be a Map');
      extensions = new Map();
      for (const [k, v] of e.extensions) {
        if (typeof k !== 'string' || k.length === 0 || k.length > 256 || !(v instanceof Uint8Array)) throw bad('extensions must map non-empty keys to bytes');
        // The key is written as UTF-8 into the frame and the receipt cover: a lone surrogate would become U+FFFD.
        if (!isWellFormedString(k)) throw bad(`extension key ${JSON.stringify(k)} contains a lone UTF-16 surrogate`);
        extensions.set(k, new Uint8Array(v));
      }
      if (extensions.size === 0) extensions = undefined;
    }
    const id = new Uint8Array(Buffer.from(e.eventId, 'hex'));
    return {
      draft: {
        entity: coord.entity,
        scope: coord.scope,
        kind: kindToRaw(kind),
        id,
        eventId: e.eventId,
        payload,
        contentHash: hash,
        payloadVersion: e.payloadVersion as number,
        flags: 0,
        keyed: false,
        extensions,
      },
      committedAt: e.committedAt === undefined ? undefined : Number(e.committedAt),
    };
  });
}

export function checkAppendOptions(opts: unknown): AppendOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) throw BatpakError.invalidArgument('append options must be an object');
  const o = opts as AppendOptions;
  if (o.expectedSequence !== undefined && (typeof o.expectedSequence !== 'bigint' || o.expectedSequence < 0n)) {
    throw BatpakError.invalidArgument('expectedSequence must be a non-negative bigint', { field: 'expectedSequence' });
  }
  if (o.idempotencyKey !== undefined && typeof o.idempotencyKey !== 'string') {
    throw BatpakError.invalidArgument('idempotencyKey must be a string', { field: 'idempotencyKey' });
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw BatpakError.invalidArgument('signal must be an AbortSignal', { field: 'signal' });
  if (o.payloadVersion !== undefined && (!Number.isInteger(o.payloadVersion) || o.payloadVersion < 0 || o.payloadVersion > 0xffff)) {
    throw BatpakError.invalidArgument('payloadVersion must be an integer 0..65535', { field: 'payloadVersion' });
  }
  return o;
}

/** An append's extensions: the caller's (checked) and the store's causal ids (`causationId`, `correlationId`). */
export function draftExtensions(opts: AppendOptions): ReadonlyMap<string, Uint8Array> | undefined {
  return withCausalIds(checkExtensions(opts.extensions), checkCausalIds(opts));
}

/** An append's expectedSequence as the pipeline compares it (undefined: no expectation). */
export function expectedOf(opts: AppendOptions): number | undefined {
  return opts.expectedSequence === undefined ? undefined : Number(opts.expectedSequence);
}
