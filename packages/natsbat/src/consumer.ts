// The consumer side: read an exported stream back in order (to its end, or following it live), and
// verify it remotely with only public keys. Invariant: a verification reads every stream sequence from 1
// to the stream's end at the start; a read yields messages in stream order, each once.

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isNatsbatError, NatsbatError, reasonOf } from './errors.js';
import { decodeExportedMessage, type ExportedEvent } from './message.js';
import { readRange, streamPosition, tailFrom } from './stream.js';
import { ExportVerifier, type StreamVerificationReport } from './verify.js';

export interface ReadExportedOptions {
  readonly stream: string;
  /** First stream sequence to read. Default 1. */
  readonly fromSequence?: bigint;
  /**
   * Keep following the stream after its end: new exported events are yielded as they arrive, until
   * `signal` fires — then the iteration simply ends (no error). Requires `signal`.
   */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
}

export interface VerifyExportedOptions {
  readonly stream: string;
  /** The store's ed25519 public key(s). Empty: only unsigned receipts are valid. */
  readonly publicKeys: readonly Uint8Array[];
  readonly signal?: AbortSignal;
  /** Called every 1024 messages and at the end. */
  readonly onProgress?: (checked: number, total: bigint) => void;
}

async function bounds(connection: NatsConnection, stream: string): Promise<bigint> {
  let jsm;
  try {
    jsm = await jetstreamManager(connection);
  } catch (err) {
    throw NatsbatError.READ_FAILED(`JetStream is not available on this connection: ${reasonOf(err)}`, { cause: err });
  }
  return (await streamPosition(jsm, stream)).lastSequence;
}

/**
 * The exported events of `stream`, in stream order, up to the stream's end when the read starts (an
 * abort is then ERR_ABORTED) — or, with `follow: true`, live until `signal` fires (then it just ends).
 * A message that is not a natsbat export message is ERR_MALFORMED_MESSAGE.
 */
export async function* readExported(connection: NatsConnection, options: ReadExportedOptions): AsyncGenerator<ExportedEvent> {
  const from = options.fromSequence ?? 1n;
  if (options.follow === true) {
    if (typeof from !== 'bigint' || from < 1n) throw NatsbatError.INVALID_OPTION('fromSequence must be a bigint >= 1', 'fromSequence');
    if (!(options.signal instanceof AbortSignal)) throw NatsbatError.INVALID_OPTION('follow: true needs a signal to stop it', 'signal');
    // JetStream must be there (a missing stream is ERR_READ_FAILED here, not a silent wait).
    await bounds(connection, options.stream);
    for await (const m of tailFrom(jetstream(connection), options.stream, from, options.signal)) yield decodeExportedMessage(m);
    return;
  }
  const last = await bounds(connection, options.stream);
  for await (const m of readRange(jetstream(connection), options.stream, from, last, options.signal)) {
    yield decodeExportedMessage(m);
  }
}

/** Reads the whole stream and checks order, chain links, content hashes and receipts; a report, not a boolean. */
export async function verifyExported(connection: NatsConnection, options: VerifyExportedOptions): Promise<StreamVerificationReport> {
  const last = await bounds(connection, options.stream);
  const verifier = new ExportVerifier({ publicKeys: options.publicKeys });
  let checked = 0;
  for await (const m of readRange(jetstream(connection), options.stream, 1n, last, options.signal)) {
    try {
      verifier.add(decodeExportedMessage(m));
    } catch (err) {
      if (!isNatsbatError(err, 'ERR_MALFORMED_MESSAGE')) throw err;
      verifier.addMalformed(BigInt(m.seq), err.message);
    }
    if (++checked % 1024 === 0) options.onProgress?.(checked, last);
  }
  verifier.end(last);
  options.onProgress?.(checked, last);
  return verifier.report();
}
