// The ERR code table: every wire token pinned with its exact display text and, where a peer can cause it, a trigger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONFIG_ERROR_CODES,
  DEFAULT_LIMITS,
  NetbatError,
  WIRE_ERROR_CODES,
  createServer,
  decodeStreamLine,
  runtimeErrorCode,
  type Limits,
  type NetbatServer,
  type WireErrorCode,
} from '../src/index.js';
import { CodedError, testDispatcher } from './helpers/dispatcher.js';
import { exchange, str, text } from './helpers/net.js';

type Trigger =
  /** Raw bytes sent to a live server (default limits unless given) that must be answered with this ERR line. */
  | { readonly wire: string; readonly limits?: Partial<Limits> }
  /** A NETBAT/2 line the stream decoder must refuse with this error. */
  | { readonly stream: string }
  /** Not producible by a peer against this server; pinned through its factory only. */
  | { readonly local: string };

const SUB = 'orders.open.v1';
const longHex = (bytes: number): string => '00'.repeat(bytes);

/** One row per token. Adding a code without a row fails the first test. */
const TABLE: Record<WireErrorCode, { readonly error: NetbatError; readonly message: string; readonly trigger: Trigger }> = {
  io: { error: NetbatError.io('connection closed before a response'), message: 'io error: connection closed before a response', trigger: { local: 'client-side transport failure' } },
  empty_stream: { error: NetbatError.emptyStream(), message: 'empty stream', trigger: { local: 'a connect-and-close is closed silently, as in Rust' } },
  line_too_long: { error: NetbatError.lineTooLong(65536), message: 'request line exceeded 65536 bytes', trigger: { wire: `NETBAT/1 CALL ping ${longHex(32768)}\n` } },
  malformed_request: { error: NetbatError.malformedRequest('too many fields'), message: 'malformed request: too many fields', trigger: { wire: 'NETBAT/1 CALL ping 00 extra\n' } },
  unsupported_protocol_version: {
    error: NetbatError.unsupportedProtocolVersion('NETBAT/9'),
    message: 'unsupported protocol version: NETBAT/9',
    trigger: { wire: 'NETBAT/9 CALL ping 00\n' },
  },
  operation_name_too_long: {
    error: NetbatError.operationNameTooLong(128),
    message: 'operation name exceeded 128 bytes',
    trigger: { wire: `NETBAT/1 CALL ${'a'.repeat(129)} 00\n` },
  },
  // Under default limits a 32 KiB + 1 input needs a line over 64 KiB, so line_too_long trips first (as in Rust).
  input_too_large: { error: NetbatError.inputTooLarge(1), message: 'input exceeded 1 bytes', trigger: { wire: 'NETBAT/1 CALL ping 0001\n', limits: { maxInputBytes: 1 } } },
  output_too_large: { error: NetbatError.outputTooLarge(32768), message: 'output exceeded 32768 bytes', trigger: { wire: 'NETBAT/1 CALL big \n' } },
  malformed_stream_frame: {
    error: NetbatError.malformedStreamFrame('client window must be nonzero'),
    message: 'malformed stream frame: client window must be nonzero',
    trigger: { wire: `NETBAT/2 SUBSCRIBE ${SUB} - 0\n` },
  },
  subscription_id_too_long: {
    error: NetbatError.subscriptionIdTooLong(128),
    message: 'subscription id exceeded 128 bytes',
    trigger: { wire: `NETBAT/2 SUBSCRIBE ${'a'.repeat(127)}.v1 - 1\n` },
  },
  cursor_too_large: { error: NetbatError.cursorTooLarge(4096), message: 'cursor exceeded 4096 bytes', trigger: { wire: `NETBAT/2 SUBSCRIBE ${SUB} ${longHex(4097)} 1\n` } },
  stream_payload_too_large: {
    error: NetbatError.streamPayloadTooLarge(32768),
    message: 'stream payload exceeded 32768 bytes',
    trigger: { stream: `NETBAT/2 SUB_EVENT ${SUB} 1 - 0a a.v1 ${longHex(32769)}\n` },
  },
  stream_message_too_large: {
    error: NetbatError.streamMessageTooLarge(4096),
    message: 'stream error message exceeded 4096 bytes',
    trigger: { stream: `NETBAT/2 SUB_ERR ${SUB} slow_consumer - - ${longHex(4097)}\n` },
  },
  unknown_operation: {
    error: NetbatError.runtime('unknown_operation', 'unknown operation `nope`'),
    message: 'runtime error: unknown operation `nope`',
    trigger: { wire: 'NETBAT/1 CALL nope \n' },
  },
  missing_handler: {
    error: NetbatError.runtime('missing_handler', 'operation `fail.missing` has no handler'),
    message: 'runtime error: operation `fail.missing` has no handler',
    trigger: { wire: 'NETBAT/1 CALL fail.missing \n' },
  },
  handler: {
    error: NetbatError.runtime('handler', 'handler `fail.handler` failed with invalid_input: bad payload'),
    message: 'runtime error: handler `fail.handler` failed with invalid_input: bad payload',
    trigger: { wire: 'NETBAT/1 CALL fail.handler \n' },
  },
  receipt_sink: {
    error: NetbatError.runtime('receipt_sink', 'receipt sink failed'),
    message: 'runtime error: receipt sink failed',
    trigger: { wire: 'NETBAT/1 CALL fail.sink \n' },
  },
  runtime: {
    error: NetbatError.runtime('runtime', 'operation `fail.denied` denied with capability.denied: no grant'),
    message: 'runtime error: operation `fail.denied` denied with capability.denied: no grant',
    trigger: { wire: 'NETBAT/1 CALL fail.denied \n' },
  },
  unauthorized: {
    error: NetbatError.unauthorized('anonymous is not granted `event.get`'),
    message: 'unauthorized: anonymous is not granted `event.get`',
    trigger: { local: 'needs `auth` configured: triggered on the wire in test/auth.test.ts' },
  },
  too_many_connections: {
    error: NetbatError.tooManyConnections(2),
    message: 'too many connections: at most 2 per client',
    trigger: { local: 'needs `auth` configured: triggered on the wire in test/fairness.test.ts' },
  },
};

