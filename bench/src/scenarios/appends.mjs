// Scenarios 1 and 2: durable appends/s of 256 B events at 1, 8 and 64 writers — batpak flavours, peers, raw fs ceilings — interleaved in one process.
// Invariant: every cell gets a fresh directory, the same payload bytes and the same time box; figures are medians over rounds.

import { CONTENDERS } from '../contenders.mjs';
import { interleave, runAppendCell } from '../harness.mjs';
import { median, spread } from '../stats.mjs';

export async function appendsScenario(cfg, log) {
  const payload = Buffer.alloc(256);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 7) & 0xff;

  const loaded = new Map();
  for (const c of CONTENDERS) {
    // Each library loads once; contenders sharing a library share its verdict.
    const status = await c.load();
    loaded.set(c.id, status);
    if (!status.ok) log(`  ! ${c.label}: ${status.reason} — reported as null`);
  }

  const cells = [];
  for (const c of CONTENDERS) {
    if (!loaded.get(c.id).ok) continue;
    for (const writers of c.writers) {
      cells.push({
        key: `${c.id}/${writers}`,
        contender: c,
        writers,
        run: (round) => runAppendCell(c, writers, round < 0 ? cfg.appendWarmupMs : cfg.appendMs, payload),
      });
    }
  }
  log(`  ${cells.length} cells × ${cfg.reps} rounds of ${cfg.appendMs} ms (+1 warm-up round of ${cfg.appendWarmupMs} ms)`);
  const results = await interleave(cells, {
    reps: cfg.reps,
    onResult: (cell, r, round) => {
      if (r.error !== undefined) log(`    ${cell.key} round ${round}: ERROR ${r.error}`);
    },
  });

  const rows = [];
  for (const c of CONTENDERS) {
    for (const writers of c.writers) {
      const runs = results.get(`${c.id}/${writers}`);
      const status = loaded.get(c.id);
      const rates = runs?.map((r) => r.rate) ?? [];
      const fsyncs = runs?.map((r) => r.fsyncsPerEvent).filter((v) => v !== undefined) ?? [];
      const timings = runs?.map((r) => r.groupTiming).filter((t) => t !== undefined) ?? [];
      const groupTiming =
        timings.length === 0
          ? undefined
          : {
              cycleMicros: median(timings.map((t) => t.cycleMicros)),
              writeMicros: median(timings.map((t) => t.writeMicros)),
              fsyncMicros: median(timings.map((t) => t.fsyncMicros)),
            };
      const errors = runs?.filter((r) => r.error !== undefined).map((r) => r.error) ?? [];
      rows.push({
        id: c.id,
        label: c.label,
        durable: c.durable,
        writers,
        rate: status.ok ? median(rates) : null,
        spread: spread(rates),
        runs: rates,
        fsyncsPerEvent: fsyncs.length > 0 ? median(fsyncs) : undefined,
        groupTiming,
        unavailable: status.ok ? undefined : status.reason,
        version: status.version,
        errors: errors.length > 0 ? errors : undefined,
      });
    }
  }
  return rows;
}

/** The median rate of one contender at one writer count, or null. */
export function rateOf(rows, id, writers) {
  return rows.find((r) => r.id === id && r.writers === writers)?.rate ?? null;
}
