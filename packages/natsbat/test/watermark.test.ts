// The watermark file: round trip, refusal of damaged or foreign files, and a background writer that only
// ever writes positions it was given, the newest last, surviving a crash as old-or-new.
import { SimFs } from '@batpak/core/testing';
import { describe, expect, it } from 'vitest';
import { isNatsbatError } from '../src/index.js';
import { loadWatermark, saveWatermark, WatermarkWriter, ZERO_WATERMARK, type Watermark } from '../src/watermark.js';

const scope = { stream: 'BATPAK_t', subjects: 'batpak.t' };
const at = (n: number): Watermark => ({ globalSequence: BigInt(n * 2), streamSequence: BigInt(n), msgId: `${'a'.repeat(32)}-${n}` });

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isNatsbatError(e) ? e.code : String(e)),
  );
}

describe('watermark', () => {
  it('is zero when absent and round-trips', async () => {
    const fs = new SimFs(1);
    await fs.mkdir('/s', { recursive: true });
    expect(await loadWatermark(fs, '/s/w', scope)).toEqual(ZERO_WATERMARK);
    await saveWatermark(fs, '/s/w', scope, at(7));
    expect(await loadWatermark(fs, '/s/w', scope)).toEqual(at(7));
  });

  it('refuses a damaged file and one written for another stream', async () => {
    const fs = new SimFs(1);
    await fs.mkdir('/s', { recursive: true });
    await saveWatermark(fs, '/s/w', scope, at(3));
    expect(await code(loadWatermark(fs, '/s/w', { ...scope, stream: 'OTHER' }))).toBe('ERR_WATERMARK_INVALID');
    for (const text of ['{', '{"v":2}', '{"v":1,"stream":"BATPAK_t","subjects":"batpak.t","globalSequence":"-1","streamSequence":"0"}', '{"v":1,"stream":"BATPAK_t","subjects":"batpak.t","globalSequence":"1","streamSequence":"1"}']) {
      await fs.writeFileAtomic('/s/w', new TextEncoder().encode(text));
      expect(await code(loadWatermark(fs, '/s/w', scope))).toBe('ERR_WATERMARK_INVALID');
    }
  });

  it('writes in the background, newest last; after a crash the file holds a position it was given', async () => {
    const fs = new SimFs(3);
    await fs.mkdir('/s', { recursive: true });
    await fs.syncDir('/');
    const w = new WatermarkWriter(fs, '/s/w', scope, ZERO_WATERMARK);
    for (let i = 1; i <= 50; i++) w.advance(at(i));
    await w.flush();
    expect(await loadWatermark(fs, '/s/w', scope)).toEqual(at(50));
    for (let i = 51; i <= 60; i++) w.advance(at(i));
    fs.crash();
    const after = await loadWatermark(fs, '/s/w', scope);
    expect(after.streamSequence >= 50n && after.streamSequence <= 60n).toBe(true);
    expect(after).toEqual(at(Number(after.streamSequence)));
  });
});
