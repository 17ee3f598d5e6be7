/**
 * Without WebAssembly SIMD (an x86-64 CPU without SSE4.1, such as plain qemu64, where V8 refuses the kernels'
 * SIMD instructions) onepad stops at start-up with HRNG_WASM_UNAVAILABLE, never with a bare RangeError or an
 * INTERNAL failure, and never falls back to another pipeline. Simulated here by a WebAssembly whose validate or
 * Module refuses the module, as V8 does on such a CPU: in process (compileKernels) and in real `onepad hrng`
 * processes whose WebAssembly is patched by a preload before any onepad code runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { isOnepadError } from '../../device/errors.js';
import { compileKernels, KernelMemory, type WasmApi, wasmApi } from '../../hrng/kernels.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../device/service/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'onepad-wasm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(f: () => unknown): { code: string; reason: unknown } | string {
  try {
    f();
    return 'no error';
  } catch (e) {
    if (!isOnepadError(e)) return `not an OnepadError: ${String(e)}`;
    return { code: e.code, reason: e.details.reason };
  }
}

describe('no WebAssembly SIMD: a typed error at start-up', () => {
  it('compileKernels: no WebAssembly, a module that does not validate, one that does not compile', () => {
    expect(codeOf(() => compileKernels(null))).toEqual({
      code: 'HRNG_WASM_UNAVAILABLE',
      reason: 'no-webassembly',
    });
    const refusing: WasmApi = { ...wasmApi, validate: () => false, Module: wasmApi.Module, Instance: wasmApi.Instance };
    expect(codeOf(() => compileKernels(refusing))).toEqual({ code: 'HRNG_WASM_UNAVAILABLE', reason: 'invalid' });
    const failing: WasmApi = {
      validate: () => true,
      Module: class {
        constructor() {
          throw new RangeError('WebAssembly.Module(): Compiling function failed: invalid simd opcode');
        }
      } as unknown as WasmApi['Module'],
      Instance: wasmApi.Instance,
    };
    expect(codeOf(() => compileKernels(failing))).toEqual({ code: 'HRNG_WASM_UNAVAILABLE', reason: 'compile' });
    // The real runtime here has SIMD: the same call compiles, and kernels run.
    expect(codeOf(() => compileKernels())).toBe('no error');
    expect(() => new KernelMemory()).not.toThrow();
  });

  it('the device service (startHosted) refuses before it opens the pool', async () => {
    // A fresh copy of the modules, so that the kernels are compiled (and refused) anew, not taken from the cache.
    vi.resetModules();
    const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    const validate = vi.spyOn(wasm, 'validate').mockReturnValue(false);
    try {
      const { startHosted } = await import('../../device/service/hosted.js');
      const root = join(dir, 'hosted');
      const config = parseConfig({
        dataDir: root,
        device: { name: 'pad-nosimd', ownerWord: 'heron' },
        link: { address: '127.0.0.1', peer: '127.0.0.1', port: 4747, logLevel: 'warn' },
      });
      let caught: unknown = null;
      try {
        // Nothing of the engine or the screen is touched before the check.
        startHosted({ config, engine: { ledger: {}, events: {} } as never, screen: {} as never, simulated: true });
      } catch (e) {
        caught = e;
      }
      expect((caught as { code?: string } | null)?.code).toBe('HRNG_WASM_UNAVAILABLE');
      expect(validate).toHaveBeenCalled();
      expect(existsSync(join(root, 'pool.bin'))).toBe(false);
    } finally {
      validate.mockRestore();
    }
  });

  /** Run `onepad ARGS` with the WebAssembly API patched by `patch` (JavaScript run before onepad's modules). */
  function onepadWith(patch: string, args: string[]) {
    const preload = join(dir, `preload-${readdirSync(dir).length}.mjs`);
    writeFileSync(preload, patch);
    return spawnSync(process.execPath, ['--import', preload, '--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
  }

  const REFUSE_VALIDATE = 'globalThis.WebAssembly.validate = () => false;\n';
  // As V8 on a CPU without SSE4.1: the module does not compile.
  const REFUSE_COMPILE =
    "const M = globalThis.WebAssembly.Module; globalThis.WebAssembly.Module = function () { throw new globalThis.WebAssembly.CompileError('WebAssembly.Module(): invalid simd opcode'); };\n" +
    'globalThis.WebAssembly.validate = () => true; void M;\n';

  it('`onepad hrng test` exits 2 with HRNG_WASM_UNAVAILABLE, before reading the source', () => {
    for (const patch of [REFUSE_VALIDATE, REFUSE_COMPILE]) {
      const r = onepadWith(patch, ['hrng', 'test', '--source', 'sim:1', '--seconds', '1']);
      expect(r.stderr).toContain('onepad: HRNG_WASM_UNAVAILABLE: ');
      expect(r.stderr).not.toContain('INTERNAL');
      expect(r.status).toBe(2);
    }
    // Unpatched, the same command runs its tests (the failure above is the patch's doing).
    const ok = onepadWith('', ['hrng', 'test', '--source', 'sim:1', '--seconds', '1', '--bytes', '100000']);
    expect(ok.stderr).not.toContain('HRNG_WASM_UNAVAILABLE');
    expect(ok.stdout).toMatch(/FIPS 140-2 failure rate: pass/);
  });

  it('`onepad hrng fill` exits 2 with HRNG_WASM_UNAVAILABLE and leaves no pool bytes', () => {
    const data = join(dir, 'data');
    const r = onepadWith(REFUSE_COMPILE, ['hrng', 'fill', '--data-dir', data, '--sim', '--bytes', '4096']);
    expect(r.stderr).toContain('onepad: HRNG_WASM_UNAVAILABLE: ');
    expect(r.status).toBe(2);
    const status = onepadWith('', ['hrng', 'status', '--data-dir', data, '--json']);
    if (status.status === 0) expect(JSON.parse(status.stdout).pool?.filled ?? 0).toBe(0);
  });
});
