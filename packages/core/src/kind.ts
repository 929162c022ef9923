// EventKind: a u16 packing category (high 4 bits) and typeId (low 12 bits), as in Rust batpak.
// Categories 0x0 (system) and 0xD (effect) are reserved for the store: user append paths reject them.

import { BatpakError } from './errors.js';

export interface EventKind {
  readonly category: number;
  readonly typeId: number;
}

export const SYSTEM_CATEGORY = 0x0;
export const EFFECT_CATEGORY = 0xd;

/** Reserved system kinds the store itself writes (raw u16 values). */
export const SystemKinds = Object.freeze({
  /** Records a `shredScope`: which key scope was destroyed (never the key). */
  SHRED: 0x0010,
  /** A compaction commit record (which events a retention/tombstone pass removed). */
  COMPACTION: 0x0011,
  /** A signing-policy declaration by the key holder (`declareSigningPolicy`): may unsigned appends follow? */
  SIGNING_POLICY: 0x0012,
  /** A reaction's cursor advance (`store.react`), committed in the same group as the reaction's appends. */
  REACTION_CURSOR: 0x0013,
  TOMBSTONE: 0x0ffe,
});

export function kindToRaw(kind: EventKind): number {
  return ((kind.category & 0xf) << 12) | (kind.typeId & 0xfff);
}

export function kindFromRaw(raw: number): EventKind {
  return Object.freeze({ category: (raw >>> 12) & 0xf, typeId: raw & 0xfff });
}

export function isReservedCategory(category: number): boolean {
  return category === SYSTEM_CATEGORY || category === EFFECT_CATEGORY;
}

/** The category (high 4 bits) of a raw u16 kind. */
export function categoryOfRaw(raw: number): number {
  return (raw >>> 12) & 0xf;
}

/** Whether a raw kind is one of the store's own system events (category 0x0: shred, compaction, signing policy). */
export function isSystemKind(raw: number): boolean {
  return categoryOfRaw(raw) === SYSTEM_CATEGORY;
}

/** Whether a raw kind is in a category the store reserves (system or effect): never a user's event. */
export function isReservedKind(raw: number): boolean {
  return isReservedCategory(categoryOfRaw(raw));
}

/** `0xF001` style display of a kind. */
export function formatKind(kind: EventKind): string {
  return `0x${kindToRaw(kind).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Validates shape and ranges; with `user`, also rejects the reserved categories. Returns a frozen copy. */
export function checkKind(kind: unknown, options: { user: boolean; index?: number }): EventKind {
  if (typeof kind !== 'object' || kind === null) {
    throw BatpakError.invalidKind('kind must be an object { category, typeId }', options.index);
  }
  const { category, typeId } = kind as { category?: unknown; typeId?: unknown };
  if (!Number.isInteger(category) || (category as number) < 0 || (category as number) > 0xf) {
    throw BatpakError.invalidKind(`kind category must be an integer 0..15, got ${String(category)}`, options.index);
  }
  if (!Number.isInteger(typeId) || (typeId as number) < 0 || (typeId as number) > 0xfff) {
    throw BatpakError.invalidKind(`kind typeId must be an integer 0..4095, got ${String(typeId)}`, options.index);
  }
  if (options.user && isReservedCategory(category as number)) {
    throw BatpakError.invalidKind(
      `kind category 0x${(category as number).toString(16)} is reserved for the store (0x0 system, 0xD effect)`,
      options.index,
    );
  }
  return Object.freeze({ category: category as number, typeId: typeId as number });
}
