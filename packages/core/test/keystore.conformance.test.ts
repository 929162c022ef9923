// Runs the shipped KeyStore conformance suite (src/testing/keystore-conformance.ts) against FileKeyStore,
// on a real directory and on SimFs. Invariant: the key store the package ships conforms to its own suite.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { RealFs } from '../src/fs/real.js';
import { FileKeyStore, KEYSET_FILE } from '../src/keyset/keystore.js';
import { keyStoreConformance, SimFs } from '../src/entry/testing.js';

describe('KeyStore conformance: FileKeyStore on RealFs', () => {
  const cases = keyStoreConformance(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batpak-keystore-conformance-'));
    const fs = new RealFs();
    const path = join(dir, KEYSET_FILE);
    return { keyStore: new FileKeyStore(fs, path), reopen: () => new FileKeyStore(new RealFs(), path), cleanup: () => rm(dir, { recursive: true, force: true }) };
  });
  for (const c of cases) it(c.name, c.run);
});

describe('KeyStore conformance: FileKeyStore on SimFs', () => {
  const cases = keyStoreConformance(async () => {
    const fs = new SimFs(3);
    await fs.mkdir('/data', { recursive: true });
    return { keyStore: new FileKeyStore(fs, `/data/${KEYSET_FILE}`), reopen: () => new FileKeyStore(fs, `/data/${KEYSET_FILE}`) };
  });
  for (const c of cases) it(c.name, c.run);
});

describe('KeyStore conformance: a bare FileKeyStore (no reopen)', () => {
  const cases = keyStoreConformance(() => new FileKeyStore(new SimFs(5), `/${KEYSET_FILE}`));
  for (const c of cases) it(c.name, c.run);
});
