// Scratch directories for stores and peers, all under one root in os.tmpdir() that is removed at exit.
// Invariant: the suite never writes outside this root (and bench/results*.json); cleanup runs on normal exit and on SIGINT.

import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root;
let counter = 0;

/** The suite's root scratch directory (created on first use). */
export function scratchRoot() {
  if (root === undefined) {
    root = mkdtempSync(join(tmpdir(), 'batpak-bench-'));
    // Removed even when a scenario throws or the user interrupts: a 1M-event store is ~1.3 GB.
    process.once('exit', removeAll);
    process.once('SIGINT', () => {
      removeAll();
      process.exit(130);
    });
  }
  return root;
}

/** A fresh, empty directory for one run of one contender (fresh directory per run, as in anchors.md). */
export function freshDir(label) {
  const dir = join(scratchRoot(), `${String(++counter).padStart(4, '0')}-${label.replace(/[^a-z0-9]+/gi, '-')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

export function removeAll() {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
}
