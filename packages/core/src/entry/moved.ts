// Names that moved from the main entry to a subpath, still exported from it so code written against the
// old single entry keeps compiling. Invariant: each is the very same value or type as in its new home,
// read from that entry here, so the two can never drift apart.

import * as canonical from './canonical.js';
import * as format from './format.js';
import * as rust from './rust.js';

/** @deprecated import from '@batpak/core/format' */
export const FORMAT_VERSION = format.FORMAT_VERSION;
/** @deprecated import from '@batpak/core/format' */
export const parseSegmentFileName = format.parseSegmentFileName;
/** @deprecated import from '@batpak/core/format' */
export const segmentFileName = format.segmentFileName;
/** @deprecated import from '@batpak/core/canonical' */
export const encodeCanonical = canonical.encodeCanonical;
/** @deprecated import from '@batpak/core/canonical' */
export const decodeCanonical = canonical.decodeCanonical;
/** @deprecated import from '@batpak/core/canonical' */
export const decodeCanonicalAt = canonical.decodeCanonicalAt;
/** @deprecated import from '@batpak/core/canonical' */
export const encodeCoordinateCanonical = canonical.encodeCoordinateCanonical;
/** @deprecated import from '@batpak/core/canonical' */
export const encodeStringBytesMapCanonical = canonical.encodeStringBytesMapCanonical;
/** @deprecated import from '@batpak/core/canonical' */
export const asByteArray = canonical.asByteArray;
/** @deprecated import from '@batpak/core/canonical' */
export const cnil = canonical.cnil;
/** @deprecated import from '@batpak/core/canonical' */
export const cbool = canonical.cbool;
/** @deprecated import from '@batpak/core/canonical' */
export const cint = canonical.cint;
/** @deprecated import from '@batpak/core/canonical' */
export const cuint = canonical.cuint;
/** @deprecated import from '@batpak/core/canonical' */
export const cf32 = canonical.cf32;
/** @deprecated import from '@batpak/core/canonical' */
export const cf64 = canonical.cf64;
/** @deprecated import from '@batpak/core/canonical' */
export const cstr = canonical.cstr;
/** @deprecated import from '@batpak/core/canonical' */
export const cbin = canonical.cbin;
/** @deprecated import from '@batpak/core/canonical' */
export const cbytesArray = canonical.cbytesArray;
/** @deprecated import from '@batpak/core/canonical' */
export const carray = canonical.carray;
/** @deprecated import from '@batpak/core/canonical' */
export const cmap = canonical.cmap;
/** @deprecated import from '@batpak/core/canonical' */
export const cstruct = canonical.cstruct;
/** @deprecated import from '@batpak/core/canonical' */
export type CanonicalValue = canonical.CanonicalValue;
/** @deprecated import from '@batpak/core/canonical' */
export type CanonicalEntry = canonical.CanonicalEntry;
/** @deprecated import from '@batpak/core/canonical' */
export type CanonicalDecodeOptions = canonical.CanonicalDecodeOptions;
/** @deprecated import from '@batpak/core/rust' */
export const openRustStore = rust.openRustStore;
/** @deprecated import from '@batpak/core/rust' */
export const RustStore = rust.RustStore;
/** @deprecated import from '@batpak/core/rust' */
export type RustStore = rust.RustStore;
/** @deprecated import from '@batpak/core/rust' */
export type OpenRustStoreOptions = rust.OpenRustStoreOptions;
/** @deprecated import from '@batpak/core/rust' */
export type RustEventInfo = rust.RustEventInfo;
/** @deprecated import from '@batpak/core/rust' */
export type RustStoreStats = rust.RustStoreStats;
/** @deprecated import from '@batpak/core/rust' */
export type RustVerifyChainOptions = rust.RustVerifyChainOptions;
/** @deprecated import from '@batpak/core/rust' */
export type RustSegmentInfo = rust.RustSegmentInfo;
/** @deprecated import from '@batpak/core/rust' */
export type RustFooterKind = rust.RustFooterKind;
/** @deprecated import from '@batpak/core/rust' */
export type RustTornTail = rust.RustTornTail;
/** @deprecated import from '@batpak/core/rust' */
export type RustTruncationEvidence = rust.RustTruncationEvidence;
/** @deprecated import from '@batpak/core/rust' */
export type RustLinkRule = rust.RustLinkRule;
/** @deprecated import from '@batpak/core/rust' */
export type RustEventHeader = rust.RustEventHeader;
/** @deprecated import from '@batpak/core/rust' */
export type RustPosition = rust.RustPosition;
/** @deprecated import from '@batpak/core/rust' */
export type RustPayloadEncryption = rust.RustPayloadEncryption;
/** @deprecated import from '@batpak/core/rust' */
export type RustSegmentHeader = rust.RustSegmentHeader;
/** @deprecated import from '@batpak/core/rust' */
export const RUST_COVER_VERSION = rust.RUST_COVER_VERSION;
/** @deprecated import from '@batpak/core/rust' */
export const rustReceiptCover = rust.rustReceiptCover;
/** @deprecated import from '@batpak/core/rust' */
export const rustReceiptDigest = rust.rustReceiptDigest;
/** @deprecated import from '@batpak/core/rust' */
export const rustKeyId = rust.rustKeyId;
/** @deprecated import from '@batpak/core/rust' */
export const signRustReceipt = rust.signRustReceipt;
/** @deprecated import from '@batpak/core/rust' */
export const verifyRustReceiptClaim = rust.verifyRustReceiptClaim;
/** @deprecated import from '@batpak/core/rust' */
export type RustReceiptFields = rust.RustReceiptFields;
/** @deprecated import from '@batpak/core/rust' */
export type RustReceiptClaim = rust.RustReceiptClaim;
/** @deprecated import from '@batpak/core/rust' */
export const planRustImport = rust.planRustImport;
/** @deprecated import from '@batpak/core/rust' */
export const importRustStore = rust.importRustStore;
/** @deprecated import from '@batpak/core/rust' */
export const rustImportReportToJSON = rust.rustImportReportToJSON;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportEvent = rust.RustImportEvent;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportTarget = rust.RustImportTarget;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportReport = rust.RustImportReport;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportPlan = rust.RustImportPlan;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportEntityHead = rust.RustImportEntityHead;
/** @deprecated import from '@batpak/core/rust' */
export type RustImportOptions = rust.RustImportOptions;
/** @deprecated import from '@batpak/core/rust' */
export type ImportRustStoreOptions = rust.ImportRustStoreOptions;
