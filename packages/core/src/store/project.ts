// Projections for the store: folds an entity's events into a state, cached and caught up incrementally,
// resumed from an on-disk snapshot when cold, and invalidated by shreds and compactions.
// Invariants: a 'consistent' read covers every event committed before the call (INV-PROJECTION-CONSISTENT);
// after shredScope or compact returns, no cached state and no snapshot file derives from a shredded or
// dropped payload (INV-PROJECTION-SHRED-SAFE, INV-PROJECTION-COMPACTION-INVALIDATES).

import { Coordinate } from '../coordinate.js';
import { BatpakError } from '../errors.js';
import { entityPages, type EventIndex } from '../event-index/event-index.js';
import type { Fs } from '../fs/fs.js';
import { isReservedKind } from '../kind.js';
import type { Keyset } from '../keyset/keyset.js';
import { cacheKey, ProjectionCache, type CachedProjection } from '../projection/cache.js';
import { isProjectionDefinition, type ProjectionDefinition } from '../projection/define.js';

export type { ProjectionDefinition } from '../projection/define.js';
import { decodeProjectionSnapshot, readSnapshotFile, removeSnapshotFiles, snapshotFileName, writeSnapshotFile } from '../projection/snapshot-file.js';
import { EventFlags } from '../segment/frame.js';
import type { StoredEvent } from '../types.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { SequenceWaiters } from './waiters.js';
import { watchProjection } from './watch-projection.js';
import type { WarningSink } from './warnings.js';

/** How fresh a projected state must be. */
export type ProjectionFreshness = 'consistent' | { readonly maxLagMs: number };

export interface ProjectOptions {
  /** Default 'consistent': every event committed before the call. `{ maxLagMs }` may serve a cached state that old. */
  readonly freshness?: ProjectionFreshness;
}

export interface ProjectionResult<S> {
  readonly state: S;
  /** Entity sequence of the entity's last event the state covers (0n: none yet). */
  readonly entitySequence: bigint;
}

export interface ProjectorParts {
  readonly index: EventIndex;
  /** Events of one entity after a global sequence, in commit order (the store's query). */
  readonly eventsAfter: (entity: string, after: number) => AsyncIterable<StoredEvent>;
  readonly keyset: Keyset | undefined;
  readonly fs: Fs;
  readonly dir: string;
  readonly readOnly: boolean;
  readonly cacheSize: number;
  readonly now: () => number;
  readonly onWarning: WarningSink;
  /** Throws ERR_STORE_CLOSED once the store is closing. */
  readonly assertOpen: () => void;
  /** The store's commit waiters (waitForSequence), for watchers. */
  readonly waiters: SequenceWaiters;
}

/** The entity a shred selector names, if it names one (else undefined: every entity may be affected). */
export function shredEntity(selector: unknown): string | undefined {
  const e = (selector as { entity?: unknown } | null)?.entity;
  if (typeof e === 'string') return e;
  return e instanceof Coordinate ? e.entity : undefined;
}

/** Checks project()'s arguments; returns the freshness as a max lag in ms (0 for 'consistent'). */
export function checkProjectArgs(def: unknown, entity: unknown, options: ProjectOptions | undefined): number {
  if (!isProjectionDefinition(def)) throw BatpakError.invalidArgument('projection must be a definition from defineProjection', { field: 'projection' });
  if (typeof entity !== 'string') throw BatpakError.invalidArgument('entity must be a string', { field: 'entity' });
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw BatpakError.invalidArgument('options must be an object');
  const f = options?.freshness ?? 'consistent';
  if (f === 'consistent') return 0;
  const lag = (f as { maxLagMs?: unknown } | null)?.maxLagMs;
  if (typeof lag !== 'number' || !Number.isFinite(lag) || lag < 0) {
    throw BatpakError.invalidArgument("freshness must be 'consistent' or { maxLagMs: a non-negative number }", { field: 'freshness' });
  }
  return lag;
}

export class Projector {
  readonly #p: ProjectorParts;
  readonly #cache: ProjectionCache;
  /** Bumped when an invalidation ends: a fold that began before may not be cached or snapshotted. */
  #epoch = 0;
  /** Invalidations in progress: no snapshot file is written meanwhile. */
  #quiesced = 0;
  readonly #writes = new Set<Promise<void>>();
  readonly #epochWaiters = new Set<() => void>();

  constructor(parts: ProjectorParts) {
    this.#p = parts;
    this.#cache = new ProjectionCache(parts.cacheSize);
  }

  /** Increments on every invalidation: a watcher re-yields after one (the state may have changed). */
  get epoch(): number {
    return this.#epoch;
  }

