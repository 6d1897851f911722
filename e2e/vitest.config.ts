import { defineConfig } from 'vitest/config';

// Real QEMU under TCG on a 2-core machine: one file at a time, generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    globalSetup: ['src/global-setup.ts'],
  },
});
