// EffectRow: the six sorted, de-duplicated target lists an operation declares or a Ctx observes (README § Effect classes).
// Invariant: observed ⊆ declared is checked list by list in a fixed order; the first miss is the violation.

import type { EventKind } from '@batpak/core';
import { refViolation, type DescriptorValidationError } from './descriptor-error.js';
import { rustDebugString } from './rust-debug.js';

/** The five effect-axis capability tokens. They are enforced by observed ⊆ declared, never by grants. */
export const AMBIENT_CAPABILITIES: readonly string[] = Object.freeze([
  'event.read',
  'event.append',
  'projection.query',
  'receipt.emit',
  'host.control',
]);

export function isAmbientCapability(token: string): boolean {
  return AMBIENT_CAPABILITIES.includes(token);
}

/** Row lists in encoding and checking order, with their Rust (message) spelling. */
export const EFFECT_ROW_LISTS = Object.freeze([
  ['readsEvents', 'reads_events'],
  ['appendsEvents', 'appends_events'],
  ['queriesProjections', 'queries_projections'],
  ['emitsReceipts', 'emits_receipts'],
  ['usesHostControls', 'uses_host_controls'],
  ['requiresCapabilities', 'requires_capabilities'],
] as const);

export type EffectRowList = (typeof EFFECT_ROW_LISTS)[number][0];

export type EffectRowInit = { readonly [K in EffectRowList]?: readonly string[] };

/** A target the observed row holds but the declared row does not authorize. */
export interface EffectViolation {
  readonly code: 'effect.violation';
  /** Rust list spelling, e.g. `appends_events`. */
  readonly list: (typeof EFFECT_ROW_LISTS)[number][1];
  readonly target: string;
  /** `observed undeclared {list} target "{target}"` — identical to Rust. */
  readonly message: string;
}

const appendTargets = new Map<number, string>();

/**
 * The target the runtime records for an append of `kind`: `evt.` + 4 lowercase hex digits of the raw u16
 * (category 0xF, type 1 → `evt.f001`). Declare exactly this string to authorize that append.
 */
export function appendTarget(kind: EventKind | number): string {
  const raw = typeof kind === 'number' ? kind : ((kind.category & 0xf) << 12) | (kind.typeId & 0xfff);
  // Spelled once per u16 (every append names its target): at most 65,536 short strings, so never evicted.
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xffff) return spellTarget(raw);
  let target = appendTargets.get(raw);
  if (target === undefined) appendTargets.set(raw, (target = spellTarget(raw)));
  return target;
}

function spellTarget(raw: number): string {
  return `evt.${raw.toString(16).padStart(4, '0')}`;
}

/** The first entry of `items` not in `allowed`, by plain loops (no replaceable Array.prototype method decides it). */
function firstMissing(items: readonly string[], allowed: readonly string[]): string | undefined {
  outer: for (let i = 0; i < items.length; i++) {
    const t = items[i]!;
    for (let j = 0; j < allowed.length; j++) if (allowed[j] === t) continue outer;
    return t;
  }
  return undefined;
}

const utf8 = new TextEncoder();

/** Rust `String` order: byte-wise UTF-8, which differs from UTF-16 order above U+FFFF. */
function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  // Below the surrogates, UTF-16 code unit order is code point order, which is UTF-8 byte order: decide on the
  // first differing unit without encoding, unless a surrogate is involved.
  const m = Math.min(a.length, b.length);
  let i = 0;
  while (i < m && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === m) return a.length - b.length;
  const ca = a.charCodeAt(i);
  const cb = b.charCodeAt(i);
  if (ca < 0xd800 && cb < 0xd800) return ca - cb;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function insertSorted(list: readonly string[], target: string): readonly string[] {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(list[mid]!, target);
    if (c === 0) return list;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return Object.freeze([...list.slice(0, lo), target, ...list.slice(lo)]);
}

const EMPTY: readonly string[] = Object.freeze([]);

/** The empty row plus one effect, per list and target: bounded, as targets may come from outside. */
const firstEffectRows: { readonly [K in EffectRowList]: Map<string, EffectRow> } = {
  readsEvents: new Map(),
  appendsEvents: new Map(),
  queriesProjections: new Map(),
  emitsReceipts: new Map(),
  usesHostControls: new Map(),
  requiresCapabilities: new Map(),
};
const MAX_FIRST_EFFECT_ROWS = 1024;

/**
 * Immutable: every builder returns a new row. Builders keep lists sorted and unique and add the axis's
 * ambient capability token (`readsEvent` adds `event.read`, …), exactly like the Rust builders.
 */
export class EffectRow {
  readonly readsEvents: readonly string[];
  readonly appendsEvents: readonly string[];
  readonly queriesProjections: readonly string[];
  readonly emitsReceipts: readonly string[];
  readonly usesHostControls: readonly string[];
  readonly requiresCapabilities: readonly string[];

  private constructor(lists: { readonly [K in EffectRowList]: readonly string[] }) {
    this.readsEvents = lists.readsEvents;
    this.appendsEvents = lists.appendsEvents;
    this.queriesProjections = lists.queriesProjections;
    this.emitsReceipts = lists.emitsReceipts;
    this.usesHostControls = lists.usesHostControls;
    this.requiresCapabilities = lists.requiresCapabilities;
    Object.freeze(this);
  }

