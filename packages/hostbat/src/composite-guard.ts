// The host's one admission guard: routes each checkout to the guard of the module that declared the operation.
// Invariant: an operation is judged only by its own module's guard; operations of unguarded modules are admitted.

import { admit, type AdmissionGuard } from '@batpak/syncbat';

/** `routes`: operation name → its module's guard. Undefined when no module has a guard (the Core then has none). */
export function compositeGuard(routes: ReadonlyMap<string, AdmissionGuard>): AdmissionGuard | undefined {
  if (routes.size === 0) return undefined;
  const table = new Map(routes);
  return (descriptor, input, ctx) => {
    const guard = table.get(descriptor.name);
    return guard === undefined ? admit() : guard(descriptor, input, ctx);
  };
}
