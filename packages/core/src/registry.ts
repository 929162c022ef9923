// EventRegistry: the set of event definitions a program uses, checked for wiring bugs up front.
// INV-REGISTRY-FAIL-FAST (two definitions claiming one kind) and INV-UPCAST-COMPLETE (every hop 1..N).

import { BatpakError } from './errors.js';
import { missingUpcasters, type EventDefinition } from './event.js';
import { formatKind, kindToRaw } from './kind.js';

export interface RegistryProblem {
  readonly code: 'ERR_KIND_COLLISION' | 'ERR_UPCAST_CHAIN_INCOMPLETE';
  readonly message: string;
}

export class EventRegistry {
  readonly #definitions: readonly EventDefinition<unknown>[];
  readonly #byKind = new Map<number, EventDefinition<unknown>>();
  readonly #byName = new Map<string, EventDefinition<unknown>>();

  constructor(definitions: Iterable<EventDefinition<unknown>> = []) {
    this.#definitions = Object.freeze([...definitions]);
    for (const def of this.#definitions) {
      const raw = kindToRaw(def.kind);
      if (!this.#byKind.has(raw)) this.#byKind.set(raw, def);
      if (!this.#byName.has(def.name)) this.#byName.set(def.name, def);
    }
  }

  /** Every definition given to the constructor, in order. */
  get definitions(): readonly EventDefinition<unknown>[] {
    return this.#definitions;
  }

  /** The (first) definition registered for a raw kind. */
  lookup(rawKind: number): EventDefinition<unknown> | undefined {
    return this.#byKind.get(rawKind);
  }

  /** The (first) definition registered under `name` (its `name` from defineEvent). */
  byName(name: string): EventDefinition<unknown> | undefined {
    return this.#byName.get(name);
  }

  /** True when `def` (or one identical in kind and version) is registered. */
  has(def: EventDefinition<unknown>): boolean {
    const found = this.#byKind.get(kindToRaw(def.kind));
    return found !== undefined && (found === def || found.version === def.version);
  }

  /** Every wiring problem: kind collisions first, then incomplete upcast chains. */
  problems(): RegistryProblem[] {
    const out: RegistryProblem[] = [];
    const seen = new Map<number, EventDefinition<unknown>>();
    for (const def of this.#definitions) {
      const raw = kindToRaw(def.kind);
      const prior = seen.get(raw);
      if (prior === undefined) seen.set(raw, def);
      else if (prior !== def) {
        out.push({
          code: 'ERR_KIND_COLLISION',
          message: `kind ${formatKind(def.kind)} is claimed by both ${prior.name} and ${def.name}`,
        });
      }
    }
    // Names are lookup keys (byName): two kinds under one name would make a lookup ambiguous.
    const named = new Map<string, EventDefinition<unknown>>();
    for (const def of this.#definitions) {
      const prior = named.get(def.name);
      if (prior === undefined) named.set(def.name, def);
      else if (prior !== def && kindToRaw(prior.kind) !== kindToRaw(def.kind)) {
        out.push({ code: 'ERR_KIND_COLLISION', message: `name ${def.name} is used by both ${formatKind(prior.kind)} and ${formatKind(def.kind)}` });
      }
    }
    for (const def of this.#definitions) {
      const missing = missingUpcasters(def);
      if (missing.length > 0) {
        out.push({
          code: 'ERR_UPCAST_CHAIN_INCOMPLETE',
          message: `${def.name} is at version ${def.version} but has no upcaster from version ${missing.join(', ')}`,
        });
      }
    }
    return out;
  }

  /** Throws the first problem as a BatpakError (ERR_KIND_COLLISION or ERR_UPCAST_CHAIN_INCOMPLETE). */
  verify(): void {
    const [first, ...rest] = this.problems();
    if (first === undefined) return;
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
    throw new BatpakError(first.code, first.message + more, { details: { problems: [first, ...rest] } });
  }
}
