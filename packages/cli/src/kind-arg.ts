// `C:T` kind arguments (`--kind 1:0`, `--kind 0xf:0xa01`, `--commit-kind …`): category and type id, decimal or 0x-hex.
// Invariant: a kind outside 0..15 : 0..4095 is a usage error here, before any store is opened.

import type { EventKind } from '@batpak/core';
import { CliError } from './exit.js';

function int(text: string): number {
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  if (/^[0-9]+$/.test(text)) return Number(text);
  return Number.NaN;
}

export function parseKind(text: string, flag: string): EventKind {
  const m = /^([^:]+):([^:]+)$/.exec(text);
  const category = m === null ? Number.NaN : int(m[1]!);
  const typeId = m === null ? Number.NaN : int(m[2]!);
  if (!(category >= 0 && category <= 0xf && typeId >= 0 && typeId <= 0xfff)) {
    throw CliError.usage(`--${flag} must be CATEGORY:TYPE with category 0..15 and type 0..4095 (decimal or 0x-hex), got ${JSON.stringify(text)}`);
  }
  return { category, typeId };
}
