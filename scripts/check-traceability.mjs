#!/usr/bin/env node
// CI gate: fails when an invariant is orphaned, a test file is missing, or a cited id is unknown.
import { fileURLToPath } from 'node:url';
import { checkTraceability } from './traceability.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { problems, covered, pending } = checkTraceability(root);
if (problems.length > 0) {
  console.error(`traceability: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`traceability: ${covered} invariants proven by tests, ${pending} pending on open issues`);
