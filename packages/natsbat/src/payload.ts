// Decoding an exported payload on the far side: msgpack bytes → value, upcast and validated with an EventRegistry's definitions, as the store's reads do.
// Invariant: the stored bytes are never changed; an upcast or validation failure is core's BatpakError with core's code.
//
// @batpak/core does not export its payload decoder or its upcast step (only EventRegistry and the
// definitions' `upcasters` / `validate`), so this module decodes with core's exported msgpack reader
// (`decodeCanonical`, lenient) and repeats the upcast rule of an EventDefinition. Two differences from
// the store's reads follow from that reader and are documented in README.md § Consumer groups: an
// integer comes back as a number when it is a safe integer (the store gives a bigint for any integer
// written as a 64-bit one, i.e. written from a bigint), and msgpack extension types (a Date) are refused.
// A `decode` option replaces the reader when exact parity matters.

import { BatpakError, decodeCanonical, type CanonicalValue, type EventDefinition, type EventKind, type EventRegistry } from '@batpak/core';
import type { ExportedEvent } from './message.js';

/** Turns a payload's stored (plaintext, non-raw) bytes into a value, before upcasting. */
export type PayloadDecoder = (bytes: Uint8Array, event: ExportedEvent) => unknown;

function toValue(v: CanonicalValue): unknown {
  switch (v.t) {
    case 'nil':
      return null;
    case 'bool':
    case 'str':
    case 'int':
    case 'float':
      return v.v;
    case 'bin':
    case 'byteArray':
      return new Uint8Array(v.v);
    case 'array':
      return v.items.map(toValue);
    case 'map': {
      // Maps become plain objects with string keys (as the store's reader makes them); defined, not
      // assigned, so a `__proto__` key stays a key.
      const out: Record<string, unknown> = {};
      for (const [k, val] of v.entries) {
        const key = k.t === 'str' || k.t === 'int' || k.t === 'float' || k.t === 'bool' ? String(k.v) : k.t === 'nil' ? 'null' : JSON.stringify(toValue(k));
        Object.defineProperty(out, key, { value: toValue(val), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** The default reader: core's msgpack decoder, accepting any valid (not only canonical) encoding. */
export const defaultPayloadDecoder: PayloadDecoder = (bytes, event) => {
  try {
    return toValue(decodeCanonical(bytes, { allowNonCanonical: true }));
  } catch (err) {
    const id = event.receipt.eventId;
    throw new BatpakError('ERR_INVALID_PAYLOAD', `payload of event ${id} is not msgpack this reader can decode`, { cause: err, details: { eventId: id } });
  }
};

function definitionFor(registry: EventRegistry | undefined, kind: EventKind): EventDefinition<unknown> | undefined {
  // The first definition of a kind wins, as in EventRegistry.lookup.
  return registry?.definitions.find((d) => d.kind.category === kind.category && d.kind.typeId === kind.typeId);
}

/** Lifts a value stored at `stored` to the definition's version (0 = app-managed, returned as is). */
function upcast(def: EventDefinition<unknown>, stored: number, value: unknown, eventId: string): unknown {
  if (stored === 0 || stored === def.version) return value;
  if (stored > def.version) {
    throw new BatpakError('ERR_FUTURE_PAYLOAD_VERSION', `event ${eventId} has payload version ${stored}, newer than ${def.name} version ${def.version}`, {
      details: { eventId, storedVersion: stored, currentVersion: def.version },
    });
  }
  let out = value;
  for (let v = stored; v < def.version; v++) {
    const step = def.upcasters[v];
    if (step === undefined) throw new BatpakError('ERR_UPCAST_CHAIN_INCOMPLETE', `${def.name} has no upcaster from version ${v}`, { details: { eventId, fromVersion: v } });
    out = step(out);
  }
  return out;
}

/**
 * The payload a consumer sees: undefined for a tombstone or an encrypted payload (its key never leaves
 * the primary), the bytes for a raw event, otherwise the decoded value upcast to its registered
 * definition's version and checked with its `validate` (an unregistered kind is returned as decoded).
 */
export function decodeExportedPayload(event: ExportedEvent, registry: EventRegistry | undefined, decode: PayloadDecoder = defaultPayloadDecoder): unknown {
  if (event.tombstone || event.encrypted) return undefined;
  if (event.raw) return event.payload;
  const id = event.receipt.eventId;
  const value = decode(event.payload, event);
  const def = definitionFor(registry, event.receipt.kind);
  if (def === undefined) return value;
  const lifted = upcast(def, event.payloadVersion, value, id);
  if (def.validate !== undefined && !def.validate(lifted)) {
    throw new BatpakError('ERR_INVALID_PAYLOAD', `payload of event ${id} does not satisfy ${def.name}.validate`, { details: { eventId: id } });
  }
  return lifted;
}
