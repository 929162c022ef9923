// Public surface of @batpak/netbat: the NETBAT/1 + NETBAT/2 codecs, the server, the client, and the seams they serve.
// Invariant: nothing is exported that is not part of the documented API in README.md.

export {
  CONFIG_ERROR_CODES,
  LOCAL_ERROR_CODES,
  NetbatError,
  WIRE_ERROR_CODES,
  isNetbatError,
  isWireErrorCode,
  type ConfigErrorCode,
  type LocalErrorCode,
  type NetbatErrorCode,
  type RuntimeErrorCode,
  type WireErrorCode,
} from './errors.js';
export {
  CALL_VERB,
  DEFAULT_LIMITS,
  LINE_PROTOCOL_VERSION,
  PROTOCOL_PREFIX,
  STREAM_PROTOCOL_VERSION,
  STREAM_VERBS,
  type Limits,
  type StreamVerb,
} from './limits.js';
export { decodeHex, encodeHex, type HexDecoded, type HexFailure } from './hex.js';
export {
  decodeRequestLine,
  decodeResponseLine,
  encodeErrResponse,
  encodeOkResponse,
  encodeRequest,
  type RequestFrame,
  type ResponseFrame,
} from './frame.js';
export {
  decodeStreamLine,
  encodeStreamFrame,
  type StreamFrame,
  type SubAckFrame,
  type SubCancelFrame,
  type SubEndFrame,
  type SubErrFrame,
  type SubEventFrame,
  type SubWatermarkFrame,
  type SubscribeFrame,
} from './stream-frame.js';
export { runtimeErrorCode, type DispatchOptions, type DispatchResult, type Dispatcher } from './dispatcher.js';
export {
  STREAM_ERROR_CODES,
  type StreamErrorCode,
  type SubscriptionItem,
  type SubscriptionOpenRequest,
  type SubscriptionSource,
} from './subscription-source.js';
export { DEFAULT_TIMEOUTS, type Timeouts } from './timeouts.js';
export type { ServerStats } from './stats.js';
export type { TlsServerOptions } from './tls-config.js';
export {
  ANONYMOUS_PRINCIPAL,
  UNMAPPED_CERTIFICATE_PREFIX,
  type AuthOptions,
  type CertificateCredential,
  type TokenCredential,
} from './auth.js';
export { AUTH_VERB, TOKEN_SCHEME, encodeAuthLine } from './auth-line.js';
export { DEFAULT_ANONYMOUS_GRANTS, SUBSCRIBE_GRANT_PREFIX } from './grants.js';
export { DEFAULT_MAX_CONNECTIONS_PER_CLIENT } from './client-limits.js';
export { RECLAIMED_END_REASON } from './subscription-session.js';
export {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_SUBSCRIPTION_WINDOW,
  DEFAULT_RECLAIM_IDLE_MS,
  createServer,
  type ConnectionLimit,
  type FairnessOptions,
  type ListenAddress,
  type NetbatServer,
  type ServerOptions,
  type SubscriptionOptions,
} from './server.js';
export { connect, type CallOptions, type ClientOptions, type NetbatClient } from './client.js';
export type { ClientTimeouts, ClientTlsOptions } from './client-socket.js';
export type { AckableDelivery, SubscribeOptions, Subscription, SubscriptionDelivery } from './client-subscription.js';
export {
  DEFAULT_RECEIPT_COORDINATE,
  createTerminalCore,
  terminalOperations,
  type TerminalCoreOptions,
  type TerminalOptions,
} from './terminals/core.js';
export {
  PAYLOAD_DECRYPT_CAPABILITY,
  STORE_EVENTS_READ,
  TERMINAL_MAX_PAGE,
  TERMINAL_OPERATIONS,
  type TerminalOperation,
} from './terminals/names.js';
export { TERMINAL_CODECS, type TerminalAck, type TerminalCodecs, type TerminalMessages, type TerminalRequest } from './terminals/codecs.js';
export type { MessageCodec } from './terminals/wire.js';
export type { HeartbeatAck, HeartbeatRequest } from './terminals/heartbeat.js';
export type { EventGetAck, EventGetRequest } from './terminals/event-get.js';
export type { EventQueryAck, EventQueryRequest } from './terminals/event-query.js';
export type { EventWalkAck, EventWalkRequest } from './terminals/event-walk.js';
export type { EventSummary } from './terminals/summary.js';
export { claimOf, type ReceiptClaim } from './terminals/receipt-claim.js';
export { reasonCodeOf, type ReceiptVerifyAck, type ReceiptVerifyOutcome } from './terminals/receipt-verify.js';
export { DEFAULT_COMMIT_KINDS, type BankCommitRequest } from './terminals/bank-commit.js';
export { TerminalEffectBackend, type CommitIntent } from './terminals/backend.js';
export { TERMINAL_EVENT_SCHEMA_REF, createTerminalSubscriptions, terminalSubscriptionId } from './terminals/subscriptions.js';
export { terminalClient, type TerminalClient } from './terminals/client.js';
