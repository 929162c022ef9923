// Projection definitions: a named, versioned fold of one entity's events into a state, checked once here
// so a bad definition fails at definition time, not on the first read (INV-PROJECTION-DEFINE-CHECKED).

import { BatpakError } from '../errors.js';
import { isWellFormedString } from '../encoding/utf16.js';
import type { EventDefinition } from '../event.js';
import { checkKind, kindToRaw, type EventKind } from '../kind.js';
import type { StoredEvent } from '../types.js';

export interface ProjectionInit<S> {
  /** Names the projection in the cache and in its snapshot files; 1–256 UTF-8 bytes. */
  readonly name: string;
  /** Bump it whenever `apply` or the state's shape changes: cached states and snapshots of other versions are ignored. */
  readonly version: number;
  /** Only events of these kinds reach `apply` (event definitions or kinds); default: every user event of the entity. */
  readonly kinds?: ReadonlyArray<EventDefinition<unknown> | EventKind>;
  /** The state before the entity's first event. Called for every rebuild: return a fresh value. */
  readonly initial: () => S;
  /**
   * Folds one event into the state and returns the new state; must be deterministic and must not mutate
   * `state` in place. A shredded event arrives as `{ shredded: true, payload: undefined }`.
   */
  readonly apply: (state: S, event: StoredEvent) => S;
  /**
   * Writes an on-disk snapshot of the state once `snapshotEvery` events were folded since the last one
   * (FORMAT.md § Projection snapshot). Default: never. The state must be a payload value (README § Payload values).
   */
  readonly snapshotEvery?: number;
}

export interface ProjectionDefinition<S> {
  readonly name: string;
  readonly version: number;
  /** Raw kinds of the filter, or undefined for every user kind. */
  readonly kinds: ReadonlySet<number> | undefined;
  readonly initial: () => S;
  readonly apply: (state: S, event: StoredEvent) => S;
  /** 0: no snapshots. */
  readonly snapshotEvery: number;
}

const NAME_MAX_BYTES = 256;

/** Declares a projection (see ProjectionInit); ERR_INVALID_ARGUMENT names the bad field. */
export function defineProjection<S>(init: ProjectionInit<S>): ProjectionDefinition<S> {
  if (typeof init !== 'object' || init === null) throw BatpakError.invalidArgument('projection definition must be an object');
  const { name, version, initial, apply } = init;
  const bytes = typeof name === 'string' ? new TextEncoder().encode(name).length : 0;
  if (typeof name !== 'string' || bytes === 0 || bytes > NAME_MAX_BYTES || !isWellFormedString(name)) {
    throw BatpakError.invalidArgument(`projection name must be a well-formed string of 1..${NAME_MAX_BYTES} UTF-8 bytes`, { field: 'name' });
  }
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
    throw BatpakError.invalidArgument('projection version must be an integer 1..2^32-1', { field: 'version' });
  }
  if (typeof initial !== 'function') throw BatpakError.invalidArgument('projection initial must be a function', { field: 'initial' });
  if (typeof apply !== 'function') throw BatpakError.invalidArgument('projection apply must be a function', { field: 'apply' });
  const snapshotEvery = init.snapshotEvery ?? 0;
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 0) {
    throw BatpakError.invalidArgument('projection snapshotEvery must be a non-negative integer', { field: 'snapshotEvery' });
  }
  let kinds: Set<number> | undefined;
  if (init.kinds !== undefined) {
    if (!Array.isArray(init.kinds)) throw BatpakError.invalidArgument('projection kinds must be an array', { field: 'kinds' });
    kinds = new Set();
    for (const [i, k] of init.kinds.entries()) kinds.add(kindToRaw(checkKind(isDefinition(k) ? k.kind : k, { user: true, index: i })));
  }
  return Object.freeze({ name, version, kinds, initial, apply, snapshotEvery });
}

function isDefinition(k: unknown): k is EventDefinition<unknown> {
  return typeof k === 'object' && k !== null && 'kind' in k && typeof (k as { kind: unknown }).kind === 'object';
}

/** True when `def` is what defineProjection returned (a plain object would skip its checks). */
export function isProjectionDefinition(def: unknown): def is ProjectionDefinition<unknown> {
  if (typeof def !== 'object' || def === null || !Object.isFrozen(def)) return false;
  const d = def as Partial<ProjectionDefinition<unknown>>;
  return typeof d.name === 'string' && typeof d.version === 'number' && typeof d.apply === 'function' && typeof d.initial === 'function' && typeof d.snapshotEvery === 'number';
}
