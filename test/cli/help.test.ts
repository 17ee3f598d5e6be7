/**
 * Every `onepad` command, as the composition root registers it: its `--help` exits 0 and lists every option it
 * declares with an example; its usage line names the same options; an unknown option is refused with
 * INVALID_ARGUMENT (exit 64) before the command does anything.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { allCommands, runCli } from '../../device/cli/dispatch.js';
import { GROUPS } from '../../device/service/commands.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(GROUPS, argv, { stdout, stderr, signal: new AbortController().signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const COMMANDS = allCommands(GROUPS);
const cases = COMMANDS.map((c) => [c.words.join(' '), c] as const);

describe('onepad <command> --help', () => {
  it('covers every command of the CLI, each named once', () => {
    const names = COMMANDS.map((c) => c.words.join(' '));
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['demo', 'device', 'package', 'unpackage', 'pair', 'simulate', 'relay', 'chat', 'pad list']) {
      expect(names).toContain(n);
    }
  });

  it.each(cases)('%s --help exits 0 with its usage, every option and an example', async (name, c) => {
    for (const flagName of ['--help', '-h']) {
      const r = await run([...c.words, flagName]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`usage: onepad ${name}`);
      for (const [opt, spec] of Object.entries(c.command.options)) {
        const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`--${opt} `) || l.trim() === `--${opt}`);
        expect(line, `--${opt} in ${name} --help`).toBeDefined();
        expect(line).toContain(spec.help);
        if (spec.type === 'string') expect(line).toContain(`--${opt} ${spec.value}`);
      }
      expect(r.stdout).toContain(`example:\n  onepad ${c.command.example}\n`);
    }
    expect(c.command.example.startsWith(name)).toBe(true);
  });

  it.each(cases)('%s: the usage line names exactly the declared options', (_name, c) => {
    const inUsage = new Set([...c.command.usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
    expect(inUsage).toEqual(new Set(Object.keys(c.command.options)));
  });

  it.each(cases)('%s refuses an unknown option with INVALID_ARGUMENT, exit 64', async (_name, c) => {
    const r = await run([...c.words, '--no-such-option', 'x']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^onepad: INVALID_ARGUMENT: .*unknown option --no-such-option/);
    expect(r.stdout).toBe('');
  });

  it('--help after -- is a positional, not a request for help', async () => {
    const r = await run(['pad', 'list', '--', '--help']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('INVALID_ARGUMENT');
  });

  it('onepad help lists every command; an unknown command exits 64', async () => {
    const help = await run(['help']);
    expect(help.code).toBe(0);
    for (const c of COMMANDS) expect(help.stderr).toContain(`onepad ${c.command.usage}`);
    expect((await run(['no-such-command'])).code).toBe(64);
  });
});
