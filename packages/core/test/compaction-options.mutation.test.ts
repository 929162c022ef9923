// compact()'s options are checked before any work (INV-COMPACT-SWAP): each strategy with its predicate,
// each malformed call a typed error with its exact message — a compaction never guesses what to drop.
import { describe, expect, it } from 'vitest';
import { BatpakError } from '../src/index.js';
import { checkCompactOptions } from '../src/compaction/options.js';

const refusal = (options: unknown): string => {
  try {
    checkCompactOptions(options);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_INVALID_ARGUMENT');
    return (err as BatpakError).message;
  }
  throw new Error('expected a refusal');
};

describe('compact() options (INV-COMPACT-SWAP)', () => {
  it('accepts each strategy with its predicate, and nothing else', () => {
    const keep = () => true;
    const drop = () => false;
    expect(checkCompactOptions({ strategy: 'merge' })).toEqual({ kind: 'merge' });
    expect(checkCompactOptions({ strategy: 'retention', keep })).toEqual({ kind: 'retention', keep });
    expect(checkCompactOptions({ strategy: 'tombstone', drop })).toEqual({ kind: 'tombstone', drop });
    expect(checkCompactOptions({ strategy: 'retention', keep }).kind).toBe('retention');
    expect(checkCompactOptions({ strategy: 'tombstone', drop }).kind).toBe('tombstone');
    expect(refusal(undefined)).toBe('compact needs { strategy }');
    expect(refusal(null)).toBe('compact needs { strategy }');
    expect(refusal('merge')).toBe('compact needs { strategy }');
    expect(refusal({ strategy: 'retention' })).toBe("strategy 'retention' needs keep(event)");
    expect(refusal({ strategy: 'retention', drop })).toBe("strategy 'retention' needs keep(event)");
    expect(refusal({ strategy: 'tombstone' })).toBe("strategy 'tombstone' needs drop(event)");
    expect(refusal({ strategy: 'tombstone', keep })).toBe("strategy 'tombstone' needs drop(event)");
    expect(refusal({ strategy: 'vacuum' })).toBe("strategy must be 'merge', 'retention' or 'tombstone'");
    expect(refusal({})).toBe("strategy must be 'merge', 'retention' or 'tombstone'");
  });
});
