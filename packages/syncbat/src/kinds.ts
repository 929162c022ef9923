// The store event kinds syncbat writes: custom category 0xC, type ids 0x5B7..0x5B9, as in Rust syncbat.
// Invariant: these are user kinds (not 0x0/0xD), so any core store accepts them and chains and signs them like any event.

import type { EventKind } from '@batpak/core';

/** Receipt envelopes (raw `0xC5B7`). */
export const SYNCBAT_RECEIPT_KIND: EventKind = Object.freeze({ category: 0xc, typeId: 0x5b7 });
/** Durable operation-catalog rows (raw `0xC5B8`); reserved, not written yet. */
export const SYNCBAT_REGISTER_ROW_KIND: EventKind = Object.freeze({ category: 0xc, typeId: 0x5b8 });
/** Operation status facts (raw `0xC5B9`). */
export const SYNCBAT_OPERATION_STATUS_KIND: EventKind = Object.freeze({ category: 0xc, typeId: 0x5b9 });
