// The network and syncbat cells' persist operation (issue 25): `bench.persist`, whose handler appends one 200 B event
// through its Ctx, with the effect and the receipt banked in the same store. Shared by scenario 6, syncbat-cost.mjs,
// syncbat's persist-ab.mjs and netbat's serve-ab.mjs, so every persist figure measures the same operation.
// Invariant: the caller passes its own syncbat and Coordinate (each resolves @batpak/* from its own install or dist).

export const PERSIST = 'bench.persist';
export const PERSIST_KIND = { category: 1, typeId: 1 };
export const PERSIST_PAYLOAD = new Uint8Array(200).map((_, i) => (i * 131 + 7) & 0xff);
export const PERSIST_INPUT = new Uint8Array(16).fill(3);

/** A Core with `bench.persist` registered over `store`: effects at bench:orders, receipts at bench:receipts. */
export function persistCore({ CoreBuilder, defineOperation, StoreEffectBackend, StoreReceiptSink }, Coordinate, store) {
  return new CoreBuilder()
    .register(
      defineOperation({
        name: PERSIST,
        effectClass: 'persist',
        effects: { appends: ['evt.1001'] },
        handler: async (input, ctx) => {
          await ctx.appendEvent(PERSIST_KIND, PERSIST_PAYLOAD);
          return input;
        },
      }),
    )
    .effectBackend(new StoreEffectBackend(store, new Coordinate('bench:orders', 'bench')))
    .receiptSink(new StoreReceiptSink(store, new Coordinate('bench:receipts', 'bench')))
    .build();
}
