// What the numbers ran on: CPU, memory, kernel, tmpdir's filesystem, Node, core commit and build, peers' versions, load average before and after.
// Invariant: only reads; a fact that cannot be read is recorded as null, never guessed.

import { cpus, totalmem, release, platform, tmpdir, loadavg, hostname } from 'node:os';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The mount that holds `path`: longest mount-point prefix in /proc/mounts. */
function mountOf(path) {
  try {
    let best = null;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, mountPoint, type, options] = line.split(' ');
      if (mountPoint === undefined || !(path === mountPoint || path.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`))) continue;
      if (best === null || mountPoint.length > best.mountPoint.length) best = { device, mountPoint, type, options };
    }
    return best;
  } catch {
    return null;
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether packages/core/dist is older than its sources (others edit core while the suite runs: say so). */
export function coreBuildState() {
  try {
    const built = statSync(join(REPO, 'packages/core/dist/index.js')).mtimeMs;
    const src = newestMtime(join(REPO, 'packages/core/src'));
    return { distBuiltAt: new Date(built).toISOString(), stale: src > built };
  } catch {
    return { distBuiltAt: null, stale: null };
  }
}

export function machineInfo(cfg, peerVersions) {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    mode: cfg.mode,
    hostname: hostname(),
    platform: `${platform()} ${release()}`,
    cpu: cpu[0]?.model ?? null,
    cpus: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    tmpdir: tmpdir(),
    tmpdirMount: mountOf(tmpdir()),
    node: process.versions.node,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    coreCommit: tryRun('git', ['rev-parse', '--short', 'HEAD']),
    coreWorkingTreeDirty: (tryRun('git', ['status', '--porcelain', '--', 'packages/core']) ?? '') !== '',
    coreBuild: coreBuildState(),
    peers: peerVersions,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
