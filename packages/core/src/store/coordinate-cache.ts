// The Coordinate of each (entity, scope) a reader serves, made once: a Coordinate checks its strings when it is
// built, and a scan over more entities than Coordinate's own memory of checked pairs would check them per event.
// Invariant: a Coordinate is frozen, so one instance may stand in every event of its coordinate; bounded (emptied when full).

import { Coordinate } from '../coordinate.js';

/** Coordinates kept at most (a few MB of strings at worst). */
const MAX_COORDINATES = 65536;

export class CoordinateCache {
  /** By scope, then entity: two lookups, no key string built per event. */
  #byScope = new Map<string, Map<string, Coordinate>>();
  #count = 0;

  /** The Coordinate of (entity, scope); throws ERR_INVALID_COORDINATE for an invalid pair, as its constructor does. */
  get(entity: string, scope: string): Coordinate {
    let byEntity = this.#byScope.get(scope);
    const known = byEntity?.get(entity);
    if (known !== undefined) return known;
    const c = new Coordinate(entity, scope);
    if (this.#count >= MAX_COORDINATES) {
      this.#byScope = new Map();
      this.#count = 0;
      byEntity = undefined;
    }
    if (byEntity === undefined) this.#byScope.set(scope, (byEntity = new Map()));
    byEntity.set(entity, c);
    this.#count++;
    return c;
  }
}
