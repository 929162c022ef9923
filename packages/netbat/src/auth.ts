// Who a client is (a pre-shared token or a verified client certificate) and what the server's configuration grants it.
// Invariant: an identity comes only from a configured credential; anything else is the anonymous client with the anonymous grants.

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { NetbatError } from './errors.js';
import { Grants } from './grants.js';

/** A client sending `NETBAT/1 AUTH token <hex(token)>` as its first line becomes `principal`. */
export interface TokenCredential {
  readonly principal: string;
  /** At least 16 bytes (UTF-8). Compared in constant time through its SHA-256. */
  readonly token: string;
}

/**
 * A client certificate that verified against `tls.clientCa` and matches every field given here becomes
 * `principal`. `subject` is the certificate's subject, attributes in certificate order joined by `, `
 * (e.g. `CN=alice, O=Example`); `spkiSha256` is the hex SHA-256 of its DER SubjectPublicKeyInfo.
 */
export interface CertificateCredential {
  readonly principal: string;
  readonly subject?: string;
  readonly spkiSha256?: string;
}

export interface AuthOptions {
  /** Grants of a client that has not authenticated. Default: none at all. */
  readonly anonymous?: readonly string[];
  /** Grants per principal (see `Grants`: operation names, `prefix.*`, `subscribe:<id>`, `*`, capabilities). */
  readonly principals?: Readonly<Record<string, readonly string[]>>;
  readonly tokens?: readonly TokenCredential[];
  readonly certificates?: readonly CertificateCredential[];
}

export interface Identity {
  /** `anonymous`, a configured principal, or `spki-sha256:<hex>` for a verified but unmapped certificate. */
  readonly principal: string;
  readonly grants: Grants;
  readonly authenticated: boolean;
}

export const ANONYMOUS_PRINCIPAL = 'anonymous';
/** Principal of a client certificate that verified against the client CA but matches no configured entry. */
export const UNMAPPED_CERTIFICATE_PREFIX = 'spki-sha256:';
const MIN_TOKEN_BYTES = 16;
const MAX_TOKEN_BYTES = 1024;
const MAX_PRINCIPAL_BYTES = 256;

const utf8 = new TextEncoder();
const sha256 = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

/** `CN=alice\nO=Example` (Node's form) and `CN=alice, O=Example` (the configured form) compare equal. */
export function normalizeSubject(subject: string): string {
  return subject
    .split(/\n|,\s*(?=[A-Za-z0-9.]+=)/)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .join(', ');
}

export function spkiSha256(cert: X509Certificate): string {
  return sha256(cert.publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
}

function checkGrantList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0 && !/\s/.test(t))) {
    throw NetbatError.invalidOption(`${where} must be an array of non-empty grant tokens without spaces`);
  }
  return value as string[];
}

function checkPrincipal(name: unknown, where: string): string {
  if (typeof name !== 'string' || name.length === 0 || utf8.encode(name).length > MAX_PRINCIPAL_BYTES || /\p{Cc}/u.test(name)) {
    throw NetbatError.invalidOption(`${where} must be a non-empty principal of at most ${MAX_PRINCIPAL_BYTES} bytes without control characters`);
  }
  if (name === ANONYMOUS_PRINCIPAL || name.startsWith(UNMAPPED_CERTIFICATE_PREFIX)) {
    throw NetbatError.invalidOption(`${where}: ${JSON.stringify(name)} is reserved`);
  }
  return name;
}

interface CertificateRule {
  readonly principal: string;
  readonly subject: string | undefined;
  readonly spki: string | undefined;
}

export class Authority {
  readonly #anonymous: Identity;
  readonly #grants = new Map<string, Grants>();
  readonly #tokens: Array<{ readonly digest: Buffer; readonly principal: string }> = [];
  readonly #certificates: CertificateRule[] = [];

