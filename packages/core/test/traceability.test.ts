// The traceability gate as a test: an orphaned invariant, a missing test file or an uncited id fails.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without type declarations
import { checkTraceability, parseInvariants } from '../../../scripts/traceability.mjs';

// Built from parts so the gate's scan does not mistake them for real citations.
const A = ['INV', 'A'].join('-');
const B = ['INV', 'B'].join('-');
const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('traceability', () => {
  it('every invariant has an existing test that cites it', () => {
    const { problems } = checkTraceability(root) as { problems: string[] };
    expect(problems).toEqual([]);
  });

  it('the parser reads ids, pending issues and test lists', () => {
    const parsed = parseInvariants(`invariants:\n  - id: ${A}\n    statement: x\n    tests:\n      - a.test.ts\n  - id: ${B}\n    pending: 4\n`) as unknown[];
    expect(parsed).toEqual([
      { id: A, statement: 'x', tests: ['a.test.ts'] },
      { id: B, pending: '4', tests: [] },
    ]);
  });
});
