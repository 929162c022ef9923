// INV-SNAPSHOT-ATOMIC under crashes: the process dies at every single Fs step of a snapshot (appends
// running alongside), then the machine loses everything not durable. The destination is then either
// absent, or a complete store that opens, verifies and is a prefix of the live store; a retry succeeds.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type AppendReceipt, type Fs, type FsFile, type HeadAttestation, type StoreOptions } from '../src/index.js';
import { publicKeyFromSeed } from '../src/crypto/ed25519.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ n: number }>({ category: 4, typeId: 1, name: 'Note' });
const seed = new Uint8Array(32).fill(31);
const pk = publicKeyFromSeed(seed);

/**
 * Counts every Fs and file call while armed; at call number `at` it kills the process view ('kill') or
 * makes that one call fail with EIO ('fail').
 */
function stepping(inner: KillableFs, at: number, mode: 'kill' | 'fail' = 'kill'): { fs: Fs; arm: () => void; steps: () => number } {
  let armed = false;
  let count = 0;
  const tick = () => {
    if (!armed || ++count !== at) return;
    if (mode === 'kill') inner.kill();
    else throw Object.assign(new Error(`injected EIO at step ${at}`), { code: 'EIO' });
  };
  const wrap = <T extends object>(target: T, isFs: boolean): T =>
    new Proxy(target, {
      get(t, p) {
        const v = Reflect.get(t, p) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          try {
            tick();
          } catch (err) {
            return Promise.reject(err);
          }
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          return isFs && p === 'open' ? (r as Promise<FsFile>).then((f) => wrap(f, false)) : r;
        };
      },
    });
  return { fs: wrap(inner as Fs, true), arm: () => (armed = true), steps: () => count };
}

interface Outcome {
  readonly finished: boolean;
  readonly published: boolean;
}

async function scenario(killAt: number, variant: { encrypted: boolean; seedFs: number }): Promise<Outcome> {
  const sim = new SimFs(variant.seedFs);
  let clock = 1_700_000_000_000;
  const base: Omit<StoreOptions, 'fs'> = {
    dir: '/db',
    signingKey: seed,
    segmentMaxBytes: 900,
    now: () => (clock += 1),
    onWarning: () => undefined,
    ...(variant.encrypted ? { payloadEncryption: {} } : {}),
  };
  const proc = new KillableFs(sim);
  const step = stepping(proc, killAt);
  const store = await Store.open({ ...base, fs: step.fs });
  const acked: AppendReceipt[] = [];
  for (let i = 0; i < 25; i++) acked.push(await store.append(new Coordinate(`e${i % 3}`, 's'), Note, { n: i }));
  if (variant.encrypted) await store.shredScope({ entity: 'e1' });
  step.arm();
  const snapping = store.snapshot('/snap').then(
    (r) => r,
    (err: unknown) => {
      if (!(err instanceof BatpakError)) throw new Error(`killAt ${killAt}: untyped error ${String(err)}`);
      return undefined;
    },
  );
  const during = Array.from({ length: 5 }, (_, i) => store.append(new Coordinate('late', 's'), Note, { n: 100 + i }).catch(() => undefined));
  const result = await snapping;
  await Promise.all(during);
  const finished = result !== undefined && proc.alive;
  proc.kill();
  sim.crash({ tear: true });

  const where = `killAt ${killAt} (${JSON.stringify(variant)})`;
  const copyExists = (await sim.stat('/snap')) !== null;
  if (finished && !copyExists) throw new Error(`${where}: snapshot resolved but /snap is absent after the crash`);
  let attestation: HeadAttestation | undefined = result?.attestation;
  if (copyExists) {
    // A complete store: opens, verifies, and the live store extends what it holds.
    const copy = await Store.openReadOnly('/snap', { fs: sim, trustedPublicKeys: [pk], ...(variant.encrypted ? { payloadEncryption: {} } : {}) });
    const report = await copy.verifyChain();
    if (!report.intact) throw new Error(`${where}: the published copy does not verify: ${JSON.stringify(report)}`);
    if (copy.lastSequence < 25n) throw new Error(`${where}: the copy holds ${copy.lastSequence} events, fewer than were acknowledged before it started`);
    if (variant.encrypted) {
      const shredded = acked.find((r) => r.coordinate.entity === 'e1')!;
      const ev = await copy.get(shredded.eventId).catch((err: unknown) => err);
      if (!(ev instanceof BatpakError) || ev.code !== 'ERR_PAYLOAD_SHREDDED') throw new Error(`${where}: a shredded payload reads in the copy`);
    }
    attestation ??= await (await Store.openReadOnly('/snap', { fs: sim, signingKey: seed, ...(variant.encrypted ? { payloadEncryption: {} } : {}) })).attest();
    await copy.close();
    const live = await Store.openReadOnly('/db', { fs: sim, trustedPublicKeys: [pk], onWarning: () => undefined, ...(variant.encrypted ? { payloadEncryption: {} } : {}) });
    const check = await live.verifyChain({ expect: attestation });
    if (check.attestation?.status !== 'extends') throw new Error(`${where}: the live store does not extend the copy: ${JSON.stringify(check.attestation)}`);
    await live.close();
  } else {
    // Absent: a retry from the reopened store publishes a complete copy.
    const again = await Store.open({ ...base, fs: sim });
    const snap = await again.snapshot('/snap');
    const copy = await Store.openReadOnly('/snap', { fs: sim, trustedPublicKeys: [pk], ...(variant.encrypted ? { payloadEncryption: {} } : {}) });
    const check = await copy.verifyChain({ expect: snap.attestation! });
    if (!check.intact) throw new Error(`${where}: the retried copy does not verify: ${JSON.stringify(check)}`);
    await copy.close();
    await again.close();
  }
  return { finished, published: copyExists };
}

