// @batpak/core: what a service programs against — the Store, its options and results, events, kinds and
// coordinates, errors, receipts and attestations, and the Fs and KeyStore seams. Invariant: internals are
// not exported; tooling lives behind subpaths (/canonical, /format, /rust, /testing), see README "Entry points".

export { BatpakError, ERROR_CODES, isBatpakError, type BatpakErrorCode, type BatpakErrorDetails } from './errors.js';
export { Coordinate, COORDINATE_PART_MAX_BYTES } from './coordinate.js';
export { formatKind, type EventKind } from './kind.js';
export { defineEvent, type EventDefinition, type EventDefinitionInit, type SchemaEventInit, type Upcaster } from './event.js';
export type { StandardSchemaV1, StandardSchemaV1Props, StandardSchemaV1Result, StandardSchemaV1Issue, InferSchemaOutput, PayloadIssue } from './standard-schema.js';
export { EventRegistry, type RegistryProblem } from './registry.js';
export { Store, type CompactOptions, type CompactionResult } from './store.js';
export type { KindSelector, SubscribeOptions, SubscriptionFilter } from './store/subscribe.js';
export type { Consumer, ConsumerInfo, ConsumerOptions, Delivery } from './store/consumer.js';
export type { ReactionHandler, ReactionTx } from './store/react.js';
export type { StorePressure } from './store/admission.js';
export type { CausalIds, CausationBoundary, CausationWalk } from './store/causation.js';
export { defineProjection, type ProjectionDefinition, type ProjectionInit } from './projection/define.js';
export type { ProjectOptions, ProjectionFreshness, ProjectionResult } from './store/project.js';
export type { VerifyChainOptions, AttestOptions } from './attest/options.js';
export type { EventLog, EventLogVerifyOptions, AncestorWalkOptions } from './event-log.js';
export type { SnapshotOptions, SnapshotResult } from './snapshot/copy.js';
export { HeadCommitment } from './attest/commit.js';
export { ATTESTATION_LABEL_MAX_BYTES, type HeadAttestation } from './attest/statement.js';
export { verifyAttestation, type AttestationVerdict } from './attest/verify.js';
export { attestationToJSON, attestationFromJSON, type AttestationJson } from './attest/json.js';
export {
  DIAGNOSTICS_CHANNELS,
  type AppendTraceContext,
  type AppendTraceEvent,
  type CommitTraceContext,
  type CompactTraceContext,
  type ShredTraceContext,
  type VerifyTraceContext,
} from './store/diagnostics.js';
export type { WarningCode } from './store/warnings.js';
export type { StoreOptions, PayloadValidation, SyncMode, ChainVerificationMode, SigningPolicy, KeyGranularity } from './store/options.js';
export type { AppendOptions, BatchItem, ImportEvent } from './store/append.js';
export { Replica, type ReplicaOptions, type ReplicaApplyResult } from './store/replica.js';
export type { ReplicationFrames } from './store/replica-frames.js';
export type {
  AppendReceipt,
  GroupProof,
  EventHeader,
  StoredEvent,
  RawEvent,
  QueryFilter,
  AncestorWalk,
  AncestryBoundary,
  ChainVerificationReport,
  CorruptFrameReport,
  DirectoryDamageReport,
  StoreStats,
  StoreIndexStats,
  CommitStats,
  Percentiles,
  AttestationCheck,
} from './types.js';
export type { AppendHint, Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs/fs.js';
export { RealFs, type RealFsOptions } from './fs/real.js';
export { blake3 } from './crypto/blake3.js';
export { toHex, fromHex } from './encoding/hex.js';
export { verifyReceiptClaim, isValid, isSigned, type ReceiptVerdict, type ReceiptStatus } from './receipt/verify.js';
export { receiptToJSON, receiptFromJSON, type ReceiptJson } from './receipt/json.js';
export type { ReceiptSigner } from './receipt/sign.js';
export type { SigningPolicyDeclaration, UnsignedAppends } from './receipt/policy.js';
export type { ShredResult, ShredSelector } from './keyset/scope.js';
export { FileKeyStore, KEYSET_FILE, type KeyStore } from './keyset/keystore.js';

// Names that moved to a subpath, kept with a deprecation note naming their new home (see entry/moved.ts).
export * from './entry/moved.js';
