// Store options: documented defaults are the safe behaviour; weaker ones are explicit opt-outs.
// Validation happens once at open, so a bad combination never produces a half-open store.

import { BatpakError } from '../errors.js';
import { DEFAULT_BLOCK_CACHE_BYTES } from '../event-index/block-cache.js';
import type { Fs } from '../fs/fs.js';
import { RealFs } from '../fs/real.js';
import type { EventRegistry } from '../registry.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import type { KeyStore } from '../keyset/keystore.js';

export type PayloadValidation = 'fail-fast' | 'warn' | 'silent';
export type SyncMode = 'always' | 'none';
export type ChainVerificationMode = 'crc' | 'recompute';
export type SigningPolicy = 'optional' | 'required';
export type { KeyGranularity } from '../keyset/scope.js';
import type { KeyGranularity } from '../keyset/scope.js';
import { emitProcessWarning, type WarningCode, type WarningSink } from './warnings.js';

export interface StoreOptions {
  /** Directory the store owns; created if absent (writable opens). */
  readonly dir: string;
  /** Disk access; default RealFs (node:fs). SimFs from `@batpak/core/testing` for fault injection. */
  readonly fs?: Fs;
  readonly registry?: EventRegistry;
  /** What a registry wiring problem does at open. Default 'fail-fast' (refuse to open). */
  readonly payloadValidation?: PayloadValidation;
  /** Default 'always': a receipt means the event is fsynced. 'none' acknowledges after the write. */
  readonly sync?: SyncMode;
  /** 32-byte ed25519 seed; receipts are signed when present. */
  readonly signingKey?: Uint8Array;
  /** A custom receipt signer (an HSM or KMS client) instead of `signingKey`. */
  readonly signer?: ReceiptSigner;
  /** Default 'optional'. 'required' refuses to open without a signing key. */
  readonly signingPolicy?: SigningPolicy;
  /**
   * Default false. When the signer fails, write the group unsigned (each event marked with the
   * `batpak.signing.downgrade` extension) instead of failing the append. Never allowed with signingPolicy 'required'.
   */
  readonly signingDowngradeAllowed?: boolean;
  /**
   * Default false: a writable open without a key of a store that holds signed events is refused
   * (ERR_SIGNING_KEY_REQUIRED). True opens it anyway; its unsigned events are signature failures in
   * verifyChain unless the key holder declared unsigned appends allowed (`store.declareSigningPolicy`).
   */
  readonly allowUnsignedAfterSigned?: boolean;
  /** Public keys (besides the current one) whose signatures verify, e.g. after a key rotation. */
  readonly trustedPublicKeys?: readonly Uint8Array[];
  /** Default 'crc'. 'recompute' runs verifyChain() at open and refuses to open on any damage. */
  readonly chainVerification?: ChainVerificationMode;
  /**
   * Default off. Seals user payloads with XChaCha20-Poly1305 under one key per scope (granularity
   * default 'entity'), so `shredScope` can make them unrecoverable. Keys live in `keyStore`
   * (default: the `keyset.bpk` file in `dir`).
   */
  readonly payloadEncryption?: { readonly granularity?: KeyGranularity; readonly keyStore?: KeyStore };
  /** Rotation threshold for segment files. Default 64 MiB. */
  readonly segmentMaxBytes?: number;
  /** Largest accepted payload of one event. Default 16 MiB (max 64 MiB). */
  readonly payloadMaxBytes?: number;
  /** Largest number of events in one appendBatch. Default 4096. */
  readonly batchMaxEvents?: number;
  /**
   * Bytes of appends accepted but not yet committed, at most (`store.pressure()`); an append past it waits for
   * room (abandon it with its `signal`) instead of growing memory. One append alone is always accepted. Default 64 MiB.
   */
  readonly maxQueuedBytes?: number;
  readonly readOnly?: boolean;
  /**
   * Default false: a writable open refuses (ERR_CORRUPT_SEGMENT) a directory that shows acknowledged
   * events are gone — segments missing, or a checkpoint that recorded more events than the segments
   * hold. True opens it anyway (each finding goes to onWarning and this session's verifyChain); the
   * first close then rewrites the checkpoint, so the directory stops showing the loss.
   */
  readonly allowDataLoss?: boolean;
  /**
   * Default 'on-close': close writes `index.checkpoint` so the next open scans only what was appended
   * since (always checked against the segment files; any mismatch falls back to a full scan). 'off'
   * never writes or reads it.
   */
  readonly checkpoint?: 'on-close' | 'off';
  /**
   * Bytes of index-file blocks kept in memory, shared by every sealed segment's index file (`NNNNNN.bpi`):
   * an open serves the sealed segments from their index files instead of holding their index in memory,
   * and lookups (`get`, `query`, `head` misses) read 4 KiB blocks through this cache. Default 8 MiB; 0
   * caches nothing (every lookup reads its block).
   */
  readonly indexCacheBytes?: number;
  /**
   * Most projection states kept in memory (one per projection name, version and entity), least recently
   * used evicted first. Default 4096: a service's hot entities stay cached while small states (a few
   * hundred bytes) cost about a megabyte; 0 keeps none (every `project` folds from its snapshot or the log).
   */
  readonly projectionCacheSize?: number;
  /**
   * Receives the store's warnings (recovery cuts, checkpoint fallbacks, signing downgrades, registry
   * problems under 'warn') with a stable BATPAK_* code. Default: `process.emitWarning(message, { type:
   * 'BatpakWarning', code })`; pass `() => {}` to silence them.
   */
  readonly onWarning?: (message: string, code: WarningCode) => void;
  /** Clock for commit times and event ids, Unix ms. For deterministic tests; default Date.now. */
  readonly now?: () => number;
  /**
   * Aborts the open (ERR_ABORTED) while it scans the log: before it cuts a torn tail or creates a
   * segment, so an aborted open leaves the segments as they were and releases the lock.
   */
  readonly signal?: AbortSignal;
}

