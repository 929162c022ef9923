// Read-only opens beside a writer that compacts (issue 17 item 10, INV-READER-CONSISTENT): no lock, and
// still a consistent view — never ERR_IO for a segment that compaction removed, never a false
// ERR_CORRUPT_SEGMENT from reading a merged file at an old offset, verifyChain always intact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';

const Note = defineEvent<{ n: number; pad: string; drop: boolean }>({ category: 3, typeId: 7, name: 'Note' });
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'batpak-reader-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('INV-READER-CONSISTENT: read-only opens beside a compacting writer', () => {
  it('opens, queries and verifyChain all succeed while the writer compacts in a loop', async () => {
    const dir = join(work, 'busy');
    const writer = await Store.open({ dir, segmentMaxBytes: 600 });
    let n = 0;
    const more = async (k: number) => {
      for (let i = 0; i < k; i++, n++) await writer.append(new Coordinate(`e${n % 3}`, 's'), Note, { n, pad: 'p'.repeat(40), drop: n % 5 === 0 });
    };
    await more(40);
    let stop = false;
    let compactions = 0;
    const churn = (async () => {
      const strategies = ['merge', 'tombstone', 'retention'] as const;
      while (!stop) {
        await more(8);
        const strategy = strategies[compactions % 3]!;
        const r = await writer.compact(
          strategy === 'merge' ? { strategy } : strategy === 'tombstone' ? { strategy, drop: (e) => (e.payload as { drop?: boolean } | undefined)?.drop === true } : { strategy, keep: () => true },
        );
        if (r.outcome === 'performed') compactions++;
      }
    })();
    const failures: string[] = [];
    let opens = 0;
    try {
      for (let round = 0; round < 60; round++) {
        try {
          const reader = await Store.openReadOnly(dir);
          opens++;
          try {
            // Let the writer swap segments under this reader between its reads.
            await new Promise((resolve) => setTimeout(resolve, round % 4));
            let seen = 0;
            for await (const e of reader.query()) {
              if (e.header.eventId.length !== 32) failures.push('bad event');
              seen++;
            }
            const report = await reader.verifyChain();
            if (!report.intact) failures.push(`round ${round}: verifyChain not intact ${JSON.stringify(report)}`);
            if (report.eventsChecked !== seen) failures.push(`round ${round}: checked ${report.eventsChecked} of ${seen}`);
          } finally {
            await reader.close();
          }
        } catch (err) {
          failures.push(`round ${round}: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
        }
      }
    } finally {
      stop = true;
      await churn;
      await writer.close();
    }
    expect(failures).toEqual([]);
    expect(opens).toBe(60);
    expect(compactions).toBeGreaterThan(5);
  }, 120_000);
});