describe('snapshot crash simulation (INV-SNAPSHOT-ATOMIC)', () => {
  for (const variant of [
    { encrypted: false, seedFs: 1 },
    { encrypted: true, seedFs: 2 },
  ]) {
    it(`a crash at every step leaves the copy absent or complete and verifiable (${variant.encrypted ? 'encrypted' : 'plain'})`, async () => {
      let published = 0;
      let absent = 0;
      let killAt = 1;
      for (; killAt < 500; killAt++) {
        const out = await scenario(killAt, variant);
        if (out.published) published++;
        else absent++;
        if (out.finished) break;
      }
      console.log(`snapshot sim (${variant.encrypted ? 'encrypted' : 'plain'}): crashed at ${killAt - 1} steps then finished; published ${published}, absent ${absent}`);
      expect(killAt).toBeLessThan(500);
      expect(absent).toBeGreaterThan(10);
      expect(published).toBeGreaterThan(0);
    }, 300_000);
  }

  it('an I/O error at any single step fails the snapshot with a typed error and no destination; the store stays usable and a retry succeeds', async () => {
    let failedRuns = 0;
    let at = 1;
    for (; at < 500; at++) {
      const sim = new SimFs(3);
      const store = await Store.open({ dir: '/db', fs: sim, signingKey: seed, segmentMaxBytes: 900, onWarning: () => undefined });
      for (let i = 0; i < 20; i++) await store.append(new Coordinate(`e${i % 3}`, 's'), Note, { n: i });
      await store.close();
      const proc = new KillableFs(sim);
      const step = stepping(proc, at, 'fail');
      const ro = await Store.openReadOnly('/db', { fs: step.fs, signingKey: seed, onWarning: () => undefined });
      step.arm();
      const result = await ro.snapshot('/snap').catch((err: unknown) => {
        if (!(err instanceof BatpakError)) throw new Error(`step ${at}: untyped error ${String(err)}`);
        return err;
      });
      const stepsTaken = step.steps();
      if (result instanceof BatpakError) {
        failedRuns++;
        // The failing step may be the publishing rename's parent fsync: then the copy is there and complete.
        if ((await sim.stat('/snap')) !== null) {
          const copy = await Store.openReadOnly('/snap', { fs: sim, trustedPublicKeys: [pk] });
          if (!(await copy.verifyChain()).intact) throw new Error(`step ${at}: a failed snapshot left an incomplete /snap`);
          await copy.close();
        } else {
          const retry = await ro.snapshot('/snap');
          if (retry.events !== 20n) throw new Error(`step ${at}: the retry copied ${retry.events} events`);
        }
      }
      await ro.close();
      if (!(result instanceof BatpakError) && stepsTaken < at) break;
    }
    console.log(`snapshot sim (EIO): failed at ${failedRuns} single steps, then finished`);
    expect(at).toBeLessThan(500);
    expect(failedRuns).toBeGreaterThan(10);
  }, 300_000);
});
