// Invocation effects in the receipt: what the Ctx performed and what it refused, under the signed drawer key `syncbat.effects`.
// Invariant: written by the Core from the Ctx's own record (handlers cannot write `syncbat.*`), so a receipt shows what an invocation did.

import { carray, cstr, cstruct, decodeCanonical, encodeCanonical, type CanonicalValue } from '@batpak/core';
import { EFFECT_ROW_LISTS, EffectRow, type EffectRowInit } from '../effect-row.js';
import { malformed } from './drawer.js';
import { structFields } from './envelope.js';

/** Signed-drawer key of the effects record. Present whenever the invocation performed or was refused anything. */
export const SYNCBAT_EFFECTS_KEY = 'syncbat.effects';

/** The five effect lists (capability tokens are declarations, not effects, so they are left out). */
const EFFECT_LISTS = EFFECT_ROW_LISTS.filter(([list]) => list !== 'requiresCapabilities');

export interface InvocationEffects {
  /** Effects the backend performed, in row order (e.g. `appendsEvents: ['evt.f001']`). */
  readonly performed: EffectRow;
  /** Undeclared effects the Ctx refused before the backend saw them. */
  readonly refused: EffectRow;
}

function rowValue(row: EffectRow): CanonicalValue {
  return cstruct(EFFECT_LISTS.map(([list, spelling]) => [spelling, carray(row[list].map(cstr))]));
}

/** `{ performed: {reads_events, appends_events, queries_projections, emits_receipts, uses_host_controls}, refused: {…} }`. */
export function encodeInvocationEffects(effects: InvocationEffects): Uint8Array {
  return encodeCanonical(cstruct([['performed', rowValue(effects.performed)], ['refused', rowValue(effects.refused)]]));
}

function rowFrom(value: CanonicalValue | undefined, what: string): EffectRow {
  if (value === undefined) throw malformed(`${what} is missing`);
  const fields = structFields(value, what);
  const init: { -readonly [K in keyof EffectRowInit]: string[] } = {};
  for (const [list, spelling] of EFFECT_LISTS) {
    const v = fields.get(spelling);
    if (v === undefined || v.t !== 'array') throw malformed(`${what}.${spelling} is not an array`);
    init[list] = v.items.map((item) => {
      if (item.t !== 'str') throw malformed(`${what}.${spelling} holds a non-string target`);
      return item.v;
    });
  }
  return EffectRow.fromLists(init);
}

/** Parses a `syncbat.effects` value. Throws BatpakError `ERR_INVALID_PAYLOAD` on anything else. */
export function decodeInvocationEffects(bytes: Uint8Array): InvocationEffects {
  let value: CanonicalValue;
  try {
    value = decodeCanonical(bytes);
  } catch (err) {
    throw malformed(`syncbat.effects is not canonical msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const f = structFields(value, 'syncbat.effects');
  return { performed: rowFrom(f.get('performed'), 'performed'), refused: rowFrom(f.get('refused'), 'refused') };
}
