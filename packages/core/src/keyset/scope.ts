// Key scopes: which key a payload is sealed under, per granularity, with Rust batpak's scope bytes
// (FORMAT.md § Key scopes). A shred selector resolves to a scope only when it matches the granularity.

import { BatpakError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { checkKind, kindToRaw, type EventKind } from '../kind.js';
import type { Coordinate } from '../coordinate.js';
import { isWellFormedString } from '../encoding/utf16.js';
import type { AppendReceipt } from '../types.js';

/** How finely payload keys are scoped: one key per entity, category, event type, or event. */
export type KeyGranularity = 'entity' | 'category' | 'type' | 'event';

export const GRANULARITY_CODE: Readonly<Record<KeyGranularity, number>> = { entity: 1, category: 2, type: 3, event: 4 };
export const GRANULARITY_OF_CODE: Readonly<Record<number, KeyGranularity>> = { 1: 'entity', 2: 'category', 3: 'type', 4: 'event' };

const utf8 = new TextEncoder();

/** The scope bytes of an event: `01 ‖ entity`, `02 ‖ category`, `03 ‖ kind u16be`, `04 ‖ event id`. */
export function scopeOf(granularity: KeyGranularity, entity: string, kind: number, eventId: Uint8Array): Uint8Array {
  switch (granularity) {
    case 'entity': {
      const e = utf8.encode(entity);
      const out = new Uint8Array(1 + e.length);
      out[0] = 0x01;
      out.set(e, 1);
      return out;
    }
    case 'category':
      return new Uint8Array([0x02, kind >>> 12]);
    case 'type':
      return new Uint8Array([0x03, (kind >>> 8) & 0xff, kind & 0xff]);
    case 'event': {
      const out = new Uint8Array(17);
      out[0] = 0x04;
      out.set(eventId, 1);
      return out;
    }
  }
}

/** What `shredScope` accepts: an entity, a kind, or one event. */
export type ShredSelector =
  | { readonly entity: Coordinate | string }
  | { readonly kind: EventKind }
  | { readonly eventId: string };

/** What `shredScope` did (the result of a shred is API: a typo must not look like success). */
export interface ShredResult {
  /**
   * 'destroyed': live keys of the scope were destroyed now; 'already-shredded': the scope had a key but
   * none is live (shredded before, or its key was lost); 'never-keyed': nothing was ever sealed under it.
   */
  readonly status: 'destroyed' | 'already-shredded' | 'never-keyed';
  /** Key generations destroyed by this call (0 unless 'destroyed'). */
  readonly destroyed: number;
  /** The key scope's bytes in hex (FORMAT.md § key scopes), as the shred event records it. */
  readonly scope: string;
  readonly granularity: KeyGranularity;
  /**
   * User events of this scope stored in plaintext (written before payload encryption was enabled): a shred
   * cannot erase them. Non-zero means the erasure is incomplete whatever `status` says.
   */
  readonly plaintextEvents: number;
  /** The receipt of the system event that records the shred ('destroyed' only). */
  readonly receipt?: AppendReceipt;
}

/** Resolves a selector to its scope bytes, or ERR_SHRED_SELECTOR_MISMATCH (nothing is shredded). */
export function scopeOfSelector(granularity: KeyGranularity, selector: unknown): Uint8Array {
  if (typeof selector !== 'object' || selector === null) {
    throw new BatpakError('ERR_INVALID_ARGUMENT', 'shred selector must be { entity }, { kind } or { eventId }');
  }
  const s = selector as { entity?: unknown; kind?: unknown; eventId?: unknown };
  const keys = ['entity', 'kind', 'eventId'].filter((k) => (s as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) throw new BatpakError('ERR_INVALID_ARGUMENT', 'shred selector must name exactly one of entity, kind, eventId');
  const mismatch = (what: string) =>
    new BatpakError('ERR_SHRED_SELECTOR_MISMATCH', `a ${what} selector does not match key granularity '${granularity}'`, {
      details: { granularity, selector: what },
    });
  if (s.entity !== undefined) {
    if (granularity !== 'entity') throw mismatch('entity');
    // A Coordinate is read by its fields (an instance may be forged), a string is the entity itself.
    const entity = typeof s.entity === 'object' && s.entity !== null ? (s.entity as { entity?: unknown }).entity : s.entity;
    if (typeof entity !== 'string' || entity.length === 0) throw new BatpakError('ERR_INVALID_ARGUMENT', 'selector entity must be a Coordinate or a non-empty string');
    // 'a\uD800' would be encoded as 'a\uFFFD' and destroy that entity's key instead.
    if (!isWellFormedString(entity)) {
      throw new BatpakError('ERR_INVALID_COORDINATE', 'invalid coordinate: selector entity contains a lone UTF-16 surrogate', { details: { field: 'entity' } });
    }
    return scopeOf('entity', entity, 0, new Uint8Array(16));
  }
  if (s.kind !== undefined) {
    if (granularity !== 'category' && granularity !== 'type') throw mismatch('kind');
    const kind = checkKind(s.kind, { user: true });
    return scopeOf(granularity, '', kindToRaw(kind), new Uint8Array(16));
  }
  if (granularity !== 'event') throw mismatch('eventId');
  if (typeof s.eventId !== 'string' || !/^[0-9a-f]{32}$/.test(s.eventId)) {
    throw new BatpakError('ERR_INVALID_ARGUMENT', 'selector eventId must be 32 lowercase hex characters');
  }
  return scopeOf('event', '', 0, fromHex(s.eventId));
}
