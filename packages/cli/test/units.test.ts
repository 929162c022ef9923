// Pure pieces of the CLI: argument parsing, kind arguments, progress rendering and the progress on/off rule (INV-CLI-EXIT-CODES).
// Guards: unknown or malformed arguments are usage errors (exit 2); a disabled progress bar writes nothing.
import { describe, expect, it } from 'vitest';
import { dirArgument, integerFlag, parseArgs, type FlagSpec } from '../src/args.js';
import { CliError, EXIT, exitCodeOf } from '../src/exit.js';
import { parseKind } from '../src/kind-arg.js';
import { ProgressBar, formatCount, formatDuration, progressEnabled, renderProgress } from '../src/progress.js';
import { BatpakError } from '@batpak/core';

const SPECS: FlagSpec[] = [
  { name: 'json', type: 'boolean', help: '' },
  { name: 'port', type: 'string', help: '' },
  { name: 'key', type: 'string', repeatable: true, help: '' },
];

describe('INV-CLI-EXIT-CODES argument parsing', () => {
  it('reads booleans, --flag value, --flag=value, repeatable flags, positionals and --', () => {
    const a = parseArgs(['d', '--json', '--port', '7', '--key=a', '--key', 'b', '--', '--json'], SPECS, 'x');
    expect(a.positionals).toEqual(['d', '--json']);
    expect(a.bool('json')).toBe(true);
    expect(a.string('port')).toBe('7');
    expect(a.strings('key')).toEqual(['a', 'b']);
    expect(integerFlag(a, 'port', { max: 10 })).toBe(7);
  });

  it('every mistake is a usage error with exit 2', () => {
    const bad = [['--nope'], ['-x'], ['--port'], ['--port', '--json'], ['--json=1'], ['--port', '1', '--port', '2']];
    for (const argv of bad) {
      let err: unknown;
      try {
        parseArgs(argv, SPECS, 'x');
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).toBeInstanceOf(CliError);
      expect(exitCodeOf(err)).toBe(EXIT.UNUSABLE);
    }
    expect(() => integerFlag(parseArgs(['--port', '-1'], SPECS, 'x'), 'port')).toThrow(/integer/);
    expect(() => integerFlag(parseArgs(['--port', '1e3'], SPECS, 'x'), 'port')).toThrow(/integer/);
    expect(() => dirArgument(parseArgs([], SPECS, 'x'), 'x')).toThrow(/missing <dir>/);
    expect(() => dirArgument(parseArgs(['a', 'b'], SPECS, 'x'), 'x')).toThrow(/unexpected argument/);
  });

  it('exit codes: aborted → 130, core errors → 2, CLI errors carry their own', () => {
    expect(exitCodeOf(new BatpakError('ERR_ABORTED', 'x'))).toBe(130);
    expect(exitCodeOf(new BatpakError('ERR_CORRUPT_KEYSET', 'x'))).toBe(2);
    expect(exitCodeOf(new CliError('X', 'y', { exitCode: EXIT.DAMAGED }))).toBe(1);
    expect(exitCodeOf(new Error('bug'))).toBe(2);
  });

  it('kinds: C:T in decimal or 0x-hex, within 0..15 : 0..4095', () => {
    expect(parseKind('1:0', 'k')).toEqual({ category: 1, typeId: 0 });
    expect(parseKind('0xf:0xA01', 'k')).toEqual({ category: 15, typeId: 0xa01 });
    for (const bad of ['16:0', '1:4096', '1', 'a:b', '1:2:3', '-1:0']) expect(() => parseKind(bad, 'k')).toThrow(CliError);
  });
});

describe('INV-CLI-EXIT-CODES progress bar', () => {
  it('renders done/total, percent, rate and ETA', () => {
    expect(renderProgress({ label: 'verify', unit: 'events', done: 2500, total: 10_000, elapsedMs: 1000, width: 80 })).toBe(
      'verify [########----------------------] 2.5k/10k 25% 2.5k events/s ETA 0:03',
    );
    expect(formatCount(999)).toBe('999');
    expect(formatCount(12_345)).toBe('12k');
    expect(formatCount(3_400_000)).toBe('3.4M');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('--:--');
  });

  it('draws only when every stream is a terminal and --json is off; a disabled bar writes nothing', () => {
    const tty = { isTTY: true };
    expect(progressEnabled({ json: false, streams: [tty, tty], env: {} })).toBe(true);
    expect(progressEnabled({ json: true, streams: [tty], env: {} })).toBe(false);
    expect(progressEnabled({ json: false, streams: [tty, {}], env: {} })).toBe(false);
    expect(progressEnabled({ json: false, streams: [tty], env: { TERM: 'dumb' } })).toBe(false);
    const written: string[] = [];
    const stream = { isTTY: false, write: (c: string) => written.push(c) };
    const off = new ProgressBar({ label: 'x', unit: 'events', stream, enabled: false });
    off.update(1, 2);
    off.clear();
    expect(written).toEqual([]);
  });

  it('redraws in place at most every interval, always at completion, and clears itself', () => {
    let now = 0;
    const written: string[] = [];
    const bar = new ProgressBar({ label: 'x', unit: 'events', stream: { isTTY: true, columns: 100, write: (c: string) => written.push(c) }, enabled: true, now: () => now });
    bar.update(1, 10);
    now = 50;
    bar.update(2, 10);
    now = 200;
    bar.update(3, 10);
    bar.update(10, 10);
    bar.clear();
    expect(written).toHaveLength(4);
    expect(written[0]).toMatch(/^\r.*\u001b\[K$/);
    expect(written[3]).toBe('\r\u001b[K');
  });
});
