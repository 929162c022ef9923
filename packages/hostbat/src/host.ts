// Host: one composed syncbat Core plus content identity (H_host, H_interface) and lifecycle (hooks, supervised jobs).
// Invariant: dispatch is the Core's (no re-implemented checkout); hooks run in the global (order, module id, name) order.

import type { Core, DispatchOptions, DispatchResult, OperationDescriptor } from '@batpak/syncbat';
import type { HostCompositionManifest, HostCompositionManifestJson } from './composition.js';
import type { HookDescriptor } from './declarations.js';
import type { Digest } from './digest.js';
import { HostError, messageOf } from './errors.js';
import type { EventPayloadBinding } from './event-payload-binding.js';
import type { HostModuleManifest, HostModuleManifestJson } from './manifest.js';
import type { JobBody, LifecycleHook } from './module.js';
import type { SchemaRegistry } from './schema-registry.js';
import type { SubscriptionDescriptor } from './subscription.js';
import { Supervisor } from './supervisor.js';

/** A hook bound to its module, ready for the global schedule. */
export interface HostHook {
  readonly module: string;
  readonly descriptor: HookDescriptor;
  readonly run: LifecycleHook;
}

export interface HostParts {
  readonly core: Core;
  readonly fingerprint: Digest;
  readonly interfaceFingerprint: Digest;
  /** Mount order. */
  readonly modules: readonly HostModuleManifest[];
  readonly composition: HostCompositionManifest;
  readonly registry: SchemaRegistry;
  /** Each already in (order, module id, name) order. */
  readonly startup: readonly HostHook[];
  readonly shutdown: readonly HostHook[];
  readonly jobs: ReadonlyMap<string, JobBody>;
}

/** What netbat's `createServer({ dispatcher })` needs — structurally its `Dispatcher`. */
export interface HostDispatcher {
  dispatch(name: string, input: Uint8Array, options?: DispatchOptions): Promise<DispatchResult>;
}

/** The whole host as plain JSON: identities, every module manifest (by id) and the schema composition. */
export interface HostManifestJson {
  readonly fingerprint: string;
  readonly interfaceFingerprint: string;
  readonly modules: readonly HostModuleManifestJson[];
  readonly composition: HostCompositionManifestJson;
}

export interface OwnedSubscription {
  readonly moduleId: string;
  readonly subscription: SubscriptionDescriptor;
}

export interface OwnedBinding {
  readonly moduleId: string;
  readonly binding: EventPayloadBinding;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

let create: (parts: HostParts) => Host;

/** Internal: HostBuilder.build() is the only way to make a Host. */
export function newHost(parts: HostParts): Host {
  return create(parts);
}

export class Host implements HostDispatcher {
  readonly #p: HostParts;
  readonly #supervisor = new Supervisor();
  #jobsController = new AbortController();
  #started = false;
  #stopping = false;
  // Lifecycle transitions (start, shutdown) run one at a time, in call order.
  #lifecycle: Promise<void> = Promise.resolve();

  static {
    create = (parts) => new Host(parts);
  }

  private constructor(parts: HostParts) {
    this.#p = parts;
  }

  /** H_host: the mounted module set. */
  fingerprint(): Digest {
    return this.#p.fingerprint;
  }

  /** H_interface: what clients see. */
  interfaceFingerprint(): Digest {
    return this.#p.interfaceFingerprint;
  }

  compositionSchemas(): HostCompositionManifest {
    return this.#p.composition;
  }

  schemaRegistry(): SchemaRegistry {
    return this.#p.registry;
  }

