// Validation of query filters, shared by the native store and the Rust-format reader so both refuse
// the same bad filters with the same errors.

import { BatpakError } from './errors.js';
import { checkKind, kindToRaw } from './kind.js';
import type { QueryFilter } from './types.js';

export interface CheckedFilter {
  readonly entity: string | undefined;
  readonly scope: string | undefined;
  /** Tests a raw u16 kind. */
  readonly kind: ((raw: number) => boolean) | undefined;
  readonly after: bigint | undefined;
  readonly limit: number;
}

export function checkFilter(filter: QueryFilter): CheckedFilter {
  if (typeof filter !== 'object' || filter === null) throw BatpakError.invalidArgument('query filter must be an object');
  const { entity, scope, kind, after, limit } = filter;
  if (entity !== undefined && typeof entity !== 'string') throw BatpakError.invalidArgument('filter.entity must be a string');
  if (scope !== undefined && typeof scope !== 'string') throw BatpakError.invalidArgument('filter.scope must be a string');
  if (after !== undefined && (typeof after !== 'bigint' || after < 0n)) throw BatpakError.invalidArgument('filter.after must be a non-negative bigint');
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw BatpakError.invalidArgument('filter.limit must be a non-negative integer');
  let kindTest: CheckedFilter['kind'];
  if (kind !== undefined) {
    if (typeof kind !== 'object' || kind === null) throw BatpakError.invalidKind('filter.kind must be a kind, { category } or an event definition');
    if ('upcasters' in kind) {
      // A definition from defineEvent: its kind.
      const raw = kindToRaw(checkKind(kind.kind, { user: false }));
      kindTest = (k) => k === raw;
    } else if ('typeId' in kind) {
      const raw = kindToRaw(checkKind(kind, { user: false }));
      kindTest = (k) => k === raw;
    } else {
      const category = checkKind({ category: kind.category, typeId: 0 }, { user: false }).category;
      kindTest = (k) => k >>> 12 === category;
    }
  }
  return { entity, scope, kind: kindTest, after, limit: limit ?? Number.MAX_SAFE_INTEGER };
}
