// Property tests of the frame codec and the segment scan: round trips, torn tails, corruption.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBatpakError } from '../src/errors.js';
import { encodeSegmentHeader, FORMAT_VERSION } from '../src/segment/format.js';
import { MsgpackWriter } from '../src/encoding/msgpack-write.js';
import { decodeFrameBody, encodeEventFrame, encodeSealFrame, eventFrameSize, writeEventFrame, type EventFrame, type SealFrame } from '../src/segment/frame.js';
import { scanSegment } from '../src/segment/scan.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const seq = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' });

const eventFrame: fc.Arbitrary<EventFrame> = fc.record(
  {
    type: fc.constant(0 as const),
    id: bytes(16),
    globalSequence: seq,
    entitySequence: seq,
    kind: fc.integer({ min: 0, max: 0xffff }),
    entity: text,
    scope: text,
    committedAt: fc.integer({ min: 0, max: 2 ** 48 }),
    prevHash: bytes(32),
    contentHash: bytes(32),
    payloadVersion: fc.integer({ min: 0, max: 0xffff }),
    flags: fc.integer({ min: 0, max: 7 }),
    batch: fc.option(
      fc.integer({ min: 1, max: 5000 }).chain((count) =>
        fc.record({ first: seq, index: fc.integer({ min: 0, max: count - 1 }), count: fc.constant(count) }),
      ),
      { nil: undefined },
    ),
    encryption: fc.option(fc.record({ scope: fc.uint8Array({ minLength: 1, maxLength: 40 }), nonce: bytes(24), generation: fc.nat(100000) }), { nil: undefined }),
    extensions: fc.option(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.uint8Array({ maxLength: 20 })), { selector: (t) => t[0], maxLength: 4 }).map((e) => new Map(e)),
      { nil: undefined },
    ),
    payload: fc.uint8Array({ maxLength: 600 }),
  },
  { requiredKeys: ['type', 'id', 'globalSequence', 'entitySequence', 'kind', 'entity', 'scope', 'committedAt', 'prevHash', 'contentHash', 'payloadVersion', 'flags', 'payload'] },
);

const sealFrame: fc.Arbitrary<SealFrame> = fc.record({
  type: fc.constant(1 as const),
  firstSequence: seq,
  lastSequence: seq,
  count: fc.integer({ min: 1, max: 100000 }),
  keyId: bytes(32),
  root: bytes(32),
  signature: bytes(64),
});

function normalise(f: EventFrame): unknown {
  const o: Record<string, unknown> = { ...f };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  if (f.extensions !== undefined && f.extensions.size === 0) delete o.extensions;
  if (f.extensions !== undefined && f.extensions.size > 0) o.extensions = new Map([...f.extensions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return o;
}

function segment(frames: Uint8Array[]): Uint8Array {
  const head = encodeSegmentHeader({ version: FORMAT_VERSION, flags: 0, segmentId: 1, createdAtMs: 0 });
  return new Uint8Array(Buffer.concat([head, ...frames]));
}

describe('frame codec properties', () => {
  it('event frames round-trip through encode/decode', () => {
    fc.assert(
      fc.property(eventFrame, (f) => {
        const frame = encodeEventFrame(f);
        const back = decodeFrameBody(frame.subarray(12));
        expect(normalise(back as EventFrame)).toEqual(normalise(f));
        // Canonical: re-encoding the decoded frame gives the same bytes.
        expect(encodeEventFrame(back as EventFrame)).toEqual(frame);
      }),
      { numRuns: 300 },
    );
  });

  it('eventFrameSize is exact, and frames written end to end into one buffer are the bytes encodeEventFrame gives each', () => {
    const utf8 = new TextEncoder();
    // Extension maps of 14 to 17 keys cross the fixmap / map16 boundary; the body map is map16 with all three optional keys.
    const manyExtensions = fc
      .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 4 })), { selector: (t) => t[0], minLength: 14, maxLength: 17 })
      .map((e) => new Map(e));
    const frame = fc.oneof(eventFrame, fc.tuple(eventFrame, manyExtensions).map(([f, extensions]) => ({ ...f, extensions })));
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 5 }), (frames) => {
        const each = frames.map((f) => encodeEventFrame(f));
        const sizes = frames.map((f) => eventFrameSize(f, utf8.encode(f.entity), utf8.encode(f.scope)));
        expect(sizes).toEqual(each.map((e) => e.length));
        const w = new MsgpackWriter(new Uint8Array(sizes.reduce((a, b) => a + b, 0)), 0);
        for (const f of frames) writeEventFrame(f, utf8.encode(f.entity), utf8.encode(f.scope), w);
        expect(w.pos).toBe(w.buf.length);
        expect(w.buf).toEqual(new Uint8Array(Buffer.concat(each)));
      }),
      { numRuns: 200 },
    );
  });

  it('seal frames round-trip', () => {
    fc.assert(
      fc.property(sealFrame, (f) => {
        expect(decodeFrameBody(encodeSealFrame(f).subarray(12))).toEqual(f);
      }),
    );
  });

  it('a segment scans back to its frames', () => {
    fc.assert(
      fc.property(fc.array(eventFrame, { minLength: 0, maxLength: 6 }), (frames) => {
        const encoded = frames.map((f) => encodeEventFrame(f));
        const scan = scanSegment(segment(encoded), { file: 's', allowTornTail: false });
        expect(scan.torn).toBe(false);
        expect(scan.frames.map((s) => s.length)).toEqual(encoded.map((e) => e.length));
      }),
      { numRuns: 100 },
    );
  });

  it('INV-TORN-TAIL: cutting the newest segment anywhere inside its last frame is a torn tail, never an error', () => {
    fc.assert(
      fc.property(fc.array(eventFrame, { minLength: 1, maxLength: 4 }), fc.nat(), (frames, cutSeed) => {
        const encoded = frames.map((f) => encodeEventFrame(f));
        const full = segment(encoded);
        const last = encoded[encoded.length - 1]!;
        const lastStart = full.length - last.length;
        const cut = lastStart + 1 + (cutSeed % (last.length - 1));
        const scan = scanSegment(full.subarray(0, cut), { file: 's', allowTornTail: true });
        expect(scan.torn).toBe(true);
        expect(scan.validEnd).toBe(lastStart);
        expect(scan.frames).toHaveLength(encoded.length - 1);
        // The same cut in an older segment fails closed.
        expect(() => scanSegment(full.subarray(0, cut), { file: 's', allowTornTail: false })).toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it('any single flipped byte in a frame that is not the last is ERR_CORRUPT_SEGMENT, never skipped', () => {
    fc.assert(
      fc.property(fc.array(eventFrame, { minLength: 2, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (frames, at, xor) => {
        const encoded = frames.map((f) => encodeEventFrame(f));
        const full = segment(encoded);
        const firstLen = encoded[0]!.length;
        const pos = 32 + (at % firstLen);
        const damaged = new Uint8Array(full);
        damaged[pos]! ^= xor;
        try {
          scanSegment(damaged, { file: 's', allowTornTail: true });
        } catch (err) {
          expect(isBatpakError(err, 'ERR_CORRUPT_SEGMENT')).toBe(true);
          return;
        }
        throw new Error(`flip at ${pos} went unnoticed`);
      }),
      { numRuns: 300 },
    );
  });
});
