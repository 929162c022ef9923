// Public surface of @batpak/hostbat: compose syncbat modules into a fingerprinted host that netbat can serve.
// Invariant: everything a user programs against is exported here; nothing else is API.

export { HOST_ERROR_CODES, HostError, isHostError, type HostErrorCode, type HostErrorDetail, type HostErrorKind } from './errors.js';
export { Digest } from './digest.js';
export {
  SCHEMA_ROLES,
  SchemaDescriptor,
  schemaDescriptor,
  type GoldenVector,
  type SchemaDescriptorInit,
  type SchemaDescriptorJson,
  type SchemaIdentityJson,
  type SchemaRole,
} from './schema.js';
export { SchemaRegistry } from './schema-registry.js';
export {
  SUBSCRIPTION_WIRE_REQUIRES,
  subscriptionDescriptor,
  type BackpressurePolicy,
  type SubscriptionDelivery,
  type SubscriptionDescriptor,
  type SubscriptionDescriptorInit,
  type SubscriptionSource,
} from './subscription.js';
export type { EventPayloadBinding } from './event-payload-binding.js';
export type { GuardDescriptor, HookDescriptor, HookPhase, JobDescriptor } from './declarations.js';
export { HostModuleManifest, type HostModuleManifestJson, type OperationJson } from './manifest.js';
export { HostModule, HostModuleBuilder, type JobBody, type LifecycleHook } from './module.js';
export { HostCompositionManifest, type CompositionSchema, type HostCompositionManifestJson } from './composition.js';
export { ValidatingEffectBackend } from './validating-effect-backend.js';
export { HostControlEffectBackend, HostControlError, type HostControlEffectBackendOptions, type HostController } from './host-control-backend.js';
export type { JobOutcome, JobStatus, Supervisor } from './supervisor.js';
export { HostBuilder } from './builder.js';
export type { Host, HostDispatcher, HostManifestJson, OwnedBinding, OwnedSubscription } from './host.js';
