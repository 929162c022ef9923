// Public surface of @batpak/core. Everything a user programs against is exported here; internals are not.

export { BatpakError, ERROR_CODES, isBatpakError, type BatpakErrorCode, type BatpakErrorDetails } from './errors.js';
export { Coordinate, COORDINATE_PART_MAX_BYTES } from './coordinate.js';
export { formatKind, type EventKind } from './kind.js';
export { defineEvent, type EventDefinition, type EventDefinitionInit, type Upcaster } from './event.js';
export { EventRegistry, type RegistryProblem } from './registry.js';
export { Store, type CompactOptions, type CompactionResult } from './store.js';
export type { VerifyChainOptions, AttestOptions } from './attest/options.js';
export type { SnapshotOptions, SnapshotResult } from './snapshot/copy.js';
export { HeadCommitment } from './attest/commit.js';
export { ATTESTATION_LABEL_MAX_BYTES, type HeadAttestation } from './attest/statement.js';
export { verifyAttestation, type AttestationVerdict } from './attest/verify.js';
export { attestationToJSON, attestationFromJSON, type AttestationJson } from './attest/json.js';
export type { AttestationCheck } from './attest/check.js';
export type { StoreOptions, PayloadValidation, SyncMode, ChainVerificationMode, SigningPolicy, KeyGranularity } from './store/options.js';
export type { AppendOptions, BatchItem, ImportEvent } from './store/append.js';
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
} from './types.js';
export type { Fs, FsFile, FsLock, FsOpenOptions, FsStat } from './fs/fs.js';
export { RealFs } from './fs/real.js';
export { blake3 } from './crypto/blake3.js';
export { verifyReceiptClaim, isValid, isSigned, type ReceiptVerdict, type ReceiptStatus } from './receipt/verify.js';
export { receiptToJSON, receiptFromJSON, type ReceiptJson } from './receipt/json.js';
export {
  encodeCanonical,
  decodeCanonical,
  decodeCanonicalAt,
  encodeCoordinateCanonical,
  encodeStringBytesMapCanonical,
  asByteArray,
  cnil,
  cbool,
  cint,
  cuint,
  cf32,
  cf64,
  cstr,
  cbin,
  cbytesArray,
  carray,
  cmap,
  cstruct,
  type CanonicalValue,
  type CanonicalEntry,
  type CanonicalDecodeOptions,
} from './encoding/canonical.js';
export { toHex, fromHex } from './encoding/hex.js';
export type { ReceiptSigner } from './receipt/sign.js';
export type { SigningPolicyDeclaration, UnsignedAppends } from './receipt/policy.js';
export type { ShredResult, ShredSelector } from './keyset/scope.js';
export { FileKeyStore, KEYSET_FILE, type KeyStore } from './keyset/keystore.js';
export { FORMAT_VERSION, parseSegmentFileName, segmentFileName } from './segment/format.js';

// --- Rust batpak interop (issue 13): read-only reader of Rust data directories, Rust receipt cover and
// verdicts, import plan/report. RUST-INTEROP.md documents the mapping and every divergence.
export { openRustStore, RustStore } from './rust/store.js';
export type { OpenRustStoreOptions, RustEventInfo, RustStoreStats, RustVerifyChainOptions } from './rust/store.js';
export type { RustSegmentInfo, RustFooterKind } from './rust/scan.js';
export type { RustTornTail, RustTruncationEvidence } from './rust/recovery.js';
export type { RustLinkRule } from './rust/chain.js';
export type { RustEventHeader, RustPosition, RustPayloadEncryption } from './rust/header.js';
export type { RustSegmentHeader } from './rust/segment.js';
export {
  RUST_COVER_VERSION,
  rustReceiptCover,
  rustReceiptDigest,
  rustKeyId,
  signRustReceipt,
  verifyRustReceiptClaim,
  type RustReceiptFields,
  type RustReceiptClaim,
} from './rust/receipt.js';
export {
  planRustImport,
  importRustStore,
  rustImportReportToJSON,
  type RustImportEvent,
  type RustImportTarget,
  type RustImportReport,
  type RustImportPlan,
  type RustImportEntityHead,
  type RustImportOptions,
  type ImportRustStoreOptions,
} from './rust/import.js';