export interface ResolvedOptions {
  readonly dir: string;
  readonly fs: Fs;
  readonly registry: EventRegistry | undefined;
  readonly payloadValidation: PayloadValidation;
  readonly sync: SyncMode;
  readonly signingKey: Uint8Array | undefined;
  readonly signer: ReceiptSigner | undefined;
  readonly signingPolicy: SigningPolicy;
  readonly signingDowngradeAllowed: boolean;
  readonly allowUnsignedAfterSigned: boolean;
  readonly trustedPublicKeys: readonly Uint8Array[];
  readonly chainVerification: ChainVerificationMode;
  readonly encryption: { readonly granularity: KeyGranularity; readonly keyStore: KeyStore | undefined } | undefined;
  readonly segmentMaxBytes: number;
  readonly payloadMaxBytes: number;
  readonly batchMaxEvents: number;
  readonly maxQueuedBytes: number;
  readonly readOnly: boolean;
  readonly allowDataLoss: boolean;
  readonly checkpoint: 'on-close' | 'off';
  readonly indexCacheBytes: number;
  readonly projectionCacheSize: number;
  readonly onWarning: WarningSink;
  readonly now: () => number;
  /** Of this open only (see StoreOptions.signal). */
  readonly signal: AbortSignal | undefined;
}

export const DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PAYLOAD_MAX_BYTES = 16 * 1024 * 1024;
export const PAYLOAD_MAX_BYTES_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_BATCH_MAX_EVENTS = 4096;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PROJECTION_CACHE_SIZE = 4096;

