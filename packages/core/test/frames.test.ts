// The one frame walk (segment/frames.ts) every reader uses: each kind of damage is named, the resync rules
// go on exactly where they say, and the buffer walk and the window walk see the same frames (FORMAT.md § Frame).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimFs } from '../src/entry/testing.js';
import { encodeSegmentHeader, FORMAT_VERSION, FRAME_HEADER_BYTES, MAX_FRAME_BODY_BYTES, SEGMENT_HEADER_BYTES } from '../src/segment/format.js';
import { encodeEventFrame, encodeSealFrame, type EventFrame } from '../src/segment/frame.js';
import { frameAt, isTornTail, nextValidFrame, walkFrames, walkWindowFrames, type FrameStep } from '../src/segment/frames.js';
import { ReadWindow } from '../src/segment/window.js';

function event(g: number, payload = new Uint8Array([1, 2, 3])): Uint8Array {
  const f: EventFrame = {
    type: 0, id: new Uint8Array(16).fill(g), globalSequence: g, entitySequence: g, kind: 1, entity: 'e:1', scope: 's',
    committedAt: 1000 + g, prevHash: new Uint8Array(32), contentHash: new Uint8Array(32).fill(7), payloadVersion: 1, flags: 0, payload,
  };
  return encodeEventFrame(f);
}

const seal = () => encodeSealFrame({ type: 1, firstSequence: 1, lastSequence: 1, count: 1, keyId: new Uint8Array(32), root: new Uint8Array(32), signature: new Uint8Array(64) });

function segment(...parts: Uint8Array[]): Uint8Array {
  const head = encodeSegmentHeader({ version: FORMAT_VERSION, flags: 0, segmentId: 1, createdAtMs: 1 });
  return Buffer.concat([head, ...parts]);
}

const summary = (s: FrameStep) => (s.kind === 'frame' ? `frame@${s.offset}+${s.length}:${s.crcOk}` : `${s.damage}@${s.offset}->${s.resumeAt}`);

describe('frame walk', () => {
  it('walks whole frames with their CRC verdict', () => {
    const a = event(1);
    const b = seal();
    const buf = segment(a, b);
    expect([...walkFrames(buf, SEGMENT_HEADER_BYTES, 'none')].map(summary)).toEqual([
      `frame@32+${a.length}:true`,
      `frame@${32 + a.length}+${b.length}:true`,
    ]);
    buf[32 + FRAME_HEADER_BYTES + 2]! ^= 0xff;
    expect(summary(frameAt(buf, 32, 'none'))).toBe(`frame@32+${a.length}:false`);
  });

  it('names each kind of damage', () => {
    const a = event(1);
    const partial = segment(a.subarray(0, 7));
    expect(frameAt(partial, 32, 'none')).toMatchObject({ kind: 'damage', damage: 'partial-header', declaredLength: 0 });
    const badMagic = segment(a);
    badMagic[32] = 0;
    expect(frameAt(badMagic, 32, 'none')).toMatchObject({ kind: 'damage', damage: 'bad-magic' });
    for (const length of [0, MAX_FRAME_BODY_BYTES + 1]) {
      const badLength = segment(a);
      new DataView(badLength.buffer, badLength.byteOffset).setUint32(36, length);
      expect(frameAt(badLength, 32, 'none')).toMatchObject({ kind: 'damage', damage: 'bad-length', declaredLength: length });
    }
    const pastEnd = segment(a.subarray(0, a.length - 1));
    expect(frameAt(pastEnd, 32, 'none')).toMatchObject({ kind: 'damage', damage: 'past-end', declaredLength: a.length - FRAME_HEADER_BYTES });
  });

  it("'valid-frame' resumes at the next CRC-valid frame, skipping a magic whose frame is not valid; 'none' stops", () => {
    const a = event(1);
    const b = event(2);
    const decoy = Uint8Array.from([0x42, 0x50, 0x4b, 0x46, 0, 0, 0, 9, 0, 0, 0, 0]);
    const buf = segment(new Uint8Array([9, 9, 9]), decoy, a, b);
    const at = 32 + 3 + decoy.length;
    expect(nextValidFrame(buf, 32)).toBe(at);
    expect([...walkFrames(buf, 32, 'valid-frame')].map(summary)).toEqual([
      `bad-magic@32->${at}`,
      `frame@${at}+${a.length}:true`,
      `frame@${at + a.length}+${b.length}:true`,
    ]);
    expect([...walkFrames(buf, 32, 'none')].map(summary)).toEqual([`bad-magic@32->${buf.length}`]);
  });

  it('tells a torn tail from a damaged frame', () => {
    const a = event(1);
    expect(isTornTail(segment(a.subarray(0, 3)), 32)).toBe(true);
    expect(isTornTail(segment(new Uint8Array([0x42, 0x50, 0x00])), 32)).toBe(false);
    expect(isTornTail(segment(new Uint8Array(40)), 32)).toBe(true);
    expect(isTornTail(segment(a.subarray(0, a.length - 2)), 32)).toBe(true);
    // A whole, CRC-valid body behind a length that runs past the end: the length was damaged.
    const longer = segment(a);
    new DataView(longer.buffer, longer.byteOffset).setUint32(36, a.length);
    expect(isTornTail(longer, 32)).toBe(false);
    expect(isTornTail(segment(a, new Uint8Array([1, 2, 3])), 32 + a.length)).toBe(false);
  });

  it('the window walk sees what the buffer walk sees, for any chunk size and any damage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { maxLength: 4 }), async (chunk, hits) => {
        const buf = segment(event(1), seal(), event(2, new Uint8Array(150)), event(3));
        for (const [at, v] of hits) buf[32 + (at % (buf.length - 32))] = v;
        const sim = new SimFs(1);
        sim.putFile('/s', buf);
        const w = await ReadWindow.open(sim, '/s', undefined, chunk);
        const seen: string[] = [];
        try {
          for await (const s of walkWindowFrames(w, { from: 32, resync: 'none' })) seen.push(summary(s));
        } finally {
          await w.close();
        }
        expect(seen).toEqual([...walkFrames(buf, 32, 'none')].map(summary));
      }),
      { numRuns: 100 },
    );
  });

  it("the window walk resyncs on the next magic and skips the bodies it is told not to read", async () => {
    const a = event(1, new Uint8Array(300));
    const b = seal();
    const buf = segment(new Uint8Array([1, 2]), a, b);
    const sim = new SimFs(1);
    sim.putFile('/s', buf);
    const w = await ReadWindow.open(sim, '/s', undefined, 64);
    const seen: FrameStep[] = [];
    try {
      for await (const s of walkWindowFrames(w, { from: 32, resync: 'magic', readBody: (n) => n < 256 })) seen.push(s);
    } finally {
      await w.close();
    }
    expect(seen.map(summary)).toEqual([`bad-magic@32->34`, `frame@34+${a.length}:undefined`, `frame@${34 + a.length}+${b.length}:true`]);
    expect(seen[1]).toMatchObject({ body: undefined });
  });
});

