// Capability gate: the declared authority of an operation (its non-ambient requiresCapabilities) against what was granted.
// Invariant: a token counts as granted only if the Core grants it to every operation or to this operation by name (INV-SYNCBAT-CAPABILITY-GATE).

import type { OperationDescriptor } from './descriptor.js';
import { isAmbientCapability } from './effect-row.js';

/** Grants as built: Core-wide tokens, and tokens granted to one operation only (hostbat grants per module this way). */
export interface CapabilityGrants {
  readonly all: ReadonlySet<string>;
  readonly byOperation: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The first declared, non-ambient token (row order) that is not granted to `d`, or undefined when all are. */
export function firstUngranted(d: OperationDescriptor, grants: CapabilityGrants): string | undefined {
  const own = grants.byOperation.get(d.name);
  return d.effectRow.requiresCapabilities.find((t) => !isAmbientCapability(t) && !grants.all.has(t) && own?.has(t) !== true);
}
