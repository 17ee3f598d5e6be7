/**
 * The import rules, as each source folder's README.md states them on its `May import:` line: every relative
 * import (static, `import type`, `export ... from`, dynamic `import()`) of every .ts file is checked against the
 * rule of the folder that holds it (the paragraph that starts with `May import:`). A file belongs to the nearest folder above it with a README.md; an import
 * is allowed when it stays in that folder, or when its target's folder (or the target file itself) is named in
 * backquotes on the `May import:` line. So `device/` (the engine) imports nothing above it, and only the
 * composition root, `device/service/`, imports everything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), '..', '..'));
/** The source folders with rules; test/, bench/ and image/ may import anything. */
const AREAS = ['device', 'device/service', 'hrng', 'provisioning', 'display', 'rpc', 'client'];

/** The backquoted paths of a README's `May import:` paragraph (up to the next blank line). */
function rulesOf(readme: string): string[] {
  const para = readme.split(/\n\s*\n/).find((p) => /^May import:/.test(p.trimStart()));
  if (!para) return [];
  return [...para.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/\/$/, ''));
}

/** Every relative module specifier in a TypeScript source. */
function importsOf(source: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gms,
    /^\s*import\s+'([^']+)'/gm,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) specs.push(m[1] as string);
  return specs.filter((s) => s.startsWith('.'));
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** The area a repository path belongs to: the longest area that contains it. */
function areaOf(path: string): string | undefined {
  return AREAS.filter((a) => path === a || path.startsWith(`${a}/`)).sort((x, y) => y.length - x.length)[0];
}

function violations(): string[] {
  const rules = new Map(AREAS.map((a) => [a, rulesOf(readFileSync(join(ROOT, a, 'README.md'), 'utf8'))]));
  const bad: string[] = [];
  for (const area of AREAS.filter((a) => a.indexOf('/') < 0)) {
    for (const file of tsFiles(area)) {
      const own = areaOf(file) as string;
      const allowed = rules.get(own) ?? [];
      for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
        const target = relative(ROOT, normalize(join(ROOT, dirname(file), spec))).replace(/\.js$/, '.ts');
        const to = areaOf(target);
        if (to === own) continue;
        if (to !== undefined && allowed.includes(to)) continue;
        if (allowed.includes(target)) continue;
        bad.push(`${file} imports ${target} (${own}/ may import: ${allowed.join(', ') || 'only itself'})`);
      }
    }
  }
  return bad;
}

describe('import rules (each folder README.md, "May import:")', () => {
  it('every source folder states its rule', () => {
    for (const a of AREAS) expect(rulesOf(readFileSync(join(ROOT, a, 'README.md'), 'utf8')), a).not.toEqual([]);
  });

  it('no file imports what its folder may not import', () => {
    expect(violations()).toEqual([]);
  });

  it('nothing but the composition root imports device/service/', () => {
    for (const [a, r] of AREAS.filter((x) => x !== 'device/service').map(
      (x) => [x, rulesOf(readFileSync(join(ROOT, x, 'README.md'), 'utf8'))] as const,
    )) {
      expect(r, a).not.toContain('device/service');
    }
  });

  it('the config sections the engine gathers are leaves: they import only device/config/section.ts', () => {
    for (const area of ['hrng', 'provisioning', 'display', 'rpc']) {
      const specs = importsOf(readFileSync(join(ROOT, area, 'config-section.ts'), 'utf8'));
      expect(specs, area).toEqual(['../device/config/section.js']);
    }
  });

  it('sees every kind of import it checks (so a rule cannot pass by reading nothing)', () => {
    const src = [
      "import { a } from '../x/a.js';",
      "import type { B } from './b.js';",
      'import {\n  c,\n  d,\n} from "pkg";',
      "import {\n  e,\n} from '../../y/e.js';",
      "export { f } from '../z/f.js';",
      "export * from './g.js';",
      "import './side-effect.js';",
      "const m = await import('../w/m.js');",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(importsOf(src).sort()).toEqual(
      ['../x/a.js', './b.js', '../../y/e.js', '../z/f.js', './g.js', './side-effect.js', '../w/m.js'].sort(),
    );
    expect(
      rulesOf('# x `a/`\n\nMay import: `device/`, and\n`hrng/config-section.ts`, and node.\n\nNot `rpc/`.\n'),
    ).toEqual(['device', 'hrng/config-section.ts']);
  });
});
