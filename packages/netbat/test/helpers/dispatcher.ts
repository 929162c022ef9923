// Test dispatcher: a handful of operations that exercise every dispatch outcome, plus a concurrency probe.
import type { DispatchResult, Dispatcher } from '../../src/index.js';

export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TestDispatcher extends Dispatcher {
  /** Handlers running right now, and the most ever running at once. */
  readonly running: number;
  readonly peakRunning: number;
  readonly calls: number;
  /** Lets every call to `hold` finish. */
  releaseHeld(): void;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export function testDispatcher(): TestDispatcher {
  let running = 0;
  let peak = 0;
  let calls = 0;
  let held: Array<() => void> = [];
  let holdOpen = false;

  const ok = (output: Uint8Array): DispatchResult => ({ outcome: 'committed', output });

  async function run(name: string, input: Uint8Array, signal?: AbortSignal): Promise<DispatchResult> {
    switch (name) {
      case 'system.heartbeat':
        return ok(bytes('alive'));
      case 'ping':
      case 'echo':
        return ok(input);
      case 'tick':
        // Yields to the event loop a few times, so concurrent calls really overlap.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        return ok(input);
      case 'hold':
        if (!holdOpen) await new Promise<void>((resolve) => held.push(resolve));
        return ok(input);
      case 'wait.abort':
        await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
        return ok(new Uint8Array());
      case 'fail.handler':
        throw new CodedError('handler', 'handler `fail.handler` failed with invalid_input: bad payload');
      case 'fail.missing':
        throw new CodedError('missing_handler', 'operation `fail.missing` has no handler');
      case 'fail.sink':
        throw new CodedError('receipt_sink', 'receipt sink failed');
      case 'fail.denied':
        throw new CodedError('runtime', 'operation `fail.denied` denied with capability.denied: no grant');
      case 'fault.throw':
        throw new Error('boom: internal detail');
      case 'fault.reject':
        return Promise.reject(new TypeError('undefined is not a function'));
      case 'fault.value':
        return { outcome: 'committed', output: 'not bytes' as unknown as Uint8Array };
      case 'big':
        return ok(new Uint8Array(32 * 1024 + 1));
      case 'fit':
        return ok(new Uint8Array(32 * 1024).fill(0xab));
      default:
        throw new CodedError('unknown_operation', `unknown operation \`${name}\``);
    }
  }

  return {
    get running() {
      return running;
    },
    get peakRunning() {
      return peak;
    },
    get calls() {
      return calls;
    },
    releaseHeld() {
      holdOpen = true;
      const waiting = held;
      held = [];
      for (const release of waiting) release();
    },
    dispatch(name, input, opts) {
      if (name === 'fault.sync') throw new Error('synchronous throw');
      calls++;
      running++;
      if (running > peak) peak = running;
      const done = run(name, input, opts?.signal);
      void done.then(
        () => running--,
        () => running--,
      );
      return done;
    },
  };
}
