import { defineConfig } from 'vitest/config';

// Benchmarks are run by hand (npm run bench), never in CI; they reuse the e2e rig.
export default defineConfig({
  test: {
    include: ['bench/**/*.bench.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    globalSetup: ['e2e/src/global-setup.ts'],
  },
});
