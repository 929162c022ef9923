// A replica in a process of its own, for kill tests: `replicate` from the built package (dist/) on the
// real file system, printing `at <lastSequence>` after each group and `done <lastSequence> <applied>` on SIGTERM.
import { connect } from '@nats-io/transport-node';
import { replicate } from '../../dist/index.js';

const [url, stream, dir, keyHex] = process.argv.slice(2);
const nc = await connect({ servers: url });
const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
try {
  const result = await replicate(nc, {
    stream,
    dir,
    publicKeys: [Uint8Array.from(Buffer.from(keyHex, 'hex'))],
    signal: stop.signal,
    onProgress: (p) => process.stdout.write(`at ${p.lastSequence}\n`),
  });
  process.stdout.write(`done ${result.lastSequence} ${result.applied}\n`);
} catch (err) {
  process.stderr.write(`${err?.code ?? ''} ${err?.message ?? err}\n`);
  process.exitCode = 1;
} finally {
  await nc.close();
}