describe('a torn tail inside preallocated zeros (FORMAT.md § Preallocated tail)', () => {
  const zeros = (n: number) => new Uint8Array(n);
  const a = event(1);
  const b = event(2, new Uint8Array(40).fill(9));
  const tailAt = SEGMENT_HEADER_BYTES + a.length;

  it('a prefix of a frame, then zeros to the end, is torn at every cut', () => {
    for (let cut = 1; cut < b.length; cut++) {
      const buf = segment(a, b.subarray(0, cut), zeros(4096));
      expect(isTornTail(buf, tailAt), `cut ${cut}`).toBe(true);
    }
  });

  it('a whole frame with a damaged byte, then zeros, is damage, not a torn write', () => {
    const damaged = b.slice();
    damaged[FRAME_HEADER_BYTES + 5]! ^= 0x01;
    expect(damaged[damaged.length - 1]).not.toBe(0);
    expect(isTornTail(segment(a, damaged, zeros(4096)), tailAt)).toBe(false);
    // And bytes that are not the start of a frame at all, before the zeros.
    expect(isTornTail(segment(a, Uint8Array.from([1, 2, 3, 4, 5]), zeros(64)), tailAt)).toBe(false);
  });

  // A payload is a frame's last field: one that ends in zero bytes ends its frame in zeros (gauntlet seed 5000096,
  // where a bit flipped while recovery read such a frame made it look torn, and the open cut an acknowledged event).
  const zeroEnded = event(2, Uint8Array.from([...new Uint8Array(30).fill(9), 0, 0, 0]));

  it('a whole last frame ending in zero bytes, with a damaged byte and nothing after it, is damage', () => {
    expect(zeroEnded[zeroEnded.length - 1]).toBe(0);
    const damaged = zeroEnded.slice();
    damaged[FRAME_HEADER_BYTES + 5]! ^= 0x01;
    expect(isTornTail(segment(a, damaged), tailAt)).toBe(false);
  });

  it('a whole last frame with its length field damaged upwards is damage, with or without zeros after it', () => {
    for (const frame of [b, zeroEnded]) {
      for (const bit of [12, 20, 23]) {
        const damaged = frame.slice();
        damaged[4 + 3 - (bit >> 3)]! ^= 1 << (bit & 7);
        for (const after of [0, 16, 4096]) {
          expect(isTornTail(segment(a, damaged, zeros(after)), tailAt), `bit ${bit}, ${after} zeros after`).toBe(false);
        }
      }
    }
  });

  it('a torn frame whose declared length was damaged is still torn', () => {
    const cutShort = b.slice(0, b.length - 10);
    cutShort[4 + 3 - 2]! ^= 0x10;
    expect(isTornTail(segment(a, cutShort, zeros(4096 * 64)), tailAt)).toBe(true);
  });
});
