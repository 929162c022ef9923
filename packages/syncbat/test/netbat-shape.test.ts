// Compile-time and run-time check that a Core is a netbat Dispatcher and a SubscriptionRuntime a netbat
// SubscriptionSource. The two interfaces are mirrored from packages/netbat/src/{dispatcher,subscription-source}.ts
// (syncbat must not depend on netbat); if netbat's shapes change, update the mirrors.
import { describe, expect, it } from 'vitest';
import { CoreBuilder, RuntimeError, SubscriptionRegistry, SubscriptionRuntime, defineOperation } from '../src/index.js';
import { bytes, simStore } from './helpers/fixtures.js';

interface NetbatDispatcher {
  dispatch(name: string, input: Uint8Array, opts?: { readonly signal?: AbortSignal }): Promise<{ readonly outcome: string; readonly output: Uint8Array }>;
}

type NetbatItem =
  | { readonly kind: 'event'; readonly cursorBefore?: Uint8Array; readonly cursorAfter: Uint8Array; readonly schemaRef: string; readonly payload: Uint8Array }
  | { readonly kind: 'watermark'; readonly cursorAfter: Uint8Array }
  | { readonly kind: 'end'; readonly cursorAfter?: Uint8Array; readonly reason: string };

interface NetbatSubscriptionSource {
  open(request: {
    readonly subscriptionId: string;
    readonly resumeCursor?: Uint8Array;
    readonly clientWindow: number;
    readonly signal: AbortSignal;
  }): AsyncIterable<NetbatItem> | Promise<AsyncIterable<NetbatItem>>;
}

const RUNTIME_TOKENS = new Set(['unknown_operation', 'missing_handler', 'handler', 'receipt_sink', 'runtime']);

describe('netbat seams', () => {
  it('a Core is a Dispatcher whose failures declare a netbat runtime token', async () => {
    const core: NetbatDispatcher = new CoreBuilder()
      .register(defineOperation({ name: 'ping', effectClass: 'compute', handler: () => bytes('pong') }))
      .withoutReceipts()
      .build();
    await expect(core.dispatch('ping', new Uint8Array())).resolves.toMatchObject({ outcome: 'completed', output: bytes('pong') });
    const err = await core.dispatch('nope', new Uint8Array()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(RUNTIME_TOKENS.has((err as RuntimeError).code)).toBe(true);
  });

  it('a SubscriptionRuntime is a SubscriptionSource', async () => {
    const store = await simStore(31);
    try {
      const source: NetbatSubscriptionSource = new SubscriptionRuntime(
        store,
        new SubscriptionRegistry().insert('x.v1', { kind: 'event-category', category: 1, wirePayloadSchemaRef: 'x.env.v1' }),
      );
      const controller = new AbortController();
      const iterable = await source.open({ subscriptionId: 'x.v1', clientWindow: 4, signal: controller.signal });
      expect(typeof iterable[Symbol.asyncIterator]).toBe('function');
      controller.abort();
    } finally {
      await store.close();
    }
  });
});
