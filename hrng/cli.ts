/**
 * `onepad hrng test` and `onepad hrng fill`.
 *
 * - `hrng test --source SPEC --seconds N`: reads one source for N seconds through its health gate (and the FIPS
 *   monitor), without touching the pool, and prints the rate and every verdict. Exit 0 when healthy, 1 when a
 *   health test failed or the source was lost.
 * - `hrng fill`: runs the filler in the foreground with a progress bar until the pool is full (or `--bytes`),
 *   Ctrl-C to stop. `--resume` is the operator's explicit action that clears a latched failure first.
 *
 * SPEC is a configured source's name, or `sim[:seed]`, `hwrng[:path]`, `truerng[:path]`, `onerng[:path]`.
 * Both take `--config FILE` (default $ONEPAD_CONFIG or ./onepad.json) or `--data-dir DIR` with default settings.
 */
import { existsSync } from 'node:fs';
import type { BindingInterface } from '@serialport/bindings-cpp';
import {
  flag,
  type OptionSpecs,
  option,
  type ParsedArgs,
  parseArgs,
  sizeOption,
  stringOption,
} from '../device/cli/args.js';
import type { Command, CommandContext, CommandGroup } from '../device/cli/command.js';
import { type Config, loadConfig, parseConfig } from '../device/config/config.js';
import { prepareDataDir } from '../device/data-dir.js';
import { isOnepadError, OnepadError } from '../device/errors.js';
import { EventLog } from '../device/events.js';
import { openLedgerDb } from '../device/ledger/open.js';
import type { HrngSourceConfig } from './config-section.js';
import { createSource, createSources, fillerSettings, needsSerial } from './factory.js';
import { Filler, type FillProgress } from './filler.js';
import { FipsMonitor } from './fips.js';
import { HealthGate } from './gate.js';
import { EntropyPool } from './pool.js';
import type { RawSource } from './source.js';

/** What the commands need from outside; tests pass their own. */
export interface HrngCliDeps {
  /** The serialport binding, loaded only when a serial source is used. */
  readonly binding?: () => Promise<BindingInterface>;
  readonly now?: () => number;
}

async function realBinding(): Promise<BindingInterface> {
  const { autoDetect } = await import('@serialport/bindings-cpp');
  return autoDetect();
}

const CONFIG_OPTION = option('FILE', 'the device config (default $ONEPAD_CONFIG or ./onepad.json)');
const DATA_DIR_OPTION = option('DIR', 'a data dir with default settings, instead of --config');

function configFrom(args: ParsedArgs): Config {
  const dataDir = args.options.get('data-dir');
  if (typeof dataDir === 'string') return parseConfig({ dataDir });
  const path = stringOption(args, 'config', process.env.ONEPAD_CONFIG ?? 'onepad.json');
  if (!existsSync(path) && !args.options.has('config')) {
    throw new OnepadError('INVALID_ARGUMENT', { option: 'config' }, `no ${path}; pass --config FILE or --data-dir DIR`);
  }
  return loadConfig(path);
}

/** A source config from a command-line spec (or a configured source by name). */
function sourceSpec(spec: string, config: Config | null): HrngSourceConfig {
  const configured = config?.hrng.sources.find((s) => (s.name || s.kind) === spec);
  if (configured) return configured;
  const base = parseConfig({ dataDir: '.', hrng: { sources: [{}] } }).hrng.sources[0] as HrngSourceConfig;
  const [kind, rest] = [spec.split(':')[0] ?? '', spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : ''];
  if (kind === 'sim' || kind === 'simulated') return { ...base, kind: 'simulated', ...(rest ? { seed: rest } : {}) };
  if (kind === 'hwrng' || kind === 'truerng' || kind === 'onerng') return { ...base, kind, path: rest };
  throw new OnepadError(
    'INVALID_ARGUMENT',
    { option: 'source' },
    'unknown --source; use sim, hwrng, truerng or onerng',
  );
}

