// Error codes are API: the README table lists exactly NATSBAT_ERROR_CODES, with the same retryable flags.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NATSBAT_ERROR_CODES, NatsbatError, isNatsbatError } from '../src/index.js';

describe('NatsbatError', () => {
  it('README § Errors lists every code once, with its retryable flag', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `(ERR_[A-Z_]+)` \| .* \| (yes|no) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows.map(([code]) => code)).toEqual([...NATSBAT_ERROR_CODES]);
    for (const [code, retryable] of rows) expect(new NatsbatError(code as (typeof NATSBAT_ERROR_CODES)[number], 'x').retryable).toBe(retryable === 'yes');
  });

  it('carries its code, frozen details and cause, and narrows', () => {
    const cause = new Error('boom');
    const e = NatsbatError.FENCED('moved', { cause, details: { eventId: 'e', streamSequence: 3n } });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ERR_FENCED');
    expect(e.cause).toBe(cause);
    expect(Object.isFrozen(e.details)).toBe(true);
    expect(String(e)).toBe('NatsbatError [ERR_FENCED]: moved');
    expect(isNatsbatError(e, 'ERR_FENCED')).toBe(true);
    expect(isNatsbatError(e, 'ERR_IO')).toBe(false);
    expect(isNatsbatError(new Error('x'))).toBe(false);
  });
});
