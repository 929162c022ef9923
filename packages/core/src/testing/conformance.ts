// The shape of a conformance suite and the few assertions its cases use, free of any test framework so a
// suite runs under vitest, node:test, mocha or a plain loop. Invariant: a failed check throws an Error
// whose message names the case and says what was expected and what was seen.

import { isDeepStrictEqual, inspect } from 'node:util';

/** One named check of a contract. `run` resolves when the implementation conforms and throws when not. */
export interface ConformanceCase {
  readonly name: string;
  run(): Promise<void>;
}

/** Thrown by a failing case; `message` starts with the suite and case name. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
}

const show = (v: unknown): string =>
  v instanceof Uint8Array ? `bytes[${v.byteLength}] ${inspect([...v.subarray(0, 32)])}` : inspect(v, { depth: 4, breakLength: Infinity });

/** Fails with `what` unless `cond` holds. */
export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new ConformanceError(what);
}

/** Fails unless `actual` deeply equals `expected` (bytes compared as bytes). */
export function same(actual: unknown, expected: unknown, what: string): void {
  const equal =
    actual instanceof Uint8Array && expected instanceof Uint8Array
      ? Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected)
      : isDeepStrictEqual(actual, expected);
  if (!equal) throw new ConformanceError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** What `p` rejects with, or `undefined` when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err ?? new Error('rejected with nothing');
  }
  return undefined;
}

/** Fails unless `p` rejects with an error whose errno `code` is `code`. */
export async function rejectsWithCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const err = await rejection(p);
  if (err === undefined) throw new ConformanceError(`${what}: expected a rejection with code ${code}, but it resolved`);
  const got = (err as { code?: unknown }).code;
  if (got !== code) throw new ConformanceError(`${what}: expected code ${code}, got ${show(got)} (${String(err)})`);
}

/**
 * Builds the case list of a suite: each case sets up a fresh subject, runs its body, always tears the
 * subject down, and prefixes any failure with `suite name:` so a report reads without the test source.
 */
export function buildCases<S>(
  suite: string,
  setup: () => Promise<S>,
  teardown: (subject: S) => Promise<void>,
  bodies: Readonly<Record<string, (subject: S) => Promise<void>>>,
): ConformanceCase[] {
  return Object.entries(bodies).map(([name, body]) => ({
    name,
    run: async (): Promise<void> => {
      const subject = await setup();
      try {
        await body(subject);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new ConformanceError(`${suite} ${name}: ${why}`, { cause: err });
      } finally {
        await teardown(subject);
      }
    },
  }));
}