function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtTime(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress bar line (no newline). Pure, for tests and the display. */
export function progressLine(p: FillProgress, width = 30): string {
  const frac = p.capacity > 0 ? p.poolBytes / p.capacity : 0;
  const full = Math.round(frac * width);
  const bar = `${'#'.repeat(full)}${'-'.repeat(width - full)}`;
  const insecure = p.insecure ? '  INSECURE (simulated entropy)' : '';
  return `[${bar}] ${(frac * 100).toFixed(1).padStart(5)}%  ${fmtBytes(p.poolBytes)} / ${fmtBytes(p.capacity)}  ${fmtBytes(
    Math.round(p.bytesPerSecond),
  )}/s  full in ${fmtTime(p.secondsToFull)}${insecure}`;
}

const TEST_OPTIONS = {
  source: option('SPEC', 'sim[:seed], hwrng[:path], truerng[:path], onerng[:path], or a configured source name'),
  seconds: option('N', 'how long to read (default 10)'),
  config: CONFIG_OPTION,
  'data-dir': DATA_DIR_OPTION,
} satisfies OptionSpecs;

function testCommand(deps: HrngCliDeps): Command {
  return {
    name: 'test',
    usage:
      'hrng test --source sim|hwrng[:path]|truerng[:path]|onerng[:path]|NAME --seconds N [--config FILE | --data-dir DIR]   read one source through its health tests',
    options: TEST_OPTIONS,
    example: 'hrng test --source truerng:/dev/ttyACM0 --seconds 30',
    async run(ctx) {
      const args = parseArgs(ctx.argv, TEST_OPTIONS);
      const now = deps.now ?? Date.now;
      let config: Config | null = null;
      if (args.options.has('config') || args.options.has('data-dir')) config = configFrom(args);
      const spec = sourceSpec(stringOption(args, 'source'), config);
      const seconds = sizeOption(args, 'seconds', 10);
      if (seconds < 1) throw new OnepadError('INVALID_ARGUMENT', { option: 'seconds' }, '--seconds must be at least 1');
      const binding = needsSerial([spec], false) ? await (deps.binding ?? realBinding)() : undefined;
      const source = createSource(spec, { simulated: false, ...(binding ? { binding } : {}) });
      const alphaLog2 = config?.hrng.alphaLog2 ?? 30;
      return runTest(ctx, source, alphaLog2, seconds * 1000, now);
    },
  };
}

async function runTest(
  ctx: CommandContext,
  source: RawSource,
  alphaLog2: number,
  ms: number,
  now: () => number,
): Promise<number> {
  const out = (s: string) => ctx.stdout.write(`${s}\n`);
  const gate = new HealthGate({ alphaLog2, h: source.claimedH });
  const fips = new FipsMonitor();
  out(`source ${source.name} (${source.kind})${source.insecure ? ' INSECURE: simulated entropy' : ''}`);
  out(`claimed min-entropy H = ${source.claimedH} bits/byte, alpha = 2^-${alphaLog2}`);
  out(`cutoffs: RCT ${gate.rct.cutoff} repeats, APT ${gate.apt.cutoff} of ${gate.apt.window}`);
  await source.open();
  out(`opened: ${JSON.stringify(source.info())}`);
  const t0 = now();
  let raw = 0;
  let lost: OnepadError | null = null;
  const timer = setTimeout(() => void source.close(), ms);
  const onAbort = () => void source.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (now() - t0 < ms && gate.state !== 'failed' && !ctx.signal.aborted) {
      let bytes: Uint8Array;
      try {
        bytes = await source.read(4096);
      } catch (e) {
        if (isOnepadError(e, 'HRNG_SOURCE_LOST') && e.details.canceled) break;
        lost = e instanceof OnepadError ? e : new OnepadError('HRNG_SOURCE_LOST', { source: source.name });
        break;
      }
      raw += bytes.length;
      fips.feed(bytes);
      gate.push(bytes).released.fill(0);
      bytes.fill(0);
    }
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    await source.close();
  }
  const secs = Math.max(0.001, (now() - t0) / 1000);
  const f = gate.failure;
  out(`read ${raw} bytes in ${secs.toFixed(1)} s: ${fmtBytes(Math.round(raw / secs))}/s`);
  const startup = raw < gate.startupSamples && !f ? 'not reached' : f?.phase === 'startup' ? 'FAIL' : 'pass';
  out(`start-up test (${gate.startupSamples} samples): ${startup}`);
  out(
    `repetition count test: ${f?.test === 'rct' ? `FAIL at sample ${f.sample}` : 'pass'} (longest run ${gate.rct.longestRun}, cutoff ${gate.rct.cutoff})`,
  );
  out(
    `adaptive proportion test: ${f?.test === 'apt' ? `FAIL at sample ${f.sample}` : 'pass'} (highest count ${gate.apt.maxCount}, cutoff ${gate.apt.cutoff})`,
  );
  out(`windows passed: ${gate.windowsPassed}, bytes that would be released: ${gate.bytesReleased}`);
  out(
    `FIPS 140-2 (monitor): ${fips.blocks} blocks, ${fips.blocksFailed} failed (monobit ${fips.failures.monobit}, poker ${fips.failures.poker}, runs ${fips.failures.runs}, long run ${fips.failures.longRun})`,
  );
  if (lost) out(`source lost: ${lost.message}`);
  const ok = !f && !lost && raw >= gate.startupSamples;
  out(`verdict: ${ok ? 'HEALTHY' : f ? 'FAILED' : lost ? 'LOST' : 'TOO FEW SAMPLES'}`);
  return ok ? 0 : 1;
}

