// @batpak/core/canonical: the canonical msgpack codec receipts, keysets and attestations are written in,
// for tools that build or check those bytes themselves. Invariant: one value has exactly one encoding.

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
} from '../encoding/canonical.js';
export { toHex, fromHex } from '../encoding/hex.js';
