// A refused coordinate says why in Rust batpak's words (its CoordinateError Display), after the field it names:
// ERR_INVALID_COORDINATE with details.field and details.reason.
import { describe, expect, it } from 'vitest';
import { validateCoordinate } from '../src/coordinate.js';

function reasonOf(entity: string, scope: string): { message: string; field: unknown; reason: unknown } {
  try {
    validateCoordinate(entity, scope);
  } catch (err) {
    const e = err as { code: string; message: string; details: { field: unknown; reason: unknown } };
    expect(e.code).toBe('ERR_INVALID_COORDINATE');
    return { message: e.message, field: e.details.field, reason: e.details.reason };
  }
  throw new Error(`(${JSON.stringify(entity)}, ${JSON.stringify(scope)}) was accepted`);
}

describe('coordinate refusals in Rust words', () => {
  it('separators, path traversal, control characters and NUL read as Rust prints them', () => {
    expect(reasonOf('a|b', 's')).toEqual({
      message: 'invalid coordinate: entity contains a forbidden identity-separator character (`|` or `=`)',
      field: 'entity',
      reason: 'contains a forbidden identity-separator character (`|` or `=`)',
    });
    expect(reasonOf('e', 'k=v').message).toBe('invalid coordinate: scope contains a forbidden identity-separator character (`|` or `=`)');
    expect(reasonOf('a/b', 's').message).toBe('invalid coordinate: entity contains a forbidden path-traversal substring (`..` or `/`)');
    expect(reasonOf('e', 'a..b').message).toBe('invalid coordinate: scope contains a forbidden path-traversal substring (`..` or `/`)');
    expect(reasonOf('a\tb', 's').message).toBe('invalid coordinate: entity contains a forbidden ASCII control character');
    expect(reasonOf('a\u007fb', 's').message).toBe('invalid coordinate: entity contains a forbidden ASCII control character');
    expect(reasonOf('a\u0000b', 's').message).toBe('invalid coordinate: entity contains a NUL byte');
  });
});
