/**
 * The global setup's detection of missing Debian packages: the list file's parser, the reading of dpkg-query's
 * output, the decision (nothing / install / stop with a command), and the real dpkg-query on this machine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APT_PACKAGES_FILE,
  missingFromDpkgQuery,
  onPath,
  parseAptPackages,
  plan,
  queryMissing,
  stopMessage,
} from './debian-packages.js';

const pkgName = fc.stringMatching(/^[a-z0-9][a-z0-9+.-]{1,20}$/);

describe('parseAptPackages', () => {
  it('reads names, skipping blanks, comments and duplicates', () => {
    expect(parseAptPackages('# tests need\nsocat\n\n  iproute2  \nstrace # for the sandbox test\nsocat\n')).toEqual([
      'socat',
      'iproute2',
      'strace',
    ]);
  });

  it('reads the repository file, which is not empty', () => {
    const names = parseAptPackages(readFileSync(APT_PACKAGES_FILE, 'utf8'));
    expect(names.length).toBeGreaterThan(0);
    expect(names).toContain('chromium');
  });

  it('refuses what is not a package name (so nothing odd reaches the apt-get command line)', () => {
    for (const bad of ['socat strace', 'Socat', '-y', '--allow-unauthenticated', 'a', 'x;rm', 'pkg$(id)']) {
      expect(() => parseAptPackages(`ok\n${bad}\n`), bad).toThrow(RangeError);
    }
  });

  it('gives back every name of a generated file, once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(pkgName, { maxLength: 12 }),
        fc.array(fc.constantFrom('', '# c', '   '), { maxLength: 4 }),
        (names, noise) => {
          const text = [...noise, ...names.map((n, i) => (i % 2 ? `${n} # why` : `  ${n}`)), ...noise].join('\n');
          expect(parseAptPackages(text)).toEqual([...new Set(names)]);
        },
      ),
    );
  });
});

describe('missingFromDpkgQuery', () => {
  const required = ['socat', 'iproute2', 'strace', 'chromium'];

  it('is empty when dpkg reports each one installed', () => {
    const out = 'chromium\tinstalled\niproute2\tinstalled\nsocat\tinstalled\nstrace\tinstalled\n';
    expect(missingFromDpkgQuery(required, out)).toEqual([]);
  });

  it('counts unknown, removed and half-installed packages as missing, in the order required', () => {
    const out = 'chromium\tinstalled\niproute2\tconfig-files\nstrace\thalf-configured\n';
    expect(missingFromDpkgQuery(required, out)).toEqual(['socat', 'iproute2', 'strace']);
  });

  it('takes an arch-qualified name as the package', () => {
    expect(missingFromDpkgQuery(['libc6'], 'libc6:amd64\tinstalled\n')).toEqual([]);
  });

  it('does not take a package whose name merely starts like a required one', () => {
    expect(missingFromDpkgQuery(['socat'], 'socat-extra\tinstalled\n')).toEqual(['socat']);
  });

  it('is exactly the required names without an "installed" line (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(pkgName, { maxLength: 10 }),
        fc.array(fc.constantFrom('installed', 'not-installed', 'config-files', 'unpacked')),
        (names, statuses) => {
          const lines = names.map((n, i) => [n, statuses[i % Math.max(1, statuses.length)] ?? 'unknown'] as const);
          const shown = lines.filter((_, i) => i % 3 !== 2); // some unknown to dpkg: no line at all
          const out = shown.map(([n, s]) => `${n}\t${s}\n`).join('');
          const expected = names.filter((n) => !shown.some(([m, s]) => m === n && s === 'installed'));
          expect(missingFromDpkgQuery(names, out)).toEqual(expected);
        },
      ),
    );
  });
});

describe('plan', () => {
  it('does nothing, and so calls no apt-get, when nothing is missing', () => {
    for (const isRoot of [true, false]) {
      for (const hasAptGet of [true, false]) expect(plan([], { isRoot, hasAptGet })).toEqual({ kind: 'nothing' });
    }
  });

  it('installs the missing ones as root with apt-get', () => {
    expect(plan(['socat', 'nftables'], { isRoot: true, hasAptGet: true })).toEqual({
      kind: 'install',
      packages: ['socat', 'nftables'],
    });
  });

  it('stops with one command otherwise', () => {
    const notRoot = plan(['socat'], { isRoot: false, hasAptGet: true });
    expect(notRoot).toEqual({ kind: 'stop', packages: ['socat'], command: 'sudo npm test' });
    const noApt = plan(['socat', 'strace'], { isRoot: true, hasAptGet: false });
    expect(noApt.kind).toBe('stop');
    if (noApt.kind !== 'stop') return;
    expect(noApt.command).toContain('apt-get install socat strace');
    const msg = stopMessage(noApt);
    expect(msg).toContain('socat strace');
    expect(msg.split('\n').filter((l) => l.startsWith('Run: '))).toHaveLength(1);
  });
});

describe('on this machine', () => {
  it('finds executables on PATH without spawning, and not what is absent or not executable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-path-'));
    try {
      writeFileSync(join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      writeFileSync(join(dir, 'plain'), 'data', { mode: 0o644 });
      expect(onPath('tool', dir)).toBe(true);
      expect(onPath('plain', dir)).toBe(false); // no x bit: even root may not execute it
      expect(onPath('absent', dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!onPath('dpkg-query'))(
    'asks the real dpkg-query: dpkg itself is installed, a made-up name is missing',
    () => {
      expect(queryMissing(['dpkg', 'onepad-no-such-package', 'coreutils'])).toEqual(['onepad-no-such-package']);
    },
  );
});
