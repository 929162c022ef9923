// Public surface of @batpak/natsbat: the exporter, the consumer helpers, the wire mapping and the errors.
// Everything a user programs against is exported here; internals are not.

export { JournalExporter, type ExporterOptions, type ExportRunOptions, type ExportProgress } from './exporter.js';
export type { StreamSettings } from './stream.js';
export type { Watermark } from './watermark.js';
export { readExported, verifyExported, type ReadExportedOptions, type VerifyExportedOptions } from './consumer.js';
export { consumeExported, type ConsumeExportedOptions, type ConsumedEvent } from './group.js';
export { replicate, type ReplicateOptions, type ReplicationProgress } from './replicate.js';
export { decodeExportedPayload, defaultPayloadDecoder, type PayloadDecoder } from './payload.js';
export { ExportVerifier, type StreamVerificationReport } from './verify.js';
export { decodeExportedMessage, msgIdOf, HEADERS, WIRE_FORMAT, READABLE_WIRE_FORMATS, type ExportedEvent, type IncomingMessage } from './message.js';
export { entityToken, ENTITY_TOKEN_MAX } from './subject.js';
export { NatsbatError, NATSBAT_ERROR_CODES, isNatsbatError, type NatsbatErrorCode, type NatsbatErrorDetails } from './errors.js';
