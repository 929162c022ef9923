// Every frame in fixtures/netbat/netbat-goldens.json, produced and parsed byte for byte, and answered by a live server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  NetbatError,
  createServer,
  decodeRequestLine,
  decodeResponseLine,
  decodeStreamLine,
  encodeErrResponse,
  encodeOkResponse,
  encodeRequest,
  encodeStreamFrame,
  type NetbatServer,
  type StreamFrame,
} from '../src/index.js';
import { testDispatcher } from './helpers/dispatcher.js';
import { exchange, loadGoldens, str, text } from './helpers/net.js';

const goldens = loadGoldens();
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const goldenBytes = (name: string): Uint8Array => {
  const golden = goldens.find((g) => g.name === name);
  if (golden === undefined) throw new Error(`missing golden ${name}`);
  return hex(golden.hex);
};
const errLine = (code: string, message: string): string => `ERR ${code} ${Buffer.from(message).toString('hex')}\n`;

const SUB = 'orders.open.v1';
const c0a = new Uint8Array([0x0a]);

/** How each request golden decodes (and what a live server answers with default limits). */
const REQUESTS: Record<string, { frame?: { operation: string; input: Uint8Array }; error?: [string, string]; limits?: Partial<typeof DEFAULT_LIMITS>; answer: string }> = {
  request_call_v1: { frame: { operation: 'ping', input: text('hi') }, answer: 'OK 6869\n' },
  request_decode_input: { frame: { operation: 'ping', input: new Uint8Array([0]) }, answer: 'OK 00\n' },
  request_empty_line: { error: ['malformed_request', 'malformed request: empty line'], answer: errLine('malformed_request', 'malformed request: empty line') },
  request_input_too_large: {
    frame: { operation: 'ping', input: new Uint8Array([0, 1]) },
    limits: { maxInputBytes: 1 },
    error: ['input_too_large', 'input exceeded 1 bytes'],
    answer: 'OK 0001\n',
  },
  request_missing_verb: { error: ['malformed_request', 'malformed request: missing verb'], answer: errLine('malformed_request', 'malformed request: missing verb') },
  request_unsupported_protocol: {
    error: ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/2'],
    answer: errLine('unsupported_protocol_version', 'unsupported protocol version: NETBAT/2'),
  },
};

const RESPONSES: Record<string, { produce: () => Uint8Array; parsed: ReturnType<typeof decodeResponseLine> }> = {
  response_ok: { produce: () => encodeOkResponse(text('ok')), parsed: { ok: true, output: text('ok') } },
  response_ok_hi: { produce: () => encodeOkResponse(text('hi')), parsed: { ok: true, output: text('hi') } },
  response_err_malformed: {
    produce: () => encodeErrResponse(NetbatError.malformedRequest('bad')),
    parsed: { ok: false, code: 'malformed_request', message: 'malformed request: bad' },
  },
};

const STREAMS: Record<string, StreamFrame> = {
  stream_subscribe_v2: { type: 'SUBSCRIBE', subscriptionId: SUB, clientWindow: 128 },
  stream_sub_event_v2: {
    type: 'SUB_EVENT',
    subscriptionId: SUB,
    deliveryIndex: 1n,
    cursorAfter: c0a,
    payloadSchemaRef: 'hostbat.event.orders.v1',
    payload: text('event'),
  },
  stream_sub_watermark_v2: { type: 'SUB_WATERMARK', subscriptionId: SUB, deliveryIndex: 1n, cursorAfter: c0a },
  stream_sub_ack_v2: { type: 'SUB_ACK', subscriptionId: SUB, deliveryIndex: 1n, cursorAfter: c0a },
  stream_sub_cancel_v2: { type: 'SUB_CANCEL', subscriptionId: SUB, reasonCode: 'client.cancel' },
  stream_sub_err_v2: { type: 'SUB_ERR', subscriptionId: SUB, code: 'slow_consumer', lastDeliveredCursor: c0a, message: text('slow') },
  stream_sub_end_v2: { type: 'SUB_END', subscriptionId: SUB, cursorAfter: c0a, reasonCode: 'stream.complete' },
};

describe('INV-NETBAT-WIRE-GOLDEN: golden fixture file', () => {
  it('is covered entirely by the tables below (no golden silently skipped)', () => {
    const covered = new Set([...Object.keys(REQUESTS), ...Object.keys(RESPONSES), ...Object.keys(STREAMS)]);
    expect(goldens.map((g) => g.name).sort()).toEqual([...covered].sort());
  });

  it('has text and hex that agree', () => {
    for (const g of goldens) expect(Buffer.from(g.hex, 'hex').toString('utf8'), g.name).toBe(g.text);
  });
});

describe('NETBAT/1 request goldens', () => {
  for (const [name, want] of Object.entries(REQUESTS)) {
    it(name, () => {
      const bytes = goldenBytes(name);
      const limits = { ...DEFAULT_LIMITS, ...want.limits };
      if (want.frame !== undefined) {
        expect(encodeRequest(want.frame.operation, want.frame.input)).toEqual(bytes);
        expect(decodeRequestLine(bytes)).toEqual(want.frame);
      }
      if (want.error !== undefined) {
        let caught: unknown;
        try {
          decodeRequestLine(bytes, limits);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(NetbatError);
        expect((caught as NetbatError).code).toBe(want.error[0]);
        expect((caught as NetbatError).message).toBe(want.error[1]);
        expect(str(encodeErrResponse(caught as NetbatError))).toBe(errLine(want.error[0], want.error[1]));
      }
    });
  }
});

describe('NETBAT/1 response goldens', () => {
  for (const [name, want] of Object.entries(RESPONSES)) {
    it(name, () => {
      const bytes = goldenBytes(name);
      expect(want.produce()).toEqual(bytes);
      expect(decodeResponseLine(bytes)).toEqual(want.parsed);
    });
  }
});

describe('NETBAT/2 stream goldens', () => {
  for (const [name, frame] of Object.entries(STREAMS)) {
    it(name, () => {
      const bytes = goldenBytes(name);
      expect(encodeStreamFrame(frame)).toEqual(bytes);
      expect(decodeStreamLine(bytes)).toEqual(frame);
    });
  }
});

describe('request goldens against a live server', () => {
  let server: NetbatServer;
  let port: number;
  beforeAll(async () => {
    server = createServer({ dispatcher: testDispatcher() });
    ({ port } = await server.listen(0));
  });
  afterAll(() => server.close());

  for (const [name, want] of Object.entries(REQUESTS)) {
    it(`${name} is answered byte for byte`, async () => {
      expect(str(await exchange(port, goldenBytes(name)))).toBe(want.answer);
    });
  }

  it('answers input_too_large for request_input_too_large under maxInputBytes 1', async () => {
    const small = createServer({ dispatcher: testDispatcher(), limits: { maxInputBytes: 1 } });
    const { port: smallPort } = await small.listen(0);
    try {
      expect(str(await exchange(smallPort, goldenBytes('request_input_too_large')))).toBe(errLine('input_too_large', 'input exceeded 1 bytes'));
    } finally {
      await small.close();
    }
  });
});
