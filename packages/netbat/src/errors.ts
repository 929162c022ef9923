// The one error class of @batpak/netbat: every failure a peer or caller can see is a NetbatError with a stable `code`.
// Invariant: WIRE_ERROR_CODES are the exact `ERR <code>` tokens of README § ERR codes (Rust `NetbatError::code`); tokens are never renamed.

/** Every token that can appear as `<code>` in an `ERR <code> <hex>` response line. Stable wire API. */
export const WIRE_ERROR_CODES = [
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
  // Added by batpak (not in Rust netbat): access control and per-client limits.
  'unauthorized',
  'too_many_connections',
] as const;

/** Codes thrown locally at startup (bad options, unusable TLS PEM). Never sent on the wire. */
export const CONFIG_ERROR_CODES = ['invalid_option', 'tls_config'] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];
/** Codes of a client-side outcome the caller chose (an aborted `call`). Never sent on the wire. */
export const LOCAL_ERROR_CODES = ['aborted'] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];
export type NetbatErrorCode = WireErrorCode | ConfigErrorCode | LocalErrorCode;

/** The subset a dispatcher failure maps to (see `runtimeErrorCode`). */
export type RuntimeErrorCode = Extract<
  WireErrorCode,
  'unknown_operation' | 'missing_handler' | 'handler' | 'receipt_sink' | 'runtime'
>;

const WIRE_SET: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

export function isWireErrorCode(token: string): token is WireErrorCode {
  return WIRE_SET.has(token);
}

/**
 * `message` is the display text; on the wire it travels hex-encoded as UTF-8, byte for byte the
 * Rust `Display` of the same error, so both implementations emit identical ERR lines.
 */
export class NetbatError extends Error {
  override readonly name = 'NetbatError';
  readonly code: NetbatErrorCode;

  constructor(code: NetbatErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }

  // One factory per wire code, so a throw site reads as a sentence and the text cannot drift.
  static io(detail: string, cause?: unknown): NetbatError {
    return new NetbatError('io', `io error: ${detail}`, { cause });
  }
  static emptyStream(): NetbatError {
    return new NetbatError('empty_stream', 'empty stream');
  }
  static lineTooLong(max: number): NetbatError {
    return new NetbatError('line_too_long', `request line exceeded ${max} bytes`);
  }
  static malformedRequest(reason: string): NetbatError {
    return new NetbatError('malformed_request', `malformed request: ${reason}`);
  }
  static unsupportedProtocolVersion(version: string): NetbatError {
    return new NetbatError('unsupported_protocol_version', `unsupported protocol version: ${version}`);
  }
  static operationNameTooLong(max: number): NetbatError {
    return new NetbatError('operation_name_too_long', `operation name exceeded ${max} bytes`);
  }
  static inputTooLarge(max: number): NetbatError {
    return new NetbatError('input_too_large', `input exceeded ${max} bytes`);
  }
  static outputTooLarge(max: number): NetbatError {
    return new NetbatError('output_too_large', `output exceeded ${max} bytes`);
  }
  static malformedStreamFrame(reason: string): NetbatError {
    return new NetbatError('malformed_stream_frame', `malformed stream frame: ${reason}`);
  }
  static subscriptionIdTooLong(max: number): NetbatError {
    return new NetbatError('subscription_id_too_long', `subscription id exceeded ${max} bytes`);
  }
  static cursorTooLarge(max: number): NetbatError {
    return new NetbatError('cursor_too_large', `cursor exceeded ${max} bytes`);
  }
  static streamPayloadTooLarge(max: number): NetbatError {
    return new NetbatError('stream_payload_too_large', `stream payload exceeded ${max} bytes`);
  }
  static streamMessageTooLarge(max: number): NetbatError {
    return new NetbatError('stream_message_too_large', `stream error message exceeded ${max} bytes`);
  }
  /** A dispatcher failure: `display` is the runtime error's own text. */
  static runtime(code: RuntimeErrorCode, display: string, cause?: unknown): NetbatError {
    return new NetbatError(code, `runtime error: ${display}`, { cause });
  }
  /** A failed AUTH line, or a CALL/SUBSCRIBE the client's grants do not cover. */
  static unauthorized(detail: string): NetbatError {
    return new NetbatError('unauthorized', `unauthorized: ${detail}`);
  }
  /** An authenticated principal that already holds `fairness.maxConnectionsPerClient` connections. */
  static tooManyConnections(max: number): NetbatError {
    return new NetbatError('too_many_connections', `too many connections: at most ${max} per client`);
  }
  static invalidOption(detail: string): NetbatError {
    return new NetbatError('invalid_option', `invalid option: ${detail}`);
  }
  static tlsConfig(detail: string, cause?: unknown): NetbatError {
    return new NetbatError('tls_config', `tls configuration rejected: ${detail}`, { cause });
  }
  /** The caller's AbortSignal fired; `cause` is the signal's reason. */
  static aborted(what: string, cause?: unknown): NetbatError {
    return new NetbatError('aborted', `${what} was aborted`, { cause });
  }
}

/** Narrowing helper: `isNetbatError(e, 'line_too_long')`. */
export function isNetbatError(err: unknown, code?: NetbatErrorCode): err is NetbatError {
  return err instanceof NetbatError && (code === undefined || err.code === code);
}
