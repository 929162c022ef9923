// Public surface of @batpak/syncbat: the capability-checked effect runtime with receipts. Internals stay unexported.
// Invariant: everything a user programs against is here; nothing else is API.

export {
  MAX_OPERATION_NAME_BYTES,
  OperationNameError,
  checkOperationName,
  describeOperationNameViolation,
  findOperationNameViolation,
  parseOperationName,
  type OperationName,
  type OperationNameCheck,
  type OperationNameViolation,
  type OperationNameViolationKind,
} from './operation-name.js';
export { EFFECT_CLASSES, isEffectClass, type EffectClass } from './effect-class.js';
export {
  AMBIENT_CAPABILITIES,
  EFFECT_ROW_LISTS,
  EffectRow,
  appendTarget,
  isAmbientCapability,
  type EffectRowInit,
  type EffectRowList,
  type EffectViolation,
} from './effect-row.js';
export { DescriptorValidationError, MAX_DESCRIPTOR_REF_BYTES, type DescriptorMessage } from './descriptor-error.js';
export {
  descriptorsEqual,
  operationDescriptor,
  snapshotDescriptor,
  validateDescriptor,
  type OperationDescriptor,
  type OperationDescriptorInit,
} from './descriptor.js';
export { defineOperation, type DefineOperationInit, type Operation, type OperationEffects } from './define-operation.js';
export { HandlerError, type Handler, type HandlerErrorClass } from './handler.js';
export { Module } from './module.js';
export { admit, deny, type AdmissionDecision, type AdmissionGuard } from './admission.js';
export type { Ctx, ReceiptMetadata } from './ctx.js';
export { EffectError, type EffectBackend, type EffectErrorCode } from './effect-backend.js';
export { StoreEffectBackend, stageAppendsThrough } from './store-effect-backend.js';
export type { AppendCheck } from './store-binding.js';
export { MAX_STAGED_APPENDS, type StagedAppend } from './store-commit.js';
export {
  BUILD_ERROR_CODES,
  BuildError,
  RuntimeError,
  type BuildErrorCode,
  type BuildErrorDetail,
  type HandlerCause,
  type RuntimeErrorCode,
  type RuntimeErrorDetail,
} from './errors.js';
export {
  DESCRIPTOR_ERROR_CODE,
  EFFECT_ERROR_CODES,
  HANDLER_ERROR_CODES,
  OPERATION_NAME_ERROR_CODE,
  RUNTIME_ERROR_CODES,
  SYNCBAT_ERROR_CODES,
  SyncbatError,
  isSyncbatError,
  type HandlerErrorCode,
  type SyncbatErrorCode,
} from './syncbat-error.js';
export { CoreBuilder } from './builder.js';
export { DEFAULT_MAX_CONCURRENT_DISPATCHES } from './dispatch-queue.js';
export type { Core, DispatchOptions, DispatchResult } from './core.js';
export { CALLER_PRINCIPAL_KEY, type Caller } from './caller.js';
export { SYNCBAT_OPERATION_STATUS_KIND, SYNCBAT_RECEIPT_KIND, SYNCBAT_REGISTER_ROW_KIND } from './kinds.js';
export {
  decodeReceiptEnvelope,
  encodeReceiptEnvelope,
  type ReceiptEnvelope,
  type ReceiptOutcome,
  type ReceiptOutcomeClass,
} from './receipt/envelope.js';
export type { ReceiptHashPolicy } from './receipt/hash-policy.js';
export { SYNCBAT_EFFECTS_KEY, decodeInvocationEffects, encodeInvocationEffects, type InvocationEffects } from './receipt/effects.js';
export { RESERVED_RECEIPT_KEY_PREFIX, isReservedReceiptKey } from './receipt/reserved.js';
export { RECEIPT_LIMITS } from './receipt/limits.js';
export type { ReceiptSink, RecordedReceipt } from './receipt/sink.js';
export { StoreReceiptSink, encodeDrawerBlob, receiptExtensions, syncbatExtensionKey } from './receipt/store-sink.js';
export {
  decodeOperationStatusFact,
  encodeOperationStatusFact,
  type OperationLifecycle,
  type OperationStatusFact,
} from './status/fact.js';
export {
  OPERATION_STATUS_ENTITY_PREFIX,
  OPERATION_STATUS_SCOPE,
  StoreOperationStatusSink,
  operationStatusEntity,
  type OperationStatusSink,
} from './status/sink.js';
export { STREAM_CODES, SubscriptionError, type StreamCode, type SubscriptionErrorKind } from './subscription/error.js';
export { MAX_SUBSCRIPTION_ID_BYTES, findSubscriptionIdViolation } from './subscription/id.js';
export {
  EVENT_CURSOR_V1_LEN,
  decodeEventCursor,
  encodeEventCursor,
  type EventStreamCursor,
} from './subscription/cursor.js';
export { encodeEventStreamEnvelope, type EventEnvelopeInput } from './subscription/envelope.js';
export { SubscriptionRegistry, type EventCategoryRoute, type SubscriptionRoute } from './subscription/registry.js';
export type { StreamItem } from './subscription/event-stream.js';
export {
  SubscriptionRuntime,
  type SubscriptionOpenRequest,
  type SubscriptionRuntimeConfig,
  type SubscriptionStream,
} from './subscription/runtime.js';
export { rustDebugString } from './rust-debug.js';
