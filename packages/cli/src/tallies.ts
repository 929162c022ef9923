// The entity and kind tallies `batpak inspect` reports, for native and Rust directories alike:
// the same ordering (most events first, then by name; kinds by raw value) and the same text.

import { formatKind } from '@batpak/core';

export interface EntityTally {
  readonly entity: string;
  readonly events: number;
}

export interface KindTally {
  readonly kind: string;
  readonly category: number;
  readonly typeId: number;
  readonly events: number;
}

/** The five entities with the most events (ties by name). */
export function topEntities(counts: ReadonlyMap<string, number>): EntityTally[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([entity, events]) => ({ entity, events }));
}

/** Every kind seen, by raw value. */
export function kindTallies(counts: ReadonlyMap<number, number>): KindTally[] {
  return [...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([raw, events]) => {
      const kind = { category: raw >>> 12, typeId: raw & 0xfff };
      return { kind: formatKind(kind), ...kind, events };
    });
}

/** `kinds` as one human line: `name ×n, …`, or `-` when there are none. */
export function kindsLine(kinds: readonly KindTally[]): string {
  const line = kinds.map((k) => `${k.kind} ×${k.events}`).join(', ');
  return line === '' ? '-' : line;
}

/** `entities` as one human line: the count, then the busiest ones. */
export function entitiesLine(entities: number, top: readonly EntityTally[]): string {
  return `${entities}${top.length > 0 ? ` (most events: ${top.map((e) => `${e.entity} ×${e.events}`).join(', ')})` : ''}`;
}
