// Operation status sinks: an optional second record stream next to receipts, written even without a receipt sink.
// Invariant: one entity per operation (`syncbat:operation-status:{op}` @ `scope:operation-status`), so a status view folds one stream.

import { Coordinate, type Store } from '@batpak/core';
import { SYNCBAT_OPERATION_STATUS_KIND } from '../kinds.js';
import { encodeOperationStatusFact, type OperationStatusFact } from './fact.js';
import { bindToStore } from '../store-binding.js';

export interface OperationStatusSink {
  /** Throwing makes the dispatch fail with a `status_sink` RuntimeError (wire code `runtime`). */
  recordFact(fact: OperationStatusFact): Promise<void> | void;
}

export const OPERATION_STATUS_SCOPE = 'scope:operation-status';
export const OPERATION_STATUS_ENTITY_PREFIX = 'syncbat:operation-status:';

/** The entity of one operation's status stream; throws ERR_INVALID_COORDINATE if the result is not a valid entity. */
export function operationStatusEntity(operation: string): string {
  const entity = `${OPERATION_STATUS_ENTITY_PREFIX}${operation}`;
  void new Coordinate(entity, OPERATION_STATUS_SCOPE);
  return entity;
}

/** Appends each fact as raw canonical bytes under {@link SYNCBAT_OPERATION_STATUS_KIND} (0xC5B9). */
export class StoreOperationStatusSink implements OperationStatusSink {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
    bindToStore(this, StoreOperationStatusSink, store);
  }

  async recordFact(fact: OperationStatusFact): Promise<void> {
    const coord = new Coordinate(operationStatusEntity(fact.operation), OPERATION_STATUS_SCOPE);
    await this.#store.appendRaw(coord, SYNCBAT_OPERATION_STATUS_KIND, encodeOperationStatusFact(fact));
  }
}