const errLine = (code: string, message: string): string => `ERR ${code} ${Buffer.from(message).toString('hex')}\n`;

describe('INV-NETBAT-WIRE-GOLDEN: ERR code table', () => {
  it('pins exactly the netbat.md tokens, in order', () => {
    expect(WIRE_ERROR_CODES).toEqual([
      'io',
      'empty_stream',
      'line_too_long',
      'malformed_request',
      'unsupported_protocol_version',
      'operation_name_too_long',
      'input_too_large',
      'output_too_large',
      'malformed_stream_frame',
      'subscription_id_too_long',
      'cursor_too_large',
      'stream_payload_too_large',
      'stream_message_too_large',
      'unknown_operation',
      'missing_handler',
      'handler',
      'receipt_sink',
      'runtime',
      'unauthorized',
      'too_many_connections',
    ]);
    expect(Object.keys(TABLE).sort()).toEqual([...WIRE_ERROR_CODES].sort());
    expect(CONFIG_ERROR_CODES).toEqual(['invalid_option', 'tls_config']);
  });

  for (const [code, row] of Object.entries(TABLE)) {
    it(`${code}: carries its token and display text`, () => {
      expect(row.error).toBeInstanceOf(NetbatError);
      expect(row.error.code).toBe(code);
      expect(row.error.message).toBe(row.message);
    });
  }

  describe('triggered by a peer', () => {
    let server: NetbatServer;
    let port: number;
    beforeAll(async () => {
      server = createServer({ dispatcher: testDispatcher() });
      ({ port } = await server.listen(0));
    });
    afterAll(() => server.close());

    for (const [code, row] of Object.entries(TABLE)) {
      const trigger = row.trigger;
      if ('wire' in trigger) {
        it(`${code}: a live server answers the exact ERR line`, async () => {
          let target = port;
          let own: NetbatServer | undefined;
          if (trigger.limits !== undefined) {
            own = createServer({ dispatcher: testDispatcher(), limits: trigger.limits });
            ({ port: target } = await own.listen(0));
          }
          try {
            expect(str(await exchange(target, text(trigger.wire)))).toBe(errLine(code, row.message));
          } finally {
            await own?.close();
          }
        });
      } else if ('stream' in trigger) {
        it(`${code}: the stream decoder refuses with it`, () => {
          // A full-size SUB_EVENT/SUB_ERR is longer than the request line bound, so decode with room for it.
          const roomy = { ...DEFAULT_LIMITS, maxLineBytes: 1 << 20 };
          let caught: unknown;
          try {
            decodeStreamLine(text(trigger.stream), roomy);
          } catch (err) {
            caught = err;
          }
          expect(caught).toBeInstanceOf(NetbatError);
          expect((caught as NetbatError).code).toBe(code);
          expect((caught as NetbatError).message).toBe(row.message);
        });
      }
    }
  });

  it('maps dispatcher failures through one function', () => {
    expect(runtimeErrorCode(new CodedError('unknown_operation', 'x'))).toBe('unknown_operation');
    expect(runtimeErrorCode(new CodedError('missing_handler', 'x'))).toBe('missing_handler');
    expect(runtimeErrorCode(new CodedError('handler', 'x'))).toBe('handler');
    expect(runtimeErrorCode(new CodedError('receipt_sink', 'x'))).toBe('receipt_sink');
    expect(runtimeErrorCode(new CodedError('runtime', 'x'))).toBe('runtime');
    // A code() method (the shape recommended for syncbat's RuntimeError) works too.
    expect(runtimeErrorCode({ code: () => 'handler' })).toBe('handler');
    // Denied, StatusSink, unknown codes and non-errors are all `runtime`.
    expect(runtimeErrorCode(new CodedError('capability.denied', 'x'))).toBe('runtime');
    expect(runtimeErrorCode(new Error('plain'))).toBe('runtime');
    expect(runtimeErrorCode('a string')).toBe('runtime');
    expect(runtimeErrorCode({ code: () => { throw new Error('bad'); } })).toBe('runtime');
  });
});
