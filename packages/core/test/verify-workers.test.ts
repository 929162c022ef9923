// When a store's verifyChain hashes on worker threads: only over the real file system (workers hash bytes read
// through Fs; a simulated Fs keeps everything on this thread) and only for logs large enough to pay for them.
import { describe, expect, it } from 'vitest';
import { SimFs } from '../src/entry/testing.js';
import { RealFs } from '../src/fs/real.js';
import { PinnedFs } from '../src/store/read-only-open.js';
import { onRealFs, VERIFY_WORKERS_FROM_BYTES, verifyWorkers } from '../src/store/verify.js';

describe('verifyChain worker threads (INV-VERIFY-FAST-PATH)', () => {
  it('are used only over RealFs, also behind a read-only open pinning its files', () => {
    expect(onRealFs(new RealFs())).toBe(true);
    expect(onRealFs(new PinnedFs(new RealFs(), '/db', new Map()))).toBe(true);
    expect(onRealFs(new SimFs(1))).toBe(false);
    expect(onRealFs(new PinnedFs(new SimFs(1), '/db', new Map()))).toBe(false);
  });

  it('are used only from VERIFY_WORKERS_FROM_BYTES of segments on', () => {
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES - 1)).toBe(0);
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES, 4)).toBeGreaterThan(0);
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES)).toBeLessThanOrEqual(2);
    expect(verifyWorkers(false, 10 * VERIFY_WORKERS_FROM_BYTES)).toBe(0);
  });

  it('leave a core to the walking thread: one worker on two cores, none on one, at most two', () => {
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES, 1)).toBe(0);
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES, 2)).toBe(1);
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES, 3)).toBe(2);
    expect(verifyWorkers(true, VERIFY_WORKERS_FROM_BYTES, 16)).toBe(2);
    expect(verifyWorkers(false, VERIFY_WORKERS_FROM_BYTES, 16)).toBe(0);
  });
});