  /** Validates the configuration; every problem is an `invalid_option` NetbatError. */
  constructor(options: AuthOptions) {
    if (typeof options !== 'object' || options === null) throw NetbatError.invalidOption('auth must be an object');
    this.#anonymous = Object.freeze({
      principal: ANONYMOUS_PRINCIPAL,
      grants: new Grants(checkGrantList(options.anonymous ?? [], 'auth.anonymous')),
      authenticated: false,
    });
    for (const [name, list] of Object.entries(options.principals ?? {})) {
      this.#grants.set(checkPrincipal(name, 'auth.principals key'), new Grants(checkGrantList(list, `auth.principals.${name}`)));
    }
    const known = (principal: unknown, where: string): string => {
      const name = checkPrincipal(principal, where);
      if (!this.#grants.has(name)) throw NetbatError.invalidOption(`${where} ${JSON.stringify(name)} has no entry in auth.principals`);
      return name;
    };
    for (const [i, t] of (options.tokens ?? []).entries()) {
      const principal = known(t?.principal, `auth.tokens[${i}].principal`);
      const bytes = typeof t.token === 'string' ? utf8.encode(t.token) : undefined;
      if (bytes === undefined || bytes.length < MIN_TOKEN_BYTES || bytes.length > MAX_TOKEN_BYTES) {
        throw NetbatError.invalidOption(`auth.tokens[${i}].token must be a string of ${MIN_TOKEN_BYTES}..${MAX_TOKEN_BYTES} bytes`);
      }
      const digest = sha256(bytes);
      if (this.#tokens.some((x) => x.digest.equals(digest))) throw NetbatError.invalidOption(`auth.tokens[${i}].token is configured twice`);
      this.#tokens.push({ digest, principal });
    }
    for (const [i, c] of (options.certificates ?? []).entries()) {
      const principal = known(c?.principal, `auth.certificates[${i}].principal`);
      const spki = c.spkiSha256?.replaceAll(':', '').toLowerCase();
      if (spki !== undefined && !/^[0-9a-f]{64}$/.test(spki)) throw NetbatError.invalidOption(`auth.certificates[${i}].spkiSha256 must be 64 hex digits`);
      if (c.subject !== undefined && (typeof c.subject !== 'string' || normalizeSubject(c.subject) === '')) {
        throw NetbatError.invalidOption(`auth.certificates[${i}].subject must be a non-empty subject`);
      }
      if (spki === undefined && c.subject === undefined) throw NetbatError.invalidOption(`auth.certificates[${i}] needs a subject or an spkiSha256`);
      this.#certificates.push({ principal, subject: c.subject === undefined ? undefined : normalizeSubject(c.subject), spki });
    }
  }

  get acceptsTokens(): boolean {
    return this.#tokens.length > 0;
  }

  anonymous(): Identity {
    return this.#anonymous;
  }

  /** The principal a presented token names, or `undefined`. Every configured digest is compared, match or not. */
  fromToken(token: Uint8Array): Identity | undefined {
    const digest = sha256(token);
    let found: string | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(t.digest, digest) && found === undefined) found = t.principal;
    return found === undefined ? undefined : this.#identity(found);
  }

  /** A certificate that already verified against the client CA: its configured principal, or `spki-sha256:<hex>` with anonymous grants. */
  fromCertificate(cert: X509Certificate): Identity {
    const spki = spkiSha256(cert);
    const subject = normalizeSubject(cert.subject);
    const rule = this.#certificates.find((r) => (r.spki === undefined || r.spki === spki) && (r.subject === undefined || r.subject === subject));
    if (rule !== undefined) return this.#identity(rule.principal);
    return Object.freeze({ principal: `${UNMAPPED_CERTIFICATE_PREFIX}${spki}`, grants: this.#anonymous.grants, authenticated: true });
  }

  #identity(principal: string): Identity {
    return Object.freeze({ principal, grants: this.#grants.get(principal)!, authenticated: true });
  }
}