  /** Module manifests sorted by module id. */
  modules(): readonly HostModuleManifest[] {
    return [...this.#p.modules].sort((a, b) => byString(a.id, b.id));
  }

  /** Every hosted operation, sorted by name. */
  operations(): readonly OperationDescriptor[] {
    return this.#p.core.operations();
  }

  subscriptions(): readonly OwnedSubscription[] {
    return this.#p.modules
      .flatMap((m) => m.subscriptions.map((subscription) => ({ moduleId: m.id, subscription })))
      .sort((a, b) => byString(a.subscription.id, b.subscription.id));
  }

  eventPayloadBindings(): readonly OwnedBinding[] {
    return this.#p.modules
      .flatMap((m) => m.eventPayloadBindings.map((binding) => ({ moduleId: m.id, binding })))
      .sort((a, b) => a.binding.kind - b.binding.kind);
  }

  manifest(): HostManifestJson {
    return {
      fingerprint: this.#p.fingerprint.toHex(),
      interfaceFingerprint: this.#p.interfaceFingerprint.toHex(),
      modules: this.modules().map((m) => m.toJSON()),
      composition: this.#p.composition.toJSON(),
    };
  }

  get isStarted(): boolean {
    return this.#started;
  }

  /**
   * Runs the startup hooks in global order. The first failure rejects with HostError `ERR_STARTUP_HOOK` and the host
   * stays not started (hooks that already ran are not undone). On a started host this is a no-op.
   */
  start(): Promise<void> {
    return this.#transition(async () => {
      if (this.#started) return;
      for (const h of this.#p.startup) {
        try {
          await h.run();
        } catch (err) {
          throw new HostError({ kind: 'startup_hook', module: h.module, hook: h.descriptor.name, detail: messageOf(err) }, { cause: err });
        }
      }
      this.#started = true;
    });
  }

  /**
   * Runs every shutdown hook in global order (a failure does not stop the rest), then aborts the jobs' signal and
   * joins them, then marks the host not started. Rejects with the first hook failure (`ERR_SHUTDOWN_HOOK`), if any.
   */
  shutdown(): Promise<void> {
    return this.#transition(async () => {
      this.#stopping = true;
      let first: HostError | undefined;
      try {
        for (const h of this.#p.shutdown) {
          try {
            await h.run();
          } catch (err) {
            first ??= new HostError({ kind: 'shutdown_hook', module: h.module, hook: h.descriptor.name, detail: messageOf(err) }, { cause: err });
          }
        }
        this.#jobsController.abort(new Error('host shutdown'));
        await this.#supervisor.joinAll();
      } finally {
        this.#jobsController = new AbortController();
        this.#started = false;
        this.#stopping = false;
      }
      if (first !== undefined) throw first;
    });
  }

  /** `shutdown()`, so `await using host = …` runs the shutdown hooks and joins the jobs at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #transition(step: () => Promise<void>): Promise<void> {
    const run = this.#lifecycle.then(step);
    this.#lifecycle = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Dispatches through the composed Core (capability gate, guard, schema checks, effects, one receipt). No start() needed. */
  invoke(name: string, input: Uint8Array, options?: DispatchOptions): Promise<DispatchResult> {
    return this.#p.core.dispatch(name, input, options);
  }

  /** Same as invoke: the netbat Dispatcher method, so a Host can be passed to `createServer({ dispatcher: host })`. */
  dispatch(name: string, input: Uint8Array, options?: DispatchOptions): Promise<DispatchResult> {
    return this.#p.core.dispatch(name, input, options);
  }

  /** A dispatcher exposing only `dispatch` — hand this to netbat when the server should not hold the whole Host. */
  toDispatcher(): HostDispatcher {
    const core = this.#p.core;
    return Object.freeze({ dispatch: (name: string, input: Uint8Array, options?: DispatchOptions) => core.dispatch(name, input, options) });
  }

  /** Starts a fresh body of a declared job kind. `ERR_UNKNOWN_JOB_KIND`; `ERR_SPAWN` while shutting down. */
  spawnJob(kind: string): void {
    const body = this.#p.jobs.get(kind);
    if (body === undefined) throw new HostError({ kind: 'unknown_job_kind', jobKind: kind });
    if (this.#stopping) throw new HostError({ kind: 'spawn', jobKind: kind, detail: 'the host is shutting down' });
    this.#supervisor.spawn(kind, body, this.#jobsController.signal);
  }

  get supervisor(): Supervisor {
    return this.#supervisor;
  }
}
