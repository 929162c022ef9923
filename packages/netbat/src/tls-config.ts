// Server-only TLS from PEM: builds the secure context once at startup, so a bad certificate or key fails fast.
// Invariant: every certificate/key problem surfaces as a NetbatError `tls_config`, never as a handshake-time surprise.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { NetbatError } from './errors.js';

/** PEM text (string or bytes). `cert` may be a chain: the leaf first, then intermediates. */
export interface TlsServerOptions {
  readonly cert: string | Uint8Array;
  readonly key: string | Uint8Array;
  /** Passphrase of an encrypted private key. */
  readonly passphrase?: string;
  /**
   * Trust anchors (PEM) for client certificates. When set the server asks every client for a certificate:
   * one that verifies identifies the client (see `auth.certificates`), one that does not fails the handshake,
   * and a client without one stays anonymous. Absent: no client certificate is requested.
   */
  readonly clientCa?: string | Uint8Array;
  /**
   * Node's name for requiring a client certificate (full mTLS): with `true` a client that presents none fails
   * the handshake like one whose certificate does not verify, instead of staying anonymous. Needs `clientCa`.
   * Default false.
   */
  readonly rejectUnauthorized?: boolean;
}

function pem(value: unknown, field: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value);
  throw NetbatError.tlsConfig(`${field} must be PEM text (string or bytes)`);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createTlsContext(options: TlsServerOptions): SecureContext {
  const cert = pem(options.cert, 'cert');
  const key = pem(options.key, 'key');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) throw NetbatError.tlsConfig('cert is not a PEM certificate');
  if (!key.includes('-----BEGIN') || !key.includes('PRIVATE KEY-----')) {
    throw NetbatError.tlsConfig('key is not a PEM private key');
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw NetbatError.tlsConfig(`cert does not parse: ${describe(err)}`, err);
  }
  try {
    const privateKey = createPrivateKey(options.passphrase === undefined ? key : { key, passphrase: options.passphrase });
    if (!leaf.checkPrivateKey(privateKey)) throw NetbatError.tlsConfig('key does not match the leaf certificate');
  } catch (err) {
    if (err instanceof NetbatError) throw err;
    throw NetbatError.tlsConfig(`key does not parse: ${describe(err)}`, err);
  }
  const clientCa = options.clientCa === undefined ? undefined : pem(options.clientCa, 'clientCa');
  const rejectUnauthorized = options.rejectUnauthorized;
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== 'boolean') throw NetbatError.tlsConfig('rejectUnauthorized must be a boolean');
  if (rejectUnauthorized === true && clientCa === undefined) {
    throw NetbatError.tlsConfig('rejectUnauthorized needs clientCa: client certificates are verified against it');
  }
  if (clientCa !== undefined) {
    try {
      new X509Certificate(clientCa);
    } catch (err) {
      throw NetbatError.tlsConfig(`clientCa is not a PEM certificate: ${describe(err)}`, err);
    }
  }
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now) throw NetbatError.tlsConfig(`leaf certificate expired at ${leaf.validTo}`);
  try {
    return createSecureContext({
      cert,
      key,
      ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
      ...(clientCa === undefined ? {} : { ca: clientCa }),
      minVersion: 'TLSv1.2',
    });
  } catch (err) {
    throw NetbatError.tlsConfig(describe(err), err);
  }
}
