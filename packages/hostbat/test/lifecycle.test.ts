// Host lifecycle (Rust composition_tests, supervisor.rs): global hook order, fail-closed startup, best-effort shutdown, jobs.
// INV-HOSTBAT-HOOK-ORDER: hooks of a phase run in (order, module id, hook name) order, whatever the mount order.
import { describe, expect, it } from 'vitest';
import { HostBuilder, HostError, HostModule } from '../src/index.js';
import { rejectionOf } from './helpers/fixtures.js';

function hookedModules(log: string[], fail?: string) {
  const hook = (name: string) => async () => {
    await new Promise((r) => setTimeout(r, 1));
    log.push(name);
    if (name === fail) throw new Error(`${name} broke`);
  };
  const beta = HostModule.builder('beta', 1)
    .hook('startup', 'b-late', 20, hook('beta/b-late'))
    .hook('startup', 'b-first', 0, hook('beta/b-first'))
    .hook('shutdown', 'b-stop', 5, hook('beta/b-stop'))
    .build();
  const alpha = HostModule.builder('alpha', 1)
    .hook('startup', 'a-mid', 10, hook('alpha/a-mid'))
    .hook('startup', 'a-first', 0, hook('alpha/a-first'))
    .hook('shutdown', 'a-stop', 5, hook('alpha/a-stop'))
    .hook('shutdown', 'a-early', 1, hook('alpha/a-early'))
    .build();
  return { alpha, beta };
}

describe('INV-HOSTBAT-HOOK-ORDER: hooks', () => {
  it('start and shutdown run their phase in (order, module id, name) order, independent of mount order', async () => {
    for (const mountOrder of [['alpha', 'beta'], ['beta', 'alpha']] as const) {
      const log: string[] = [];
      const modules = hookedModules(log);
      let b = new HostBuilder();
      for (const id of mountOrder) b = b.mount(modules[id]);
      const host = b.build();
      expect(host.isStarted).toBe(false);
      await host.start();
      expect(host.isStarted).toBe(true);
      await host.shutdown();
      expect(host.isStarted).toBe(false);
      expect(log).toEqual([
        'alpha/a-first',
        'beta/b-first',
        'alpha/a-mid',
        'beta/b-late',
        'alpha/a-early',
        'alpha/a-stop',
        'beta/b-stop',
      ]);
    }
  });

  it('Symbol.asyncDispose is shutdown(): what `await using host = …` runs at scope exit', async () => {
    const log: string[] = [];
    const { alpha, beta } = hookedModules(log);
    const host = new HostBuilder().mount(alpha).mount(beta).build();
    await host.start();
    log.length = 0;
    await host[Symbol.asyncDispose]();
    expect(host.isStarted).toBe(false);
    expect(log).toEqual(['alpha/a-early', 'alpha/a-stop', 'beta/b-stop']);
  });

  it('the first failing startup hook aborts start (fail closed); hooks already run are not undone', async () => {
    const log: string[] = [];
    const { alpha, beta } = hookedModules(log, 'alpha/a-mid');
    const host = new HostBuilder().mount(alpha).mount(beta).build();
    const err = (await rejectionOf(host.start())) as HostError;
    expect(err).toBeInstanceOf(HostError);
    expect(err.code).toBe('ERR_STARTUP_HOOK');
    expect(err.message).toBe('host startup failed: startup hook "a-mid" of module "alpha" failed: alpha/a-mid broke');
    expect(log).toEqual(['alpha/a-first', 'beta/b-first', 'alpha/a-mid']);
    expect(host.isStarted).toBe(false);
  });

  it('shutdown runs every hook even after one fails, and reports the first failure', async () => {
    const log: string[] = [];
    const { alpha, beta } = hookedModules(log, 'alpha/a-early');
    const host = new HostBuilder().mount(alpha).mount(beta).build();
    await host.start();
    log.length = 0;
    const err = (await rejectionOf(host.shutdown())) as HostError;
    expect(err.detail).toEqual({ kind: 'shutdown_hook', module: 'alpha', hook: 'a-early', detail: 'alpha/a-early broke' });
    expect(log).toEqual(['alpha/a-early', 'alpha/a-stop', 'beta/b-stop']);
    expect(host.isStarted).toBe(false);
  });

  it('start on a started host is a no-op; concurrent calls run one transition at a time', async () => {
    const log: string[] = [];
    const { alpha } = hookedModules(log);
    const host = new HostBuilder().mount(alpha).build();
    await Promise.all([host.start(), host.start()]);
    expect(log.filter((l) => l === 'alpha/a-first')).toHaveLength(1);
  });
});

describe('supervised jobs', () => {
  it('spawns declared kinds, keeps a failing job from touching its siblings, and joins them at shutdown', async () => {
    const events: string[] = [];
    const jobs = HostModule.builder('jobs', 1)
      .job('ok', async (signal) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        events.push('ok stopped by shutdown');
      })
      .job('boom', () => {
        throw new Error('boom');
      })
      .build();
    const host = new HostBuilder().mount(jobs).build();
    host.spawnJob('ok');
    host.spawnJob('boom');
    await new Promise((r) => setTimeout(r, 5));
    expect(host.supervisor.statuses()).toEqual([
      { name: 'ok', status: 'running' },
      { name: 'boom', status: 'failed' },
    ]);
    expect(() => host.spawnJob('nope')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_JOB_KIND' }));
    await host.shutdown();
    expect(events).toEqual(['ok stopped by shutdown']);
    expect(host.supervisor.jobCount).toBe(0);
  });

  it('refuses to spawn while the host is shutting down', async () => {
    let spawnDuringShutdown: unknown;
    let host: ReturnType<HostBuilder['build']> | undefined;
    const m = HostModule.builder('m', 1)
      .job('j', () => undefined)
      .hook('shutdown', 'try-spawn', 0, () => {
        try {
          host!.spawnJob('j');
        } catch (err) {
          spawnDuringShutdown = err;
        }
      })
      .build();
    host = new HostBuilder().mount(m).build();
    await host.shutdown();
    expect(spawnDuringShutdown).toMatchObject({ code: 'ERR_SPAWN' });
    host.spawnJob('j');
    await host.supervisor.joinAll();
  });
});
