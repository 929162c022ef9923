// Scenario 3: verifyChain() MB/s (of payload) and events/s over the big 1 KiB-event store and its cold open time (fresh
// process and this one); the same verifyChain figures over a 256 B-event store (`coldOpen: false`: verify only).
// Invariant: every verifyChain run must report an intact chain over every event, or the figure is refused.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { median, spread } from '../stats.mjs';

const OPEN_CHILD = fileURLToPath(new URL('../open-child.mjs', import.meta.url));

function coldOpenInChild(dir) {
  const r = spawnSync(process.execPath, [OPEN_CHILD, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`open child failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export async function verifyScenario(cfg, built, dir, log, { coldOpen = true } = {}) {
  const verify = [];
  const coldChild = [];
  const warmOpen = [];
  let rssMiB;
  let arrayBuffersMiB;
  // Interleave: child cold open, in-process open, verifyChain; the page cache is warm for all of them (the store
  // was just written); dropping it would disturb the other tenants of this machine.
  for (let round = 0; round < cfg.verifyReps; round++) {
    let opened = '';
    if (coldOpen) {
      const child = coldOpenInChild(dir);
      if (child.events !== built.events) throw new Error(`cold open saw ${child.events} events, expected ${built.events}`);
      coldChild.push(child.openSeconds);
      rssMiB = child.rssMiB;
      arrayBuffersMiB = child.arrayBuffersMiB;
      opened = `cold open ${child.openSeconds.toFixed(2)} s (child), `;
    }

    const t0 = performance.now();
    const store = await Store.open({ dir });
    warmOpen.push((performance.now() - t0) / 1000);
    try {
      const t1 = performance.now();
      const report = await store.verifyChain();
      const seconds = (performance.now() - t1) / 1000;
      if (!report.intact || report.eventsChecked !== built.events) {
        throw new Error(`verifyChain not intact or incomplete: ${JSON.stringify({ intact: report.intact, checked: report.eventsChecked })}`);
      }
      verify.push({
        seconds,
        payloadMBps: (built.events * built.payloadBytes) / 1e6 / seconds,
        diskMBps: built.diskBytes / 1e6 / seconds,
        eventsPerSecond: built.events / seconds,
      });
    } finally {
      await store.close();
    }
    log(`    round ${round + 1}: ${opened}open ${warmOpen.at(-1).toFixed(2)} s (in-process), verifyChain ${verify.at(-1).seconds.toFixed(2)} s = ${verify.at(-1).payloadMBps.toFixed(0)} MB/s`);
  }
  return {
    verifyPayloadMBps: median(verify.map((v) => v.payloadMBps)),
    verifyPayloadSpread: spread(verify.map((v) => v.payloadMBps)),
    verifyDiskMBps: median(verify.map((v) => v.diskMBps)),
    verifyEventsPerSecond: median(verify.map((v) => v.eventsPerSecond)),
    coldOpenSeconds: median(coldChild),
    coldOpenSpread: spread(coldChild),
    warmOpenSeconds: median(warmOpen),
    openRssMiB: rssMiB,
    openArrayBuffersMiB: arrayBuffersMiB,
    runs: { verify, coldChild, warmOpen },
  };
}