function bad(field: string, message: string): BatpakError {
  return new BatpakError('ERR_INVALID_OPTION', `option ${field}: ${message}`, { details: { field } });
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw bad(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

function positiveInt(field: string, value: unknown, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw bad(field, `must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` at most ${max}` : ''}, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: StoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw bad('options', 'must be an object');
  if (typeof options.dir !== 'string' || options.dir.length === 0) throw bad('dir', 'must be a non-empty string');
  const signingPolicy = oneOf('signingPolicy', options.signingPolicy, ['optional', 'required'], 'optional');
  const signingDowngradeAllowed = options.signingDowngradeAllowed ?? false;
  if (typeof signingDowngradeAllowed !== 'boolean') throw bad('signingDowngradeAllowed', 'must be a boolean');
  if (signingPolicy === 'required' && signingDowngradeAllowed) {
    throw bad('signingDowngradeAllowed', "cannot be true with signingPolicy 'required' (a required signature may not be downgraded)");
  }
  const allowUnsignedAfterSigned = options.allowUnsignedAfterSigned ?? false;
  if (typeof allowUnsignedAfterSigned !== 'boolean') throw bad('allowUnsignedAfterSigned', 'must be a boolean');
  if (options.signingKey !== undefined && !(options.signingKey instanceof Uint8Array && options.signingKey.length === 32)) {
    throw bad('signingKey', 'must be a 32-byte ed25519 seed (Uint8Array)');
  }
  if (options.signer !== undefined) {
    if (options.signingKey !== undefined) throw bad('signer', 'give either signingKey or signer, not both');
    const s = options.signer as Partial<ReceiptSigner>;
    if (!(s.publicKey instanceof Uint8Array) || s.publicKey.length !== 32 || typeof s.sign !== 'function') {
      throw bad('signer', 'must have a 32-byte publicKey and a sign(message) method');
    }
  }
  const trustedPublicKeys = options.trustedPublicKeys ?? [];
  for (const k of trustedPublicKeys) {
    if (!(k instanceof Uint8Array) || k.length !== 32) throw bad('trustedPublicKeys', 'each key must be a 32-byte Uint8Array');
  }
  let encryption: ResolvedOptions['encryption'];
  if (options.payloadEncryption !== undefined) {
    const granularity = oneOf('payloadEncryption.granularity', options.payloadEncryption.granularity, ['entity', 'category', 'type', 'event'], 'entity');
    const keyStore = options.payloadEncryption.keyStore;
    if (keyStore !== undefined && (typeof keyStore.load !== 'function' || typeof keyStore.persist !== 'function')) {
      throw bad('payloadEncryption.keyStore', 'must have load() and persist(image) methods');
    }
    encryption = { granularity, keyStore };
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw bad('readOnly', 'must be a boolean');
  if (options.now !== undefined && typeof options.now !== 'function') throw bad('now', 'must be a function');
  if (options.allowDataLoss !== undefined && typeof options.allowDataLoss !== 'boolean') throw bad('allowDataLoss', 'must be a boolean');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw bad('signal', 'must be an AbortSignal');
  return {
    dir: options.dir,
    fs: options.fs ?? new RealFs(),
    registry: options.registry,
    payloadValidation: oneOf('payloadValidation', options.payloadValidation, ['fail-fast', 'warn', 'silent'], 'fail-fast'),
    sync: oneOf('sync', options.sync, ['always', 'none'], 'always'),
    signingKey: options.signingKey,
    signer: options.signer,
    signingPolicy,
    signingDowngradeAllowed,
    allowUnsignedAfterSigned,
    trustedPublicKeys,
    chainVerification: oneOf('chainVerification', options.chainVerification, ['crc', 'recompute'], 'crc'),
    encryption,
    segmentMaxBytes: positiveInt('segmentMaxBytes', options.segmentMaxBytes, DEFAULT_SEGMENT_MAX_BYTES),
    payloadMaxBytes: positiveInt('payloadMaxBytes', options.payloadMaxBytes, DEFAULT_PAYLOAD_MAX_BYTES, PAYLOAD_MAX_BYTES_LIMIT),
    batchMaxEvents: positiveInt('batchMaxEvents', options.batchMaxEvents, DEFAULT_BATCH_MAX_EVENTS),
    maxQueuedBytes: positiveInt('maxQueuedBytes', options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES),
    readOnly: options.readOnly ?? false,
    allowDataLoss: options.allowDataLoss ?? false,
    checkpoint: oneOf('checkpoint', options.checkpoint, ['on-close', 'off'], 'on-close'),
    indexCacheBytes: options.indexCacheBytes === 0 ? 0 : positiveInt('indexCacheBytes', options.indexCacheBytes, DEFAULT_BLOCK_CACHE_BYTES),
    projectionCacheSize: options.projectionCacheSize === 0 ? 0 : positiveInt('projectionCacheSize', options.projectionCacheSize, DEFAULT_PROJECTION_CACHE_SIZE),
    onWarning: options.onWarning ?? emitProcessWarning,
    now: options.now ?? Date.now,
    signal: options.signal,
  };
}