  async project<S>(def: ProjectionDefinition<S>, entity: string, maxLagMs: number): Promise<ProjectionResult<S>> {
    const key = cacheKey(def.name, def.version, entity);
    const cached = this.#cache.get(key);
    const now = this.#p.now();
    if (cached !== undefined && maxLagMs > 0 && now - cached.currentAt <= maxLagMs) return result(cached);
    const epoch = this.#epoch;
    // Everything committed before the call is in the index now; the fold reads up to the entity's head.
    const head = this.#p.index.head(entity);
    const base = cached ?? (await this.#fromSnapshot(def, entity));
    let next: CachedProjection = base ?? { state: def.initial(), cursor: 0, entitySequence: 0, currentAt: now, sinceSnapshot: 0 };
    if (head !== undefined && head.globalSequence > next.cursor) next = await this.#fold(def, entity, next, head.globalSequence);
    next = { ...next, currentAt: now };
    if (epoch === this.#epoch) {
      this.#cache.set(key, entity, next);
      if (def.snapshotEvery > 0 && next.sinceSnapshot >= def.snapshotEvery && (await this.#snapshot(def, entity, next, epoch))) {
        next = { ...next, sinceSnapshot: 0 };
        if (epoch === this.#epoch) this.#cache.set(key, entity, next);
      }
    }
    return result(next);
  }

  /** Applies the entity's events after `from.cursor` up to global sequence `until`, in commit order. */
  async #fold<S>(def: ProjectionDefinition<S>, entity: string, from: CachedProjection, until: number): Promise<CachedProjection> {
    let state = from.state as S;
    let { cursor, entitySequence, sinceSnapshot } = from;
    for await (const event of this.#p.eventsAfter(entity, cursor)) {
      const h = event.header;
      const raw = (h.kind.category << 12) | h.kind.typeId;
      // Tombstones carry no payload (compaction dropped it); system kinds are the store's own records.
      if (!h.tombstone && !isReservedKind(raw) && (def.kinds === undefined || def.kinds.has(raw))) {
        state = def.apply(state, event);
        sinceSnapshot++;
      }
      cursor = Number(h.globalSequence);
      entitySequence = Number(h.entitySequence);
      if (cursor >= until) break;
    }
    return { state, cursor, entitySequence, currentAt: 0, sinceSnapshot };
  }

  /** The state from the snapshot file, or undefined (none, or unusable: a warning says why). */
  async #fromSnapshot<S>(def: ProjectionDefinition<S>, entity: string): Promise<CachedProjection | undefined> {
    if (def.snapshotEvery === 0) return undefined;
    const file = snapshotFileName(def.name, entity);
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readSnapshotFile(this.#p.fs, this.#p.dir, def.name, entity);
    } catch (err) {
      this.#p.onWarning(`projection snapshot ${file} could not be read, rebuilding: ${(err as Error).message}`, 'BATPAK_PROJECTION_SNAPSHOT_IGNORED');
      return undefined;
    }
    if (bytes === undefined) return undefined;
    const snap = decodeProjectionSnapshot(bytes);
    const ignore = (why: string) => {
      this.#p.onWarning(`projection snapshot ${file} ignored (${why}); rebuilding ${def.name} for ${entity} from the log`, 'BATPAK_PROJECTION_SNAPSHOT_IGNORED');
      return undefined;
    };
    if (typeof snap === 'string') return ignore(snap);
    if (snap.name !== def.name || snap.entity !== entity) return ignore('it belongs to another projection or entity');
    if (snap.version !== def.version) return ignore(`projection version ${snap.version}, now ${def.version}`);
    const index = this.#p.index;
    const [at] = snap.entitySequence === 0 ? [] : await index.entityRange(entity, { afterEntitySequence: snap.entitySequence - 1 }, 1);
    if (snap.entitySequence > 0 && (at === undefined || at.entitySequence !== snap.entitySequence || at.globalSequence !== snap.cursor)) {
      return ignore('it is ahead of the log or does not match it');
    }
    if (snap.entitySequence === 0 && snap.cursor !== 0) return ignore('it does not match the log');
    // A key destroyed since the snapshot was written: the state may derive from a shredded payload.
    if (await this.#coversDestroyed(entity, snap.cursor)) return ignore('an event it covers was shredded since');
    return { state: snap.state, cursor: snap.cursor, entitySequence: snap.entitySequence, currentAt: 0, sinceSnapshot: 0 };
  }

  /** Whether an event of `entity` up to global sequence `cursor` is sealed under a destroyed key. */
  async #coversDestroyed(entity: string, cursor: number): Promise<boolean> {
    if (this.#p.keyset === undefined) return false;
    for await (const page of entityPages(this.#p.index, entity)) {
      for (const e of page) {
        if (e.globalSequence > cursor) return false;
        if (this.#destroyed(e)) return true;
      }
    }
    return false;
  }

  #destroyed(e: IndexEntry): boolean {
    const enc = e.encryption;
    if (enc === undefined || this.#p.keyset === undefined || (e.flags & EventFlags.TOMBSTONE) !== 0) return false;
    return this.#p.keyset.lookup(enc.scope, enc.generation).state === 'destroyed';
  }

  /** Writes the snapshot unless an invalidation runs or ran since the fold began; true when written. */
  async #snapshot<S>(def: ProjectionDefinition<S>, entity: string, s: CachedProjection, epoch: number): Promise<boolean> {
    if (this.#p.readOnly || this.#quiesced > 0 || epoch !== this.#epoch) return false;
    const write = writeSnapshotFile(this.#p.fs, this.#p.dir, { name: def.name, version: def.version, entity, entitySequence: s.entitySequence, cursor: s.cursor, state: s.state });
    const tracked = write.then(
      () => undefined,
      () => undefined,
    );
    this.#writes.add(tracked);
    try {
      await write;
      return true;
    } catch (err) {
      this.#p.onWarning(`projection snapshot of ${def.name} for ${entity} not written: ${(err as Error).message}`, 'BATPAK_PROJECTION_SNAPSHOT_WRITE_FAILED');
      return false;
    } finally {
      this.#writes.delete(tracked);
    }
  }

  /**
   * Runs `work` (a shred or a compaction) with snapshot writes held back: `removeFiles` (called by
   * `work` before its commit point) removes the snapshot files of the entities it names (undefined:
   * all); when `work` ends, their cached states are dropped and folds begun earlier are not kept.
   */
  async invalidating<T>(work: (removeFiles: (entities: ReadonlySet<string> | undefined) => Promise<void>) => Promise<T>): Promise<T> {
    // Synchronous up to work's first await: a shred's key is destroyed at the call, as without projections.
    this.#quiesced++;
    let touched: ReadonlySet<string> | undefined = new Set();
    try {
      return await work(async (entities) => {
        touched = entities === undefined || touched === undefined ? undefined : new Set([...touched, ...entities]);
        // A write begun before the quiesce lands first, so it is removed with the rest.
        await Promise.all([...this.#writes]);
        if (this.#p.readOnly) return;
        if (entities === undefined) await removeSnapshotFiles(this.#p.fs, this.#p.dir, undefined);
        else for (const entity of entities) await removeSnapshotFiles(this.#p.fs, this.#p.dir, entity);
      });
    } finally {
      if (touched === undefined) this.#cache.clear();
      else for (const entity of touched) this.#cache.invalidateEntity(entity);
      this.#epoch++;
      this.#quiesced--;
      for (const wake of this.#epochWaiters) wake();
      this.#epochWaiters.clear();
    }
  }

  /**
   * Runs a shred (which destroys the key synchronously, at the call): the snapshot files that may derive
   * from the scope (its entity's, or all at a coarser granularity) are removed before the destroy is
   * made durable (`removeFiles`, the shred's beforeFlush), cached states are dropped after.
   */
  aroundShred<T>(selector: unknown, shred: (removeFiles: () => Promise<void>) => Promise<T>): Promise<T> {
    const entity = this.#p.keyset?.granularity === 'entity' ? shredEntity(selector) : undefined;
    return this.invalidating((removeFiles) => shred(() => removeFiles(entity === undefined ? undefined : new Set([entity]))));
  }

  /** Resolves once the epoch is no longer `since` (at once if it already is); rejects ERR_ABORTED on `signal`. */
  invalidated(since: number, signal: AbortSignal): Promise<void> {
    if (this.#epoch !== since) return Promise.resolve();
    if (signal.aborted) return Promise.reject(BatpakError.aborted('watchProjection', signal.reason));
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#epochWaiters.delete(wake);
        reject(BatpakError.aborted('watchProjection', signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#epochWaiters.add(wake);
    });
  }

  /** See Store.watchProjection; bad arguments throw here, not at the first iteration. */
  watch<S>(def: ProjectionDefinition<S>, entity: string, signal: AbortSignal | undefined): AsyncGenerator<ProjectionResult<S>, void, undefined> {
    checkProjectArgs(def, entity, undefined);
    const { index, waiters, assertOpen } = this.#p;
    const parts = {
      project: <T>(d: ProjectionDefinition<T>, e: string) => {
        assertOpen();
        return this.project(d, e, 0);
      },
      lastSequence: () => BigInt(index.lastGlobalSequence()),
      waitForSequence: (after: bigint, s: AbortSignal | undefined) => {
        assertOpen();
        return waiters.wait(after, index.lastGlobalSequence(), s);
      },
      epoch: () => this.#epoch,
      invalidated: (since: number, s: AbortSignal) => this.invalidated(since, s),
    };
    return watchProjection(parts, def, entity, signal);
  }

  /** Waits for snapshot writes in flight (close). */
  async settle(): Promise<void> {
    await Promise.all([...this.#writes]);
  }
}

function result<S>(c: CachedProjection): ProjectionResult<S> {
  return { state: c.state as S, entitySequence: BigInt(c.entitySequence) };
}
