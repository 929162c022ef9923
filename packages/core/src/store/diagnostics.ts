// The store's diagnostics_channel tracing channels (batpak:append, batpak:commit, batpak:compact,
// batpak:shred, batpak:verify): what an APM or a metrics exporter subscribes to without a dependency in core.
// Invariant: with no subscriber an operation runs exactly as untraced — no context object is built (hasSubscribers first).

import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel';

/** The names of the store's tracing channels (`diagnostics_channel.tracingChannel(name)` subscribes to one). */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  append: 'batpak:append',
  commit: 'batpak:commit',
  compact: 'batpak:compact',
  shred: 'batpak:shred',
  verify: 'batpak:verify',
} as const);

/** One event of a traced append: its address and kind, before it has a sequence. */
export interface AppendTraceEvent {
  readonly entity: string;
  readonly scope: string;
  /** The raw u16 kind (category << 12 | typeId). */
  readonly kind: number;
  readonly eventId: string;
}

/** Context of `batpak:append`: one append, appendBatch or importEvents call, from queueing to its receipts. */
export interface AppendTraceContext {
  readonly operation: 'append' | 'appendBatch' | 'importEvents';
  readonly store: string;
  readonly events: readonly AppendTraceEvent[];
  /** Set by the tracing channel: the receipt (append) or receipts; `error` when the append failed. */
  result?: unknown;
  error?: unknown;
}

/**
 * Context of `batpak:commit`: one commit group. The counts are set at `start`; the times (milliseconds)
 * when the group has been written, so read them at `asyncEnd`.
 */
export interface CommitTraceContext {
  readonly store: string;
  /** Appends, batches and imports in the group. */
  readonly intents: number;
  /** Items still queued behind this group when it started. */
  readonly queueDepth: number;
  /** How long the group's oldest item waited in the queue. */
  readonly queueWaitMs: number;
  /** Events written (0 when every intent was refused or replayed). */
  events: number;
  /** Bytes written (frames, seal included). */
  bytes: number;
  /** The group's write; under sync 'always' on a file opened O_DSYNC this includes making it durable. */
  writeMs: number;
  /** 0 under sync 'none', and when the write itself was durable (FsFile.appendsDurable). */
  fsyncMs: number;
  error?: unknown;
}

/** Context of `batpak:compact`: the strategy; `result` is the CompactionResult. */
export interface CompactTraceContext {
  readonly store: string;
  readonly strategy: 'merge' | 'retention' | 'tombstone';
  result?: unknown;
  error?: unknown;
}

/** Context of `batpak:shred`: the selector as given; `result` is the ShredResult. */
export interface ShredTraceContext {
  readonly store: string;
  readonly selector: unknown;
  result?: unknown;
  error?: unknown;
}

/** Context of `batpak:verify`: one verifyChain; `result` is the ChainVerificationReport. */
export interface VerifyTraceContext {
  readonly store: string;
  readonly operation: 'verifyChain';
  result?: unknown;
  error?: unknown;
}

const channels = {
  append: tracingChannel<unknown, AppendTraceContext>(DIAGNOSTICS_CHANNELS.append),
  commit: tracingChannel<unknown, CommitTraceContext>(DIAGNOSTICS_CHANNELS.commit),
  compact: tracingChannel<unknown, CompactTraceContext>(DIAGNOSTICS_CHANNELS.compact),
  shred: tracingChannel<unknown, ShredTraceContext>(DIAGNOSTICS_CHANNELS.shred),
  verify: tracingChannel<unknown, VerifyTraceContext>(DIAGNOSTICS_CHANNELS.verify),
};

/**
 * Runs `run` inside the named tracing channel; without a subscriber, just runs it (the context
 * builder is not even called).
 */
export function traced<K extends keyof typeof channels, T>(name: K, context: () => ContextOf<K>, run: () => Promise<T>): Promise<T> {
  const ch = channels[name] as unknown as TracingChannel<unknown, ContextOf<K>>;
  if (!ch.hasSubscribers) return run();
  return ch.tracePromise(run, context());
}

/** Whether the named channel has a subscriber: a hot caller checks it before making `traced`'s closures. */
export function isTraced(name: keyof typeof channels): boolean {
  return channels[name].hasSubscribers;
}

type ContextOf<K extends keyof typeof channels> = (typeof channels)[K] extends TracingChannel<unknown, infer C> ? C : never;
