// INV-FS-ROUTED: every disk touch of the store goes through Fs, so only RealFs may import node:fs.
// A store module that reached for node:fs directly would be invisible to SimFs's crashes and faults.

import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
/** RealFs's three modules: the Fs itself, its open files, and its writer lock. */
const ALLOWED = new Set(['fs/real.ts', 'fs/real-file.ts', 'fs/real-lock.ts']);

/** Static imports, re-exports, dynamic imports and require() of fs, node:fs and their /promises. */
const FS_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"`])(?:node:)?fs(?:\/promises)?\1/;

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.(?:[cm]?ts|tsx)$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe('INV-FS-ROUTED', () => {
  it('the detector sees every import form and ignores look-alikes', () => {
    for (const line of [
      "import { open } from 'node:fs/promises';",
      'import fs from "fs";',
      "import * as fs from 'node:fs';",
      "export { readFile } from 'fs/promises';",
      "import 'fs';",
      "const fs = await import('node:fs');",
      "const fs = require('fs');",
      'import fs = require("node:fs");',
    ]) {
      expect(FS_IMPORT.test(line), line).toBe(true);
    }
    for (const line of ["import { join } from 'node:path';", "import x from './fs/fs.js';", "import y from 'fs-extra-ish';"]) {
      expect(FS_IMPORT.test(line), line).toBe(false);
    }
  });

  it('INV-FS-ROUTED: no module under src/ except RealFs (src/fs/real.ts, real-file.ts, real-lock.ts) imports node:fs', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(SRC)) {
      const rel = relative(SRC, file).split(sep).join('/');
      if (ALLOWED.has(rel)) continue;
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (FS_IMPORT.test(line)) offenders.push(`src/${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders, 'route disk access through the Fs interface (src/fs/fs.ts) instead').toEqual([]);
  });
});
