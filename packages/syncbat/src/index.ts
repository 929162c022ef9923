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
  validateDescriptor,
  type OperationDescriptor,
  type OperationDescriptorInit,
} from './descriptor.js';
