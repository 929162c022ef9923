// Token grammars of NETBAT/2 fields: subscription ids, reason/code tokens and payload schema refs.
// Invariant: each validator returns the Rust reason string of its first failing rule (stream_frame.rs), or undefined.

const MAX_SUBSCRIPTION_ID_GRAMMAR_BYTES = 128;
const MAX_REASON_CODE_BYTES = 128;
const MAX_PAYLOAD_SCHEMA_REF_BYTES = 256;

const LOWER_TOKEN = /^[a-z0-9._-]*$/;
const WHITESPACE = /\p{White_Space}/u;

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** `^[a-z0-9][a-z0-9._-]*\.v[1-9][0-9]*$`, no leading/trailing `.`, no `..`; split at the last `.v`. */
export function subscriptionIdViolation(id: string): string | undefined {
  if (id.length === 0) return 'empty subscription id';
  if (utf8Length(id) > MAX_SUBSCRIPTION_ID_GRAMMAR_BYTES) return 'subscription id longer than 128 bytes';
  if (id.startsWith('.') || id.endsWith('.')) return "subscription id has a leading or trailing '.'";
  if (id.includes('..')) return "subscription id has a doubled '.'";
  const dotV = id.lastIndexOf('.v');
  if (dotV < 0) return 'subscription id must contain a .v version suffix';
  const name = id.slice(0, dotV);
  const version = id.slice(dotV + 2);
  if (name.length === 0) return 'subscription id name prefix is empty';
  if (!/^[a-z0-9]/.test(name)) return 'subscription id must start with [a-z0-9]';
  if (!LOWER_TOKEN.test(name)) return 'subscription id has characters outside [a-z0-9._-]';
  if (version.length === 0) return 'subscription id missing version digits after .v';
  if (!/^[1-9]/.test(version)) return 'subscription id version must start with 1-9';
  if (!/^[0-9]+$/.test(version)) return 'subscription id version must be digits only';
  return undefined;
}

/** Lowercase `[a-z0-9._-]`, 1..=128 bytes: cancel reasons, SUB_ERR codes, SUB_END reasons. */
export function reasonCodeViolation(code: string): string | undefined {
  if (code.length === 0) return 'empty reason code';
  if (utf8Length(code) > MAX_REASON_CODE_BYTES) return 'reason code longer than 128 bytes';
  if (!LOWER_TOKEN.test(code)) return 'reason code has characters outside [a-z0-9._-]';
  return undefined;
}

/** Lowercase `[a-z0-9._-]`, 1..=256 bytes, whitespace reported before other characters. */
export function payloadSchemaRefViolation(ref: string): string | undefined {
  if (ref.length === 0) return 'empty payload schema ref';
  if (utf8Length(ref) > MAX_PAYLOAD_SCHEMA_REF_BYTES) return 'payload schema ref longer than 256 bytes';
  if (WHITESPACE.test(ref)) return 'payload schema ref contains whitespace';
  if (!LOWER_TOKEN.test(ref)) return 'payload schema ref has characters outside [a-z0-9._-]';
  return undefined;
}
