// The handler a host registers for each operation: input schema → inner handler → output schema.
// Invariant: input that fails its operation-input schema never reaches the handler; output that fails its schema is never returned.

import { HandlerError, type Handler, type OperationDescriptor } from '@batpak/syncbat';
import { messageOf } from './errors.js';
import type { SchemaRegistry } from './schema-registry.js';

/**
 * Input failure → HandlerError `invalid_input` (`operation {op} input schema validation failed: …`), handler not run.
 * Output failure → `failed` (`… output schema validation failed: …`); effects the handler performed stay performed.
 */
export function schemaValidatingHandler(descriptor: OperationDescriptor, registry: SchemaRegistry, inner: Handler): Handler {
  const op = descriptor.name;
  return async (input, ctx) => {
    try {
      registry.validate(descriptor.inputSchemaRef, 'operation-input', input);
    } catch (err) {
      throw HandlerError.invalidInput(`operation ${op} input schema validation failed: ${messageOf(err)}`, { cause: err });
    }
    const output: unknown = await inner(input, ctx);
    // Not bytes: hand it back untouched so the Core reports it the way it reports any handler (one message, one place).
    if (!(output instanceof Uint8Array)) return output as Uint8Array;
    try {
      registry.validate(descriptor.outputSchemaRef, 'operation-output', output);
    } catch (err) {
      throw HandlerError.failed(`operation ${op} output schema validation failed: ${messageOf(err)}`, { cause: err });
    }
    return output;
  };
}