const FILL_OPTIONS = {
  config: CONFIG_OPTION,
  'data-dir': DATA_DIR_OPTION,
  bytes: option('N', 'stop after adding N bytes to the pool (default: until it is full)'),
  resume: flag('clear a latched health-test failure first (the operator has checked the source)'),
  sim: flag('use simulated sources (seeded: INSECURE)'),
} satisfies OptionSpecs;

function fillCommand(deps: HrngCliDeps): Command {
  return {
    name: 'fill',
    usage:
      'hrng fill [--config FILE | --data-dir DIR] [--bytes N] [--resume] [--sim]   fill the entropy pool in the foreground',
    options: FILL_OPTIONS,
    example: 'hrng fill --config /etc/onepad/config.json --bytes 16M',
    async run(ctx) {
      const args = parseArgs(ctx.argv, FILL_OPTIONS);
      const config = configFrom(args);
      const simulated = config.device.simulated || args.options.get('sim') === true;
      const binding = needsSerial(config.hrng.sources, simulated) ? await (deps.binding ?? realBinding)() : undefined;
      const sources = createSources(config.hrng, { simulated, ...(binding ? { binding } : {}) });
      const layout = prepareDataDir(config.dataDir);
      const db = openLedgerDb(layout.ledger);
      const events = new EventLog(layout.events, config.engine.eventLogMax);
      let pool: EntropyPool | null = null;
      try {
        pool = EntropyPool.open({ db, path: layout.pool, maxBytes: config.hrng.poolMaxBytes, events });
        const filler = new Filler({
          sources,
          pool,
          events,
          ...fillerSettings(config.hrng),
          ...(deps.now ? { now: deps.now } : {}),
        });
        if (args.options.get('resume') === true) {
          ctx.stdout.write(`resuming (was: ${filler.latched() ?? 'not latched'})\n`);
          filler.resume();
        }
        const tty = (ctx.stdout as { isTTY?: boolean }).isTTY === true;
        let last = 0;
        const show = (p: FillProgress, final = false) => {
          const t = Date.now();
          if (!final && t - last < (tty ? 200 : 1000)) return;
          last = t;
          ctx.stdout.write(tty ? `\r${progressLine(p)}` : `${progressLine(p)}\n`);
        };
        ctx.stdout.write(`filling ${layout.pool} from ${sources.map((s) => s.name).join(' XOR ')}\n`);
        const bytes = args.options.has('bytes') ? sizeOption(args, 'bytes') : undefined;
        const r = await filler.run({
          signal: ctx.signal,
          onProgress: (p) => show(p),
          ...(bytes !== undefined ? { bytes } : {}),
        });
        show(filler.progress(), true);
        if (tty) ctx.stdout.write('\n');
        if (r.state === 'failed') {
          const e = r.error as OnepadError;
          ctx.stderr.write(`${e.code}: ${e.message} ${JSON.stringify(e.details)}\n`);
          if (filler.latched())
            ctx.stderr.write('filling is latched off; inspect the source, then: onepad hrng fill --resume\n');
          return 1;
        }
        ctx.stdout.write(`${r.state}: appended ${r.appended} bytes; pool holds ${pool.available()} bytes\n`);
        return 0;
      } finally {
        pool?.close();
        db.close();
        events.close();
      }
    },
  };
}

/** Build the `hrng` command group with the given dependencies. */
export function createHrngCommands(deps: HrngCliDeps = {}): CommandGroup {
  return { name: 'hrng', commands: [testCommand(deps), fillCommand(deps)] };
}

/** The `hrng` command group: `test` and `fill`. */
export const hrngCommands: CommandGroup = createHrngCommands();
