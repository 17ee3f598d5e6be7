import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTs } from '../helpers/child.js';

const CLI = 'device/service/main.ts';
const root = mkdtempSync(join(tmpdir(), 'onepad-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('onepad CLI (offline, against data dirs)', () => {
  const a = join(root, 'a');
  const b = join(root, 'b');

  it('creates a pad pair, packages on A, unpackages on B, lists and shows events', () => {
    const made = runTs(CLI, ['pad', 'create-pair', '--a', a, '--b', b, '--size', '64k', '--seed', 'cli']);
    expect(made.status).toBe(0);
    expect(made.stdout).toMatch(/^pad [0-9a-f]{32} created \(INSECURE/);
    const pkg = runTs(CLI, ['offline', 'package', '--dir', a, '--to', 'bob', 'hello', 'from', 'the', 'cli']);
    expect(pkg.status).toBe(0);
    expect(pkg.stderr).toContain('cost 50 bytes');
    const b64 = pkg.stdout.trim();
    expect(Buffer.from(b64, 'base64').length).toBe(18 + 50);
    const un = runTs(CLI, ['offline', 'unpackage', '--dir', b, b64]);
    expect(un.status).toBe(0);
    expect(un.stdout).toBe('from alice (INSECURE pad): hello from the cli\n');
    const again = runTs(CLI, ['offline', 'unpackage', '--dir', b, b64]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('REPLAY');
    // 64k pad: 170 key slots a side (typical length 160), one used by the message; 27328 - 18 stream bytes left.
    expect(runTs(CLI, ['pad', 'list', '--dir', a]).stdout).toMatch(
      /bob\s+side A\s+active\s+32718 bytes left .*169 key slots, 27310 stream bytes.*INSECURE/,
    );
    // Both ledgers hold the same v2 layout.
    const la = runTs(CLI, ['pad', 'list', '--dir', a]).stdout;
    const lb = runTs(CLI, ['pad', 'list', '--dir', b]).stdout;
    expect(lb).toMatch(/alice\s+side B\s+active\s+.*170 key slots, 27328 stream bytes/);
    expect(la).not.toContain('WIRE v1');
    expect(runTs(CLI, ['pad', 'events', '--dir', b]).stdout).toContain('REPLAY');
  }, 180_000);

  it('refuses bad arguments with a usage exit and a code, never a stack trace', () => {
    const unknown = runTs(CLI, ['pad', 'create-pair', '--bogus', 'x']);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('INVALID_ARGUMENT');
    expect(unknown.stderr).not.toContain('    at ');
    const both = runTs(CLI, [
      'pad',
      'create-pair',
      '--a',
      a,
      '--b',
      b,
      '--size',
      '1k',
      '--seed',
      'x',
      '--source',
      '/dev/zero',
    ]);
    expect(both.status).toBe(64);
    const noContact = runTs(CLI, ['offline', 'package', '--dir', a, '--to', 'carol', 'hi']);
    expect(noContact.status).toBe(2);
    expect(noContact.stderr).toContain('UNKNOWN_CONTACT');
    expect(runTs(CLI, ['nonsense']).status).toBe(64);
  }, 180_000);

  it('the demo runs end to end and refuses replay, forgery and reflection', () => {
    const r = runTs(CLI, ['demo']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('refused with REPLAY');
    expect(r.stdout).toContain('refused with MAC_INVALID');
    expect(r.stdout).toContain('refused with REFLECTION');
    expect(r.stdout).toContain('INSECURE');
  });
});