  static readonly EMPTY = new EffectRow({
    readsEvents: EMPTY,
    appendsEvents: EMPTY,
    queriesProjections: EMPTY,
    emitsReceipts: EMPTY,
    usesHostControls: EMPTY,
    requiresCapabilities: EMPTY,
  });

  static empty(): EffectRow {
    return EffectRow.EMPTY;
  }

  /**
   * A row from plain lists, taken as given (order and duplicates kept, no ambient tokens added): the shape
   * of a row decoded from elsewhere. The subset check uses membership, so order never matters to it.
   */
  static fromLists(init: EffectRowInit): EffectRow {
    const take = (l: readonly string[] | undefined) => (l === undefined || l.length === 0 ? EMPTY : Object.freeze([...l]));
    return new EffectRow({
      readsEvents: take(init.readsEvents),
      appendsEvents: take(init.appendsEvents),
      queriesProjections: take(init.queriesProjections),
      emitsReceipts: take(init.emitsReceipts),
      usesHostControls: take(init.usesHostControls),
      requiresCapabilities: take(init.requiresCapabilities),
    });
  }

  #with(list: EffectRowList, target: string, ambient: string | undefined): EffectRow {
    if (typeof target !== 'string') throw new TypeError(`effect target must be a string, got ${typeof target}`);
    // A dispatch's first effect builds on the empty row: rows are immutable, so that one-effect row is shared.
    if (this === EffectRow.EMPTY) {
      const rows = firstEffectRows[list];
      let row = rows.get(target);
      if (row === undefined) {
        if (rows.size >= MAX_FIRST_EFFECT_ROWS) rows.clear();
        rows.set(target, (row = this.#build(list, target, ambient)));
      }
      return row;
    }
    return this.#build(list, target, ambient);
  }

  #build(list: EffectRowList, target: string, ambient: string | undefined): EffectRow {
    const next = { ...this.#lists(), [list]: insertSorted(this[list], target) };
    if (ambient !== undefined) next.requiresCapabilities = insertSorted(next.requiresCapabilities, ambient);
    return new EffectRow(next);
  }

  #lists(): { [K in EffectRowList]: readonly string[] } {
    return {
      readsEvents: this.readsEvents,
      appendsEvents: this.appendsEvents,
      queriesProjections: this.queriesProjections,
      emitsReceipts: this.emitsReceipts,
      usesHostControls: this.usesHostControls,
      requiresCapabilities: this.requiresCapabilities,
    };
  }

  readsEvent(category: string): EffectRow {
    return this.#with('readsEvents', category, 'event.read');
  }

  /** Pass an EventKind to declare its canonical {@link appendTarget}; a string is taken as the target. */
  appendsEvent(target: string | EventKind): EffectRow {
    return this.#with('appendsEvents', typeof target === 'string' ? target : appendTarget(target), 'event.append');
  }

  queriesProjection(id: string): EffectRow {
    return this.#with('queriesProjections', id, 'projection.query');
  }

  emitsReceipt(kind: string): EffectRow {
    return this.#with('emitsReceipts', kind, 'receipt.emit');
  }

  usesHostControl(id: string): EffectRow {
    return this.#with('usesHostControls', id, 'host.control');
  }

  requiresCapability(token: string): EffectRow {
    return this.#with('requiresCapabilities', token, undefined);
  }

  isEmpty(): boolean {
    return (
      this.readsEvents.length === 0 &&
      this.appendsEvents.length === 0 &&
      this.queriesProjections.length === 0 &&
      this.emitsReceipts.length === 0 &&
      this.usesHostControls.length === 0 &&
      this.requiresCapabilities.length === 0
    );
  }

  /** Same lists with the same entries in the same order (an empty row equals "no row"). */
  equals(other: EffectRow): boolean {
    return EFFECT_ROW_LISTS.every(([list]) => {
      const a = this[list];
      const b = other[list];
      return a.length === b.length && a.every((x, i) => x === b[i]);
    });
  }

  /**
   * The first entry of this (observed) row that `declared` does not hold, walking the lists in order and
   * each list in its own order. Membership is linear, so an unsorted declared row still checks correctly.
   */
  firstViolationAgainst(declared: EffectRow): EffectViolation | undefined {
    // Nothing observed (a read, a heartbeat) cannot violate anything: no walk over the six lists.
    if (this.isEmpty()) return undefined;
    // An index loop: this runs per dispatch, and a for-of with destructuring costs an iterator per list.
    for (let l = 0; l < EFFECT_ROW_LISTS.length; l++) {
      const [list, spelling] = EFFECT_ROW_LISTS[l]!;
      const miss = firstMissing(this[list], declared[list]);
      if (miss !== undefined) {
        return Object.freeze({
          code: 'effect.violation',
          list: spelling,
          target: miss,
          message: `observed undeclared ${spelling} target ${rustDebugString(miss)}`,
        });
      }
    }
    return undefined;
  }

  /** Every entry of every list against the target grammar; the error's field is the Rust list name. */
  findTargetViolation(): DescriptorValidationError | undefined {
    for (const [list, spelling] of EFFECT_ROW_LISTS) {
      for (const target of this[list]) {
        const err = refViolation(spelling, target);
        if (err !== undefined) return err;
      }
    }
    return undefined;
  }

  toJSON(): { [K in EffectRowList]: readonly string[] } {
    return this.#lists();
  }
}
