// SchemaRegistry: resolves a schema ref for a role and checks bytes against it (the v1 runtime schema contract).
// Invariant: validation passes only when exactly one descriptor matches (ref, role), it re-verifies, and the bytes hold one msgpack value.

import { HostError } from './errors.js';
import { msgpackValueProblem } from './msgpack-value.js';
import { quote } from './quote.js';
import type { SchemaDescriptor, SchemaRole } from './schema.js';

function refused(schema: string, role: SchemaRole, detail: string): HostError {
  return new HostError({ kind: 'schema_validation', schema, role, detail });
}

/**
 * Built by the host from the composition. The payload check is structural and schema-independent — any single
 * MessagePack value passes (trailing bytes too), exactly like Rust: it proves well-formedness, not shape.
 */
export class SchemaRegistry {
  readonly #byRef = new Map<string, SchemaDescriptor[]>();
  // Descriptors are deeply immutable, so their own checks (encoding, golden vectors) need to pass only once.
  readonly #sound = new WeakSet<SchemaDescriptor>();

  constructor(descriptors: Iterable<SchemaDescriptor>) {
    for (const d of descriptors) {
      const key = `${d.role}\u0000${d.id}`;
      const list = this.#byRef.get(key) ?? [];
      list.push(d);
      this.#byRef.set(key, list);
    }
    for (const list of this.#byRef.values()) list.sort((a, b) => a.version - b.version);
  }

  /** The one descriptor for (ref, role); throws HostError `ERR_SCHEMA_VALIDATION` when absent or ambiguous. */
  resolve(schemaRef: string, role: SchemaRole): SchemaDescriptor {
    const list = this.#byRef.get(`${role}\u0000${schemaRef}`);
    if (list === undefined || list.length === 0) throw refused(schemaRef, role, 'required descriptor is not present');
    if (list.length !== 1) {
      throw refused(schemaRef, role, `schema ref is ambiguous across versions [${list.map((d) => d.version).join(', ')}]`);
    }
    return list[0]!;
  }

  /** Throws HostError `ERR_SCHEMA_VALIDATION` (detail says which check failed) unless `bytes` pass for (ref, role). */
  validate(schemaRef: string, role: SchemaRole, bytes: Uint8Array): void {
    const d = this.resolve(schemaRef, role);
    if (!this.#sound.has(d)) {
      if (!d.verifyEncoding()) throw refused(schemaRef, role, 'descriptor encoding no longer matches its declared shape');
      for (const g of d.golden) {
        const problem = msgpackValueProblem(g.bytes);
        if (problem !== undefined) throw refused(schemaRef, role, `golden vector ${quote(g.case)} is not canonical bytes: ${problem}`);
      }
      this.#sound.add(d);
    }
    const problem = msgpackValueProblem(bytes);
    if (problem !== undefined) throw refused(schemaRef, role, `payload is not canonical bytes: ${problem}`);
  }
}
