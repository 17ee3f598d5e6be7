/**
 * `npm run bench [-- --json] [-- --only engine,rpc]`: runs every area's benchmark and prints its figures.
 * Each area has bench/<area>.ts exporting `run(report: Reporter): Promise<void>`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { consoleReporter, type Reporter } from './report.js';

const AREAS = ['engine', 'rpc', 'hrng', 'display', 'pairing', 'chat', 'relay-abuse', 'lifetime', 'pipe'] as const;

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = onlyArg ? onlyArg.split(',') : null;
const report = consoleReporter(json);

for (const area of AREAS) {
  if (only && !only.includes(area)) continue;
  const file = fileURLToPath(new URL(`./${area}.ts`, import.meta.url));
  if (!existsSync(file)) {
    report.info(`${area}: no benchmark yet`);
    continue;
  }
  const mod = (await import(file)) as { run: (r: Reporter) => Promise<void> };
  report.info(`${area}: running`);
  await mod.run(report);
}
