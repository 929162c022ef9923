// Effect classes: the coarse intent of an operation, which bounds what its effect row may declare.
// Invariant: the five spellings are catalog strings shared with Rust syncbat; they never change.

/** `inspect` reads, `compute` is pure, `persist` appends, `emit` emits its receipt kind, `control` uses host controls. */
export type EffectClass = 'inspect' | 'compute' | 'persist' | 'emit' | 'control';

export const EFFECT_CLASSES: readonly EffectClass[] = Object.freeze(['inspect', 'compute', 'persist', 'emit', 'control']);

export function isEffectClass(value: unknown): value is EffectClass {
  return typeof value === 'string' && (EFFECT_CLASSES as readonly string[]).includes(value);
}
