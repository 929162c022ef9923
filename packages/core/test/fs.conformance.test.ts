// Runs the shipped Fs conformance suite (src/testing/fs-conformance.ts) against both Fs implementations.
// Invariant: RealFs and SimFs agree on every observable behaviour the store relies on.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { RealFs } from '../src/fs/real.js';
import { fsConformance, SimFs, type ConformanceCase } from '../src/entry/testing.js';

// Cases RealFs is known to fail (none: keep the set so a regression can be parked with a reason).
// `it.fails` keeps the suite green while the bug stands and turns red the day RealFs is fixed.
const REALFS_KNOWN_FAILURES: ReadonlySet<string> = new Set<string>([]);

const realFsCases = fsConformance(async () => {
  const root = await mkdtemp(join(tmpdir(), 'batpak-fs-conformance-'));
  return { fs: new RealFs(), root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

const simFsCases = fsConformance(async () => {
  const fs = new SimFs(7);
  await fs.mkdir('/data', { recursive: true });
  await fs.syncDir('/');
  return { fs, root: '/data', crash: () => void fs.crash() };
});

function register(cases: readonly ConformanceCase[], knownFailures: ReadonlySet<string>): void {
  for (const c of cases) (knownFailures.has(c.name) ? it.fails : it)(c.name, c.run);
}

describe('Fs conformance: RealFs', () => register(realFsCases, REALFS_KNOWN_FAILURES));
describe('Fs conformance: SimFs', () => register(simFsCases, new Set()));
describe('Fs conformance: SimFs as a bare Fs (root made by the suite)', () => register(fsConformance(() => new SimFs(11)), new Set()));
