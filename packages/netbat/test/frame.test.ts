// NETBAT/1 request decoding: each step of netbat.md's parse order, and which failure wins when several apply.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, NetbatError, decodeHex, decodeRequestLine, decodeResponseLine, encodeHex, type Limits } from '../src/index.js';
import { text } from './helpers/net.js';

function failure(line: string | Uint8Array, limits: Partial<Limits> = {}): [string, string] {
  try {
    decodeRequestLine(typeof line === 'string' ? text(line) : line, { ...DEFAULT_LIMITS, ...limits });
  } catch (err) {
    if (err instanceof NetbatError) return [err.code, err.message];
    throw err;
  }
  throw new Error(`decoded: ${String(line)}`);
}

const malformed = (reason: string): [string, string] => ['malformed_request', `malformed request: ${reason}`];

describe('decodeRequestLine', () => {
  it('decodes a CALL with input, empty input, CRLF, bare CR, no terminator, and uppercase hex', () => {
    expect(decodeRequestLine(text('NETBAT/1 CALL ping 6869\n'))).toEqual({ operation: 'ping', input: text('hi') });
    expect(decodeRequestLine(text('NETBAT/1 CALL ping \n'))).toEqual({ operation: 'ping', input: new Uint8Array() });
    expect(decodeRequestLine(text('NETBAT/1 CALL a.b-c_D 6f6b\r\n')).input).toEqual(text('ok'));
    expect(decodeRequestLine(text('NETBAT/1 CALL ping 6f6b\r')).input).toEqual(text('ok'));
    expect(decodeRequestLine(text('NETBAT/1 CALL ping 6F6B')).input).toEqual(text('ok'));
  });

  it('names each operation by its own bytes, whatever was decoded before (names of one length included)', () => {
    const names = ['ping', 'pong', 'ping', 'pinG', 'a.b', 'ping', 'system.heartbeat', 'system.heartbeaT'];
    expect(names.map((n) => decodeRequestLine(text(`NETBAT/1 CALL ${n} 00\n`)).operation)).toEqual(names);
  });

  it('holds a name just decoded (so not checked again) to the bound of the next decode, and never takes an empty one', () => {
    expect(decodeRequestLine(text('NETBAT/1 CALL ping 00\n')).operation).toBe('ping');
    expect(failure('NETBAT/1 CALL ping 00\n', { maxOperationNameBytes: 3 })).toEqual(['operation_name_too_long', 'operation name exceeded 3 bytes']);
    expect(decodeRequestLine(text('NETBAT/1 CALL ping 00\n')).operation).toBe('ping');
    expect(failure('NETBAT/1 CALL  00\n')).toEqual(malformed('empty operation'));
    // A name refused for its input is not remembered as checked.
    expect(failure('NETBAT/1 CALL pong zz\n')).toEqual(malformed('input is not hex'));
    expect(failure('NETBAT/1 CALL p..g 00\n')).toEqual(malformed('operation dot segments must be non-empty'));
  });

  it('refuses each malformation with its reason', () => {
    const table: Array<[string | Uint8Array, [string, string], Partial<Limits>?]> = [
      ['\n', malformed('empty line')],
      ['\r\n', malformed('empty line')],
      ['CALL ping 00\n', malformed('missing NETBAT/1 protocol prefix')],
      [' NETBAT/1 CALL ping 00\n', malformed('missing NETBAT/1 protocol prefix')],
      ['netbat/1 CALL ping 00\n', malformed('missing NETBAT/1 protocol prefix')],
      ['NETBAT/2 CALL ping 00\n', ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/2']],
      ['NETBAT/ CALL ping 00\n', ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/']],
      ['NETBAT/1x\n', ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/1x']],
      [new Uint8Array([...text('NETBAT/'), 0xff, 0x0a]), ['unsupported_protocol_version', 'unsupported protocol version: NETBAT/\uFFFD']],
      ['NETBAT/1\n', malformed('missing verb')],
      ['NETBAT/1 CALL\n', malformed('missing operation')],
      ['NETBAT/1 CALL ping\n', malformed('missing input')],
      ['NETBAT/1 CALL ping 00 extra\n', malformed('too many fields')],
      ['NETBAT/1 CALL ping 00 \n', malformed('too many fields')],
      ['NETBAT/1 POST ping 00\n', malformed('unsupported verb')],
      ['NETBAT/1 call ping 00\n', malformed('unsupported verb')],
      ['NETBAT/1 CALL  00\n', malformed('empty operation')],
      ['NETBAT/1 CALL a/b 00\n', malformed('operation has invalid bytes')],
      ['NETBAT/1 CALL a\tb 00\n', malformed('operation has invalid bytes')],
      [new Uint8Array([...text('NETBAT/1 CALL '), 0xff, ...text(' 00\n')]), malformed('operation has invalid bytes')],
      ['NETBAT/1 CALL .a 00\n', malformed('operation dot segments must be non-empty')],
      ['NETBAT/1 CALL a. 00\n', malformed('operation dot segments must be non-empty')],
      ['NETBAT/1 CALL a..b 00\n', malformed('operation dot segments must be non-empty')],
      [`NETBAT/1 CALL ${'a'.repeat(129)} 00\n`, ['operation_name_too_long', 'operation name exceeded 128 bytes']],
      ['NETBAT/1 CALL ping 0\n', malformed('hex input has odd length')],
      ['NETBAT/1 CALL ping zz\n', malformed('input is not hex')],
      ['NETBAT/1 CALL ping 0g\n', malformed('input is not hex')],
      ['NETBAT/1 CALL ping 0001\n', ['input_too_large', 'input exceeded 1 bytes'], { maxInputBytes: 1 }],
      ['NETBAT/1 CALL ping 00\n', ['line_too_long', 'request line exceeded 8 bytes'], { maxLineBytes: 8 }],
      ['NETBAT/1 CALL ping 00\n', ['operation_name_too_long', 'operation name exceeded 3 bytes'], { maxOperationNameBytes: 3 }],
    ];
    for (const [line, expected, limits] of table) {
      expect(failure(line, limits), String(line)).toEqual(expected);
    }
  });

  it('applies the first failure when several apply', () => {
    // too long wins over everything
    expect(failure('garbage\n', { maxLineBytes: 4 })[0]).toBe('line_too_long');
    // protocol before field count
    expect(failure('NETBAT/3\n')[0]).toBe('unsupported_protocol_version');
    // field count before verb
    expect(failure('NETBAT/1 POST a b c\n')).toEqual(malformed('too many fields'));
    // verb before operation
    expect(failure('NETBAT/1 POST a..b zz\n')).toEqual(malformed('unsupported verb'));
    // operation before input
    expect(failure('NETBAT/1 CALL a..b zz\n')).toEqual(malformed('operation dot segments must be non-empty'));
    // transport bound before grammar
    expect(failure(`NETBAT/1 CALL ${'/'.repeat(200)} 00\n`)[0]).toBe('operation_name_too_long');
    // odd length, then size, then digits
    expect(failure('NETBAT/1 CALL ping zzz\n', { maxInputBytes: 1 })).toEqual(malformed('hex input has odd length'));
    expect(failure('NETBAT/1 CALL ping zzzz\n', { maxInputBytes: 1 })[0]).toBe('input_too_large');
  });

  it('counts the terminating newline in the line bound', () => {
    const line = text('NETBAT/1 CALL ping 00\n'); // 22 bytes
    expect(decodeRequestLine(line, { ...DEFAULT_LIMITS, maxLineBytes: 22 }).operation).toBe('ping');
    expect(failure(line, { maxLineBytes: 21 })[0]).toBe('line_too_long');
  });

  it('reports the grammar bound when the transport bound is configured above it', () => {
    expect(failure(`NETBAT/1 CALL ${'a'.repeat(129)} 00\n`, { maxOperationNameBytes: 1000 })).toEqual([
      'operation_name_too_long',
      'operation name exceeded 128 bytes',
    ]);
  });
});

describe('decodeResponseLine', () => {
  it('decodes OK and ERR lines, and maps an unknown token to runtime', () => {
    expect(decodeResponseLine(text('OK \n'))).toEqual({ ok: true, output: new Uint8Array() });
    expect(decodeResponseLine(text('OK 6869'))).toEqual({ ok: true, output: text('hi') });
    expect(decodeResponseLine(text('ERR handler 6869\n'))).toEqual({ ok: false, code: 'handler', message: 'hi' });
    expect(decodeResponseLine(text('ERR brand_new 6869\n'))).toEqual({ ok: false, code: 'runtime', message: 'hi' });
  });

  it('refuses anything else as an io error', () => {
    for (const bad of ['', 'OK', 'OK 6', 'OK zz', 'OK 00 00', 'ERR x', 'ERR x 6', 'HELLO', 'ok 00']) {
      expect(() => decodeResponseLine(text(bad)), bad).toThrow(NetbatError);
    }
  });
});

describe('hex', () => {
  it('encodes lowercase and decodes either case', () => {
    expect(encodeHex(new Uint8Array([0, 0xab, 0xff]))).toBe('00abff');
    expect(decodeHex('00ABff')).toEqual({ ok: true, bytes: new Uint8Array([0, 0xab, 0xff]) });
    expect(decodeHex('')).toEqual({ ok: true, bytes: new Uint8Array() });
  });

  it('checks odd length, then size, then digits', () => {
    expect(decodeHex('abc')).toEqual({ ok: false, failure: 'odd_length' });
    expect(decodeHex('zzzz', 1)).toEqual({ ok: false, failure: 'too_large' });
    expect(decodeHex('zz')).toEqual({ ok: false, failure: 'not_hex' });
    expect(decodeHex('0 ')).toEqual({ ok: false, failure: 'not_hex' });
  });
});
