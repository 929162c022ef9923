// NETBAT/2 decoding: reasons, check order (Rust stream_frame.rs), and encode-side validation.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, NetbatError, decodeStreamLine, encodeStreamFrame, type Limits, type StreamFrame } from '../src/index.js';
import { str, text } from './helpers/net.js';

const SUB = 'orders.open.v1';

function failure(line: string | Uint8Array, limits: Partial<Limits> = {}): [string, string] {
  try {
    decodeStreamLine(typeof line === 'string' ? text(line) : line, { ...DEFAULT_LIMITS, ...limits });
  } catch (err) {
    if (err instanceof NetbatError) return [err.code, err.message];
    throw err;
  }
  throw new Error(`decoded: ${String(line)}`);
}
const bad = (reason: string): [string, string] => ['malformed_stream_frame', `malformed stream frame: ${reason}`];

describe('decodeStreamLine', () => {
  it('accepts Rust integer spellings and optional cursors', () => {
    expect(decodeStreamLine(text(`NETBAT/2 SUB_ACK ${SUB} +0007 0a`))).toEqual({
      type: 'SUB_ACK',
      subscriptionId: SUB,
      deliveryIndex: 7n,
      cursorAfter: new Uint8Array([10]),
    });
    expect(decodeStreamLine(text(`NETBAT/2 SUB_ACK ${SUB} 18446744073709551615 0a\r\n`)).type).toBe('SUB_ACK');
    expect(decodeStreamLine(text(`NETBAT/2 SUBSCRIBE ${SUB} 0A0b 4294967295\n`))).toEqual({
      type: 'SUBSCRIBE',
      subscriptionId: SUB,
      resumeCursor: new Uint8Array([10, 11]),
      clientWindow: 4294967295,
    });
    // An empty cursor token is present-and-empty, not absent.
    expect(decodeStreamLine(text(`NETBAT/2 SUB_END ${SUB}  stream.complete`))).toEqual({
      type: 'SUB_END',
      subscriptionId: SUB,
      cursorAfter: new Uint8Array(),
      reasonCode: 'stream.complete',
    });
    expect(decodeStreamLine(text(`NETBAT/2 SUB_EVENT a.v1.v2 3 0a - a.b 00`))).toMatchObject({ subscriptionId: 'a.v1.v2' });
  });

  it('refuses each malformation with its reason', () => {
    const table: Array<[string | Uint8Array, [string, string], Partial<Limits>?]> = [
      ['\n', bad('empty line')],
      ['NETBAT/1 SUB_ACK x 1 0a\n', ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/1']],
      [new Uint8Array([0xff, 0x20, 0x41]), ['unsupported_protocol_version', 'unsupported protocol version: 0xff']],
      ['NETBAT/2\n', bad('missing stream verb')],
      ['NETBAT/2 SUB_NOPE x\n', bad('unknown stream verb')],
      ['NETBAT/2 SUBSCRIBE\n', bad('missing subscription id')],
      [`NETBAT/2 SUBSCRIBE ${SUB}\n`, bad('missing resume cursor')],
      [`NETBAT/2 SUBSCRIBE ${SUB} -\n`, bad('missing client window')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - 1 x\n`, bad('too many fields')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - 0\n`, bad('client window must be nonzero')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - -1\n`, bad('integer field is not decimal')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - 4294967296\n`, bad('integer field is not decimal')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - 1e3\n`, bad('integer field is not decimal')],
      [`NETBAT/2 SUBSCRIBE ${SUB} - +\n`, bad('integer field is not decimal')],
      [`NETBAT/2 SUBSCRIBE ${SUB} 0 1\n`, bad('hex input has odd length')],
      [`NETBAT/2 SUBSCRIBE ${SUB} zz 1\n`, bad('input is not hex')],
      [`NETBAT/2 SUBSCRIBE ${SUB} 0000 1\n`, ['cursor_too_large', 'cursor exceeded 1 bytes'], { maxCursorBytes: 1 }],
      ['NETBAT/2 SUBSCRIBE orders - 1\n', bad('subscription id must contain a .v version suffix')],
      ['NETBAT/2 SUBSCRIBE Orders.v1 - 1\n', bad('subscription id must start with [a-z0-9]')],
      ['NETBAT/2 SUBSCRIBE o_K.v1 - 1\n', bad('subscription id has characters outside [a-z0-9._-]')],
      ['NETBAT/2 SUBSCRIBE .o.v1 - 1\n', bad("subscription id has a leading or trailing '.'")],
      ['NETBAT/2 SUBSCRIBE o..p.v1 - 1\n', bad("subscription id has a doubled '.'")],
      ['NETBAT/2 SUBSCRIBE .v1 - 1\n', bad("subscription id has a leading or trailing '.'")],
      ['NETBAT/2 SUBSCRIBE o.v - 1\n', bad('subscription id missing version digits after .v')],
      ['NETBAT/2 SUBSCRIBE o.v0 - 1\n', bad('subscription id version must start with 1-9')],
      ['NETBAT/2 SUBSCRIBE o.v1x - 1\n', bad('subscription id version must be digits only')],
      [new Uint8Array([...text('NETBAT/2 SUBSCRIBE o'), 0xff, ...text('.v1 - 1')]), bad('token is not utf-8')],
      [`NETBAT/2 SUBSCRIBE ${'a'.repeat(126)}.v1 - 1\n`, ['subscription_id_too_long', 'subscription id exceeded 128 bytes']],
      [`NETBAT/2 SUB_EVENT ${SUB} 0 - - a.b 00\n`, bad('delivery index must be nonzero')],
      [`NETBAT/2 SUB_EVENT ${SUB} 18446744073709551616 - - a.b 00\n`, bad('integer field is not decimal')],
      [`NETBAT/2 SUB_EVENT ${SUB} 1 - - A.b 00\n`, bad('payload schema ref has characters outside [a-z0-9._-]')],
      [`NETBAT/2 SUB_EVENT ${SUB} 1 - - a\tb 00\n`, bad('payload schema ref contains whitespace')],
      [`NETBAT/2 SUB_EVENT ${SUB} 1 - - a.b 0000\n`, ['stream_payload_too_large', 'stream payload exceeded 1 bytes'], { maxStreamPayloadBytes: 1 }],
      [`NETBAT/2 SUB_EVENT ${SUB} 1 - -\n`, bad('missing payload schema ref')],
      [`NETBAT/2 SUB_WATERMARK ${SUB} 1\n`, bad('missing cursor_after')],
      [`NETBAT/2 SUB_WATERMARK ${SUB} 1 -\n`, bad('hex input has odd length')],
      [`NETBAT/2 SUB_CANCEL ${SUB}\n`, bad('missing reason code')],
      [`NETBAT/2 SUB_CANCEL ${SUB} Client\n`, bad('reason code has characters outside [a-z0-9._-]')],
      [`NETBAT/2 SUB_CANCEL ${SUB} ${'a'.repeat(129)}\n`, bad('reason code longer than 128 bytes')],
      [`NETBAT/2 SUB_ERR ${SUB} x - - 0000\n`, ['stream_message_too_large', 'stream error message exceeded 1 bytes'], { maxStreamErrorMessageBytes: 1 }],
      [`NETBAT/2 SUB_ERR ${SUB} x - -\n`, bad('missing message hex')],
      [`NETBAT/2 SUB_END ${SUB} -\n`, bad('missing reason code')],
    ];
    for (const [line, expected, limits] of table) {
      expect(failure(line, limits), String(line)).toEqual(expected);
    }
  });

  it('reads every token before validating any (Rust evaluation order)', () => {
    // A cursor is decoded while reading, so its error beats a missing later field …
    expect(failure(`NETBAT/2 SUBSCRIBE ${SUB} zz\n`)).toEqual(bad('input is not hex'));
    // … but a missing field beats a bad subscription id, and the id beats the window.
    expect(failure('NETBAT/2 SUBSCRIBE BAD -\n')).toEqual(bad('missing client window'));
    expect(failure('NETBAT/2 SUBSCRIBE BAD - 0\n')).toEqual(bad('subscription id must contain a .v version suffix'));
    // Extra fields are only noticed after the body decoded.
    expect(failure('NETBAT/2 SUBSCRIBE BAD - 1 extra\n')).toEqual(bad('subscription id must contain a .v version suffix'));
  });
});

describe('encodeStreamFrame', () => {
  it('refuses frames the decoder would refuse, with the same error', () => {
    const cases: Array<[StreamFrame, [string, string]]> = [
      [{ type: 'SUBSCRIBE', subscriptionId: 'bad id', clientWindow: 1 }, bad('subscription id must contain a .v version suffix')],
      [{ type: 'SUBSCRIBE', subscriptionId: SUB, clientWindow: 0 }, bad('client window must be nonzero')],
      [{ type: 'SUB_ACK', subscriptionId: SUB, deliveryIndex: 0n, cursorAfter: new Uint8Array() }, bad('delivery index must be nonzero')],
      [{ type: 'SUB_CANCEL', subscriptionId: SUB, reasonCode: 'has space' }, bad('reason code has characters outside [a-z0-9._-]')],
      [
        { type: 'SUB_EVENT', subscriptionId: SUB, deliveryIndex: 1n, payloadSchemaRef: 'x\ny', payload: new Uint8Array() },
        bad('payload schema ref contains whitespace'),
      ],
      [
        { type: 'SUB_WATERMARK', subscriptionId: SUB, deliveryIndex: 1n, cursorAfter: new Uint8Array(4097) },
        ['cursor_too_large', 'cursor exceeded 4096 bytes'],
      ],
    ];
    for (const [frame, expected] of cases) {
      let caught: unknown;
      try {
        encodeStreamFrame(frame);
      } catch (err) {
        caught = err;
      }
      expect(caught, frame.type).toBeInstanceOf(NetbatError);
      expect([(caught as NetbatError).code, (caught as NetbatError).message]).toEqual(expected);
    }
  });

  it('writes absent cursors as - and indices in plain decimal', () => {
    const line = encodeStreamFrame({ type: 'SUB_ERR', subscriptionId: SUB, code: 'slow_consumer', message: text('x') });
    expect(str(line)).toBe(`NETBAT/2 SUB_ERR ${SUB} slow_consumer - - 78\n`);
    const ack = encodeStreamFrame({ type: 'SUB_ACK', subscriptionId: SUB, deliveryIndex: 18446744073709551615n, cursorAfter: new Uint8Array([1]) });
    expect(str(ack)).toBe(`NETBAT/2 SUB_ACK ${SUB} 18446744073709551615 01\n`);
  });
});
