// H_host: the content identity of a whole composition — the set of (module id, H_module, capabilities granted to it).
// Invariant: entries are sorted by module id before hashing, so mount order never moves H_host (INV-HOSTBAT-FINGERPRINT-STABLE);
// any change of authority (a module's effect rows via H_module, or its grants) moves it (INV-HOSTBAT-AUTHORITY-FINGERPRINT).

import { carray, cbytesArray, cstr, cstruct } from '@batpak/core';
import { canonicalDigest, type Digest } from './digest.js';
import type { HostModuleManifest } from './manifest.js';
import { compareUtf8 } from './order.js';

export const HOST_FINGERPRINT_DOMAIN = 'hostbat.host.v2';

/** `grants`: module id → its granted capability tokens, sorted byte-wise (a module without grants has `[]`). */
export function computeHostFingerprint(modules: readonly HostModuleManifest[], grants: ReadonlyMap<string, readonly string[]> = new Map()): Digest {
  const sorted = [...modules].sort((a, b) => compareUtf8(a.id, b.id));
  return canonicalDigest(
    cstruct([
      ['domain', cstr(HOST_FINGERPRINT_DOMAIN)],
      [
        'modules',
        carray(
          sorted.map((m) =>
            cstruct([
              ['module_id', cstr(m.id)],
              ['module_digest', cbytesArray(m.digest.bytes)],
              ['granted_capabilities', carray([...(grants.get(m.id) ?? [])].sort(compareUtf8).map(cstr))],
            ]),
          ),
        ),
      ],
    ]),
  );
}
