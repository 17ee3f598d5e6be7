import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/image/**', 'node_modules/**', 'dist/**'],
    // Installs the Debian packages in .ci/apt-packages when missing (as root), or stops saying what to run.
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only thrash; crash and netns tests spawn children of their own.
    maxWorkers: 2,
  },
});
