// PlainEventBody reads an event body in place only when decodeFrameBody accepts it and yields the same fields: for
// every body the encoder writes, and for the same bodies with bytes flipped, inside a buffer with other bytes around
// (INV-VERIFY-FAST-PATH: what verifyChain checks in place is what decoding would show).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrameBody, encodeEventFrame, type EventFrame } from '../src/segment/frame.js';
import { PlainEventBody } from '../src/segment/plain-body.js';

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const uintArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat());
const textArb = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('a', 'entity-7', 'é', 'x'.repeat(32), 'y'.repeat(200)));

const frameArb: fc.Arbitrary<EventFrame> = fc
  .record({
    id: bytesOf(16),
    globalSequence: uintArb,
    entitySequence: uintArb,
    kind: fc.integer({ min: 0, max: 0xffff }),
    entity: textArb,
    scope: textArb,
    committedAt: uintArb,
    prevHash: bytesOf(32),
    contentHash: bytesOf(32),
    payloadVersion: uintArb,
    flags: fc.integer({ min: 0, max: 0xffff }),
    batch: fc.option(
      fc.record({ first: uintArb, count: fc.integer({ min: 1, max: 5000 }) }).chain(({ first, count }) => fc.record({ first: fc.constant(first), count: fc.constant(count), index: fc.integer({ min: 0, max: count - 1 }) })),
      { nil: undefined },
    ),
    encrypted: fc.boolean(),
    payload: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0x100, max: 0x10100 }).map((n) => new Uint8Array(n).fill(7))),
  })
  .map(({ encrypted, ...f }) => ({
    type: 0 as const,
    ...f,
    encryption: encrypted ? { scope: new Uint8Array([1, 2, 3]), nonce: new Uint8Array(24).fill(5), generation: 0 } : undefined,
    extensions: undefined,
  }));

/** What the reader found, as the decoder's fields. */
function readFields(r: PlainEventBody, b: Uint8Array) {
  return {
    id: b.slice(r.idAt, r.idAt + 16),
    globalSequence: r.globalSequence,
    entitySequence: r.entitySequence,
    kind: r.kind,
    committedAt: r.committedAt,
    payloadVersion: r.payloadVersion,
    flags: r.flags,
    entity: Buffer.from(b.subarray(r.entityAt, r.entityAt + r.entityLength)).toString('latin1'),
    scope: Buffer.from(b.subarray(r.scopeAt, r.scopeAt + r.scopeLength)).toString('latin1'),
    prevHash: b.slice(r.prevAt, r.prevAt + 32),
    contentHash: b.slice(r.contentAt, r.contentAt + 32),
    payloadAt: r.payloadAt,
    batch: r.batchCount === 0 ? undefined : { first: r.batchFirst, index: r.batchIndex, count: r.batchCount },
  };
}

function decodedFields(body: Uint8Array, at: number) {
  const f = decodeFrameBody(body) as EventFrame;
  return {
    id: f.id.slice(),
    globalSequence: f.globalSequence,
    entitySequence: f.entitySequence,
    kind: f.kind,
    committedAt: f.committedAt,
    payloadVersion: f.payloadVersion,
    flags: f.flags,
    entity: f.entity,
    scope: f.scope,
    prevHash: f.prevHash.slice(),
    contentHash: f.contentHash.slice(),
    payloadAt: at + (f.payload.byteOffset - body.byteOffset),
    batch: f.batch === undefined ? undefined : { first: f.batch.first, index: f.batch.index, count: f.batch.count },
  };
}

const ascii = (s: string) => /^[\x00-\x7f]*$/.test(s);

describe('PlainEventBody (INV-VERIFY-FAST-PATH)', () => {
  it('reads every plain body the encoder writes, with the decoder\'s fields; never an encrypted or non-ASCII one', () => {
    fc.assert(
      fc.property(frameArb, fc.nat({ max: 40 }), (f, pad) => {
        const body = encodeEventFrame(f).subarray(12);
        const buf = new Uint8Array(pad + body.length + pad).fill(0xc4);
        buf.set(body, pad);
        const r = new PlainEventBody();
        const ok = r.read(buf, pad, pad + body.length);
        expect(ok).toBe(f.encryption === undefined && ascii(f.entity) && ascii(f.scope));
        if (ok) expect(readFields(r, buf)).toEqual(decodedFields(buf.subarray(pad, pad + body.length), pad));
      }),
      { numRuns: 2000 },
    );
  });

  it('a body with bytes flipped is read only when the decoder accepts it, with its fields', () => {
    fc.assert(
      fc.property(frameArb, fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 3 }), fc.integer({ min: -3, max: 3 }), (f, flips, cut) => {
        const body = encodeEventFrame(f).subarray(12).slice();
        for (const { at, xor } of flips) body[at % body.length]! ^= xor;
        // The body's end as given may be a few bytes off (a damaged length).
        const end = Math.max(1, Math.min(body.length, body.length + cut));
        const buf = new Uint8Array(body.length + 8).fill(0xcc);
        buf.set(body, 4);
        const r = new PlainEventBody();
        if (!r.read(buf, 4, 4 + end)) return;
        expect(readFields(r, buf)).toEqual(decodedFields(buf.subarray(4, 4 + end), 4));
      }),
      { numRuns: 5000 },
    );
  });
});
