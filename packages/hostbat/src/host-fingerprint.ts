// H_host: the content identity of a whole composition — the set of (module id, H_module) pairs.
// Invariant: pairs are sorted by module id before hashing, so mount order never moves H_host (INV-HOSTBAT-FINGERPRINT-STABLE).

import { carray, cbytesArray, cstr, cstruct } from '@batpak/core';
import { canonicalDigest, type Digest } from './digest.js';
import type { HostModuleManifest } from './manifest.js';
import { compareUtf8 } from './order.js';

export const HOST_FINGERPRINT_DOMAIN = 'hostbat.host.v1';

export function computeHostFingerprint(modules: readonly HostModuleManifest[]): Digest {
  const sorted = [...modules].sort((a, b) => compareUtf8(a.id, b.id));
  return canonicalDigest(
    cstruct([
      ['domain', cstr(HOST_FINGERPRINT_DOMAIN)],
      ['modules', carray(sorted.map((m) => cstruct([['module_id', cstr(m.id)], ['module_digest', cbytesArray(m.digest.bytes)]])))],
    ]),
  );
}
