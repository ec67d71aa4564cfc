import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file starts its own redis-server; two cores set the useful parallelism.
    maxWorkers: 2,
  },
});
