// Standard Schema v1 (https://standardschema.dev): the `~standard` interface zod, valibot, arktype and
// others implement, written out here so core depends on none of them. Invariant: a payload that a
// definition's schema rejects is never written (and, with validateOnRead, never returned): ERR_INVALID_PAYLOAD.

import { BatpakError } from './errors.js';

/** A validator that implements Standard Schema v1: anything with a `~standard` property of this shape. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1Props<Input, Output>;
}

export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (value: unknown) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  /** Carries the types only (never read at run time). */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

export type StandardSchemaV1Result<Output> = { readonly value: Output; readonly issues?: undefined } | { readonly issues: readonly StandardSchemaV1Issue[] };

export interface StandardSchemaV1Issue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** The type a schema produces (what a typed event's payload is). */
export type InferSchemaOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** One issue as ERR_INVALID_PAYLOAD reports it: a message and a dotted path (`items.0.amount`). */
export interface PayloadIssue {
  readonly message: string;
  readonly path: string;
}

/** True for anything shaped like a Standard Schema v1 validator. */
export function isStandardSchema(x: unknown): x is StandardSchemaV1 {
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return false;
  const props = (x as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}

function pathOf(issue: StandardSchemaV1Issue): string {
  return (issue.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p)).join('.');
}

/**
 * Runs `schema` on `value` and returns the schema's output. Throws ERR_INVALID_PAYLOAD with
 * `details.issues` when it fails, and when it answers asynchronously (the append path is synchronous).
 */
export function runSchema(schema: StandardSchemaV1, value: unknown, what: string, details: Record<string, unknown> = {}): unknown {
  let result: ReturnType<StandardSchemaV1Props['validate']>;
  try {
    result = schema['~standard'].validate(value);
  } catch (err) {
    throw BatpakError.invalidPayload(`${what}: the schema threw: ${err instanceof Error ? err.message : String(err)}`, details, err);
  }
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw BatpakError.invalidPayload(`${what}: the schema validates asynchronously; event schemas must be synchronous`, details);
  }
  if (result.issues !== undefined) {
    const issues: PayloadIssue[] = result.issues.map((i) => ({ message: i.message, path: pathOf(i) }));
    const first = issues[0];
    const summary = first === undefined ? 'invalid' : `${first.path === '' ? '' : `${first.path}: `}${first.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length === 2 ? '' : 's'})` : '';
    throw BatpakError.invalidPayload(`${what}: ${summary}${more}`, { ...details, issues });
  }
  return result.value;
}
