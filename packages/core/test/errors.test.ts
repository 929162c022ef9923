import { describe, expect, it } from 'vitest';
import { BatpakError, ERROR_CODES, ioError, isBatpakError } from '../src/errors.js';

describe('BatpakError', () => {
  it('carries a stable code, details and cause', () => {
    const cause = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const err = ioError(cause, 'append', { file: '000001.bps' });
    expect(err).toBeInstanceOf(BatpakError);
    expect(err.code).toBe('ERR_NO_SPACE');
    expect(err.details.file).toBe('000001.bps');
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(true);
    expect(isBatpakError(err, 'ERR_NO_SPACE')).toBe(true);
    expect(isBatpakError(err, 'ERR_IO')).toBe(false);
  });

  it('maps other errno values to ERR_IO and passes typed errors through', () => {
    expect(ioError(Object.assign(new Error('x'), { code: 'EIO' }), 'read').code).toBe('ERR_IO');
    const typed = new BatpakError('ERR_NOT_FOUND', 'missing');
    expect(ioError(typed, 'read')).toBe(typed);
  });

  it('has the codes api.md requires', () => {
    for (const code of [
      'ERR_INVALID_COORDINATE', 'ERR_INVALID_KIND', 'ERR_NOT_FOUND', 'ERR_STORE_CLOSED', 'ERR_STORE_LOCKED',
      'ERR_READ_ONLY', 'ERR_CORRUPT_SEGMENT', 'ERR_CORRUPT_KEYSET', 'ERR_CHAIN_VERIFICATION_FAILED',
      'ERR_KIND_COLLISION', 'ERR_UPCAST_CHAIN_INCOMPLETE', 'ERR_SIGNING_KEY_REQUIRED', 'ERR_SIGNING_FAILED',
      'ERR_PAYLOAD_SHREDDED', 'ERR_PAYLOAD_DECRYPT_FAILED', 'ERR_SHRED_SELECTOR_MISMATCH',
      'ERR_ENCRYPTION_NOT_CONFIGURED', 'ERR_SEQUENCE_CONFLICT', 'ERR_PAYLOAD_TOO_LARGE', 'ERR_IO',
      'ERR_NO_SPACE', 'ERR_ABORTED',
    ]) {
      expect(ERROR_CODES).toContain(code);
    }
  });
});

describe('README error table', () => {
  it('documents exactly the codes in ERROR_CODES', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Errors'));
    const documented = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...ERROR_CODES]);
  });
});
