/**
 * Test fixture: two data dirs with a matched seeded (insecure) pad, and engines on them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, parseConfig } from '../../device/config/config.js';
import type { ConfirmDecision, Confirmer, ConfirmRequest } from '../../device/confirm.js';
import { DeviceEngine, type EngineDeps } from '../../device/engine.js';
import { createPadPair } from '../../device/pad-pair.js';

/** A confirmer that answers from a script (default: approve) and records what it was asked. */
export class ScriptedConfirmer implements Confirmer {
  readonly asked: ConfirmRequest[] = [];
  constructor(
    public answer: ConfirmDecision | ((req: ConfirmRequest) => ConfirmDecision | Promise<ConfirmDecision>) = 'approved',
  ) {}
  async confirm(req: ConfirmRequest): Promise<ConfirmDecision> {
    this.asked.push(req.kind === 'encrypt' ? { ...req, plaintext: req.plaintext.slice() } : req);
    return typeof this.answer === 'function' ? this.answer(req) : this.answer;
  }
}

export interface Pair {
  readonly root: string;
  readonly dirA: string;
  readonly dirB: string;
  readonly padId: string;
  configA(overrides?: Record<string, unknown>): Config;
  configB(overrides?: Record<string, unknown>): Config;
  /** Opens an engine on A (alice, side A, contact "bob"). */
  openA(deps?: Partial<EngineDeps>, overrides?: Record<string, unknown>): DeviceEngine;
  /** Opens an engine on B (bob, side B, contact "alice"). */
  openB(deps?: Partial<EngineDeps>, overrides?: Record<string, unknown>): DeviceEngine;
  cleanup(): void;
}

/** Make a fresh pair of data dirs holding a seeded pad of `size` bytes between alice (A) and bob (B). */
export function makePair(size = 4096, seed = 'test-seed'): Pair {
  const root = mkdtempSync(join(tmpdir(), 'onepad-test-'));
  const dirA = join(root, 'alice');
  const dirB = join(root, 'bob');
  const { padId } = createPadPair({ dirA, dirB, nameA: 'alice', nameB: 'bob', size, source: { kind: 'seeded', seed } });
  const cfg = (dataDir: string, name: string, overrides: Record<string, unknown> = {}) =>
    parseConfig({ dataDir, device: { name, simulated: true }, ...overrides });
  const engines: DeviceEngine[] = [];
  const open = (config: Config, deps: Partial<EngineDeps>) => {
    const e = DeviceEngine.open({ config, confirmer: new ScriptedConfirmer(), ...deps });
    engines.push(e);
    return e;
  };
  return {
    root,
    dirA,
    dirB,
    padId,
    configA: (o) => cfg(dirA, 'alice', o),
    configB: (o) => cfg(dirB, 'bob', o),
    openA: (deps = {}, o) => open(cfg(dirA, 'alice', o), deps),
    openB: (deps = {}, o) => open(cfg(dirB, 'bob', o), deps),
    cleanup() {
      for (const e of engines) e.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());
