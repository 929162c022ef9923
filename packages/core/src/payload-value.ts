// What a typed payload may hold: the value model that survives msgpack exactly, checked and copied once at append.
// Invariant: a value this accepts comes back from `get` deep-equal (README § Payload values); anything else is ERR_INVALID_PAYLOAD.

import { BatpakError } from './errors.js';
import { isWellFormedString } from './encoding/utf16.js';

/** Deepest nesting of arrays and objects a typed payload may have (msgpackr recurses on both sides). */
export const PAYLOAD_MAX_DEPTH = 512;

const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

/** Where a value sits, rendered (`value.a[1].b`) only when something is refused: appends stay cheap. */
interface Path {
  readonly parent: Path | undefined;
  readonly key: string | number;
}
const ROOT: Path = { parent: undefined, key: 'value' };

function render(path: Path): string {
  const parts: string[] = [];
  for (let p: Path | undefined = path; p !== undefined; p = p.parent) parts.push(p.parent === undefined ? String(p.key) : typeof p.key === 'number' ? `[${p.key}]` : `.${p.key}`);
  return parts.reverse().join('');
}

function refuse(at: Path, reason: string, cause?: unknown): BatpakError {
  const path = render(at);
  return BatpakError.invalidPayload(`payload ${path} ${reason}`, { field: path }, cause);
}

function describe(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  const name = typeof proto === 'object' && proto !== null ? (proto as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a foreign prototype';
}

/**
 * Checks `value` against the payload value model and returns the copy that is encoded: getters and
 * Proxy traps run exactly once, here, so what is checked is what is stored.
 */
export function snapshotPayload(value: unknown): unknown {
  try {
    return copy(value, ROOT, 0, new Set());
  } catch (err) {
    if (err instanceof BatpakError) throw err;
    // A throwing getter or Proxy trap, or a stack overflow: still the caller's value, still typed.
    throw refuse(ROOT, `cannot be read: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

function copy(value: unknown, path: Path, depth: number, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
    case 'number':
      return value;
    case 'string':
      if (!isWellFormedString(value)) throw refuse(path, 'is a string with a lone UTF-16 surrogate (it would be stored as U+FFFD)');
      return value;
    case 'bigint':
      if (value < I64_MIN || value > U64_MAX) throw refuse(path, `is a bigint outside [-2^63, 2^64-1]`);
      return value;
    case 'function':
      throw refuse(path, 'is a function (functions are not data)');
    case 'symbol':
      throw refuse(path, 'is a symbol (symbols are not data)');
  }
  if (value === null) return null;
  const obj = value as object;
  const proto: unknown = Object.getPrototypeOf(obj);
  // A byte copy (a memcpy): a Proxy posing as a Uint8Array fails here, typed, instead of inside the encoder.
  if (proto === Uint8Array.prototype || proto === Buffer.prototype) return Uint8Array.prototype.slice.call(obj as Uint8Array);
  if (proto === Date.prototype) {
    if (Reflect.ownKeys(obj).length !== 0) throw refuse(path, 'is a Date with own properties (they would be dropped)');
    return new Date(Date.prototype.getTime.call(obj));
  }
  if (depth >= PAYLOAD_MAX_DEPTH) throw refuse(path, `is nested deeper than ${PAYLOAD_MAX_DEPTH} levels`);
  if (ancestors.has(obj)) throw refuse(path, 'refers back to an enclosing value (a cycle)');
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      if (proto !== Array.prototype) throw refuse(path, `is ${describe(obj)} (only plain arrays round-trip)`);
      return copyArray(obj as unknown[], path, depth, ancestors);
    }
    if (proto !== Object.prototype && proto !== null) {
      throw refuse(path, `is ${describe(obj)}: only plain objects, arrays, Uint8Array and Date round-trip (a Map, Set, class instance, typed array other than Uint8Array, Promise or WeakMap would come back changed)`);
    }
    return copyObject(obj, path, depth, ancestors);
  } finally {
    ancestors.delete(obj);
  }
}

function copyArray(arr: readonly unknown[], path: Path, depth: number, ancestors: Set<object>): unknown[] {
  const n = arr.length;
  // Named properties on an array are dropped by msgpack; a hole would come back as undefined.
  if (Object.getOwnPropertySymbols(arr).length !== 0 || Object.keys(arr).length !== n) {
    for (let i = 0; i < n; i++) if (!Object.hasOwn(arr, i)) throw refuse({ parent: path, key: i }, 'is a hole in a sparse array (it would come back as undefined)');
    throw refuse(path, 'is an array with named properties (they would be dropped)');
  }
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const item = arr[i];
    // Numbers and booleans are the bulk of large arrays: no path object for them.
    out[i] = typeof item === 'number' || typeof item === 'boolean' ? item : copy(item, { parent: path, key: i }, depth + 1, ancestors);
  }
  return out;
}

function copyObject(obj: object, path: Path, depth: number, ancestors: Set<object>): Record<string, unknown> {
  const keys = Object.keys(obj);
  // Own keys beyond the enumerable string ones are symbols or non-enumerable: msgpack would drop them.
  if (Reflect.ownKeys(obj).length !== keys.length) {
    if (Object.getOwnPropertySymbols(obj).length !== 0) throw refuse(path, 'has a symbol key (it would be dropped)');
    throw refuse(path, 'has a non-enumerable property (it would be dropped)');
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    // msgpackr decodes "__proto__" as "__proto_" (against prototype pollution), which collides with a real "__proto_".
    if (key === '__proto__') throw refuse({ parent: path, key }, 'is a "__proto__" key (it cannot be decoded safely)');
    if (!isWellFormedString(key)) throw refuse(path, 'has a key with a lone UTF-16 surrogate (it would be stored as U+FFFD)');
    const v = (obj as Record<string, unknown>)[key];
    out[key] = typeof v === 'number' || typeof v === 'boolean' ? v : copy(v, { parent: path, key }, depth + 1, ancestors);
  }
  return out;
}
