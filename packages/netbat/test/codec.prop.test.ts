// Codec properties: encode/decode round trips, and decoders that only ever fail with a NetbatError wire code.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NetbatError,
  WIRE_ERROR_CODES,
  decodeRequestLine,
  decodeResponseLine,
  decodeStreamLine,
  encodeErrResponse,
  encodeOkResponse,
  encodeRequest,
  encodeStreamFrame,
  type StreamFrame,
} from '../src/index.js';

const chars = (s: string) => fc.constantFrom(...s);
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const segment = fc.string({ unit: chars(`${LOWER}ABCXYZ_-`), minLength: 1, maxLength: 10 });
const operation = fc
  .array(segment, { minLength: 1, maxLength: 6 })
  .map((p) => p.join('.'))
  .filter((s) => s.length <= 128);
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const subscriptionId = fc
  .tuple(fc.string({ unit: chars(LOWER), minLength: 1, maxLength: 8 }), fc.string({ unit: chars(`${LOWER}_-`), maxLength: 20 }), fc.integer({ min: 1, max: 999 }))
  .map(([head, tail, v]) => `${head}${tail}.v${v}`);
const reason = fc.string({ unit: chars(`${LOWER}._-`), minLength: 1, maxLength: 40 });
const index = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n });
const cursor = bytes(64);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Drops undefined keys (absent cursors), so generated frames are StreamFrames and compare equal to decoded ones. */
function clean(frame: object): StreamFrame {
  return Object.fromEntries(Object.entries(frame).filter(([, v]) => v !== undefined)) as unknown as StreamFrame;
}

const streamFrame: fc.Arbitrary<StreamFrame> = fc.oneof(
  fc.record({ type: fc.constant('SUBSCRIBE' as const), subscriptionId, resumeCursor: optional(cursor), clientWindow: fc.integer({ min: 1, max: 0xffffffff }) }),
  fc.record({
    type: fc.constant('SUB_EVENT' as const),
    subscriptionId,
    deliveryIndex: index,
    cursorBefore: optional(cursor),
    cursorAfter: optional(cursor),
    payloadSchemaRef: reason,
    payload: bytes(256),
  }),
  fc.record({ type: fc.constant('SUB_WATERMARK' as const), subscriptionId, deliveryIndex: index, cursorAfter: cursor }),
  fc.record({ type: fc.constant('SUB_ACK' as const), subscriptionId, deliveryIndex: index, cursorAfter: cursor }),
  fc.record({ type: fc.constant('SUB_CANCEL' as const), subscriptionId, reasonCode: reason }),
  fc.record({
    type: fc.constant('SUB_ERR' as const),
    subscriptionId,
    code: reason,
    lastDeliveredCursor: optional(cursor),
    lastAckedCursor: optional(cursor),
    message: bytes(128),
  }),
  fc.record({ type: fc.constant('SUB_END' as const), subscriptionId, cursorAfter: optional(cursor), reasonCode: reason }),
).map(clean);

const wireCodes: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

function onlyNetbatErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    expect(err).toBeInstanceOf(NetbatError);
    expect(wireCodes.has((err as NetbatError).code)).toBe(true);
  }
}

describe('codec properties', () => {
  it('request: decode(encode(op, input)) is (op, input)', () => {
    fc.assert(
      fc.property(operation, bytes(512), (op, input) => {
        expect(decodeRequestLine(encodeRequest(op, input))).toEqual({ operation: op, input });
      }),
      { numRuns: 1000 },
    );
  });

  it('response: OK and ERR lines round-trip', () => {
    fc.assert(
      fc.property(bytes(512), fc.string({ maxLength: 64 }), fc.constantFrom(...WIRE_ERROR_CODES), (output, message, code) => {
        expect(decodeResponseLine(encodeOkResponse(output))).toEqual({ ok: true, output });
        const parsed = decodeResponseLine(encodeErrResponse({ code, message }));
        expect(parsed).toEqual({ ok: false, code, message: new TextDecoder().decode(new TextEncoder().encode(message)) });
      }),
      { numRuns: 500 },
    );
  });

  it('stream: decode(encode(frame)) is frame', () => {
    fc.assert(
      fc.property(streamFrame, (frame) => {
        expect(decodeStreamLine(encodeStreamFrame(frame))).toEqual(frame);
      }),
      { numRuns: 1000 },
    );
  });

  it('decoders fail only with a NetbatError carrying a wire code, on any bytes', () => {
    const prefixed = fc.tuple(fc.constantFrom('NETBAT/1 CALL ', 'NETBAT/2 SUB_ACK ', 'NETBAT/2 SUBSCRIBE ', 'NETBAT/2 SUB_EVENT ', ''), bytes(200)).map(
      ([head, tail]) => new Uint8Array([...new TextEncoder().encode(head), ...tail]),
    );
    fc.assert(
      fc.property(fc.oneof(bytes(300), prefixed), (line) => {
        onlyNetbatErrors(() => decodeRequestLine(line));
        onlyNetbatErrors(() => decodeStreamLine(line));
        onlyNetbatErrors(() => decodeResponseLine(line));
      }),
      { numRuns: 2000 },
    );
  });
});
