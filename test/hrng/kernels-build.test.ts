import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wasmApi } from '../../hrng/kernels.js';
import { buildKernels, GENERATED } from './kernels-build.js';

describe('WebAssembly kernels build', () => {
  it('the committed hrng/wasm/kernels.generated.ts is exactly what the pinned compiler makes from kernels.as', async () => {
    const { wasm, text } = await buildKernels();
    expect(wasmApi.validate(wasm)).toBe(true);
    expect(readFileSync(GENERATED, 'utf8')).toBe(text);
  }, 120_000);
});
