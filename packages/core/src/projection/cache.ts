// The in-memory projection cache: the latest folded state per (projection name, version, entity), least
// recently used first out, so memory stays bounded by `projectionCacheSize` entries (INV-PROJECTION-CACHE-BOUNDED).

/** A folded state and how far it is caught up. */
export interface CachedProjection {
  readonly state: unknown;
  /** Global sequence of the last event examined (folded or filtered out); 0 before the first. */
  readonly cursor: number;
  /** Entity sequence of the entity's last event the state covers; 0 before the first. */
  readonly entitySequence: number;
  /** When (store clock, Unix ms) the state was last known to include every committed event. */
  readonly currentAt: number;
  /** Events folded since the last snapshot was written (or since a cold start without one). */
  readonly sinceSnapshot: number;
}

/** Cache key: name, version and entity, each length-prefixed so no name or entity can forge another's key. */
export function cacheKey(name: string, version: number, entity: string): string {
  return `${name.length}:${name}:${version}:${entity}`;
}

export class ProjectionCache {
  /** Map iteration order is insertion order: the first key is the least recently used. */
  readonly #entries = new Map<string, { readonly entity: string; readonly value: CachedProjection }>();
  readonly #byEntity = new Map<string, Set<string>>();

  constructor(readonly capacity: number) {}

  /** The cached state, marked most recently used. */
  get(key: string): CachedProjection | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit.value;
  }

  /** Stores (or replaces) a state; evicts the least recently used entries beyond capacity. */
  set(key: string, entity: string, value: CachedProjection): void {
    if (this.capacity === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, { entity, value });
    let keys = this.#byEntity.get(entity);
    if (keys === undefined) this.#byEntity.set(entity, (keys = new Set()));
    keys.add(key);
    while (this.#entries.size > this.capacity) {
      const [oldest, { entity: of }] = this.#entries.entries().next().value as [string, { entity: string }];
      this.#entries.delete(oldest);
      const keys = this.#byEntity.get(of);
      keys?.delete(oldest);
      if (keys?.size === 0) this.#byEntity.delete(of);
    }
  }

  /** Drops every cached state of one entity (all projections). */
  invalidateEntity(entity: string): void {
    for (const key of this.#byEntity.get(entity) ?? []) this.#entries.delete(key);
    this.#byEntity.delete(entity);
  }

  /** Drops every cached state. */
  clear(): void {
    this.#entries.clear();
    this.#byEntity.clear();
  }
}
