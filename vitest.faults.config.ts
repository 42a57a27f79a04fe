import { defineConfig } from 'vitest/config';

/**
 * The fault and abuse suite (`npm run test:faults`): database restarts, killed and frozen
 * schedulers, provider and chat outages, forged requests, clock jumps, hostile input, a soak.
 * Files run one after another: several of them restart the shared PostgreSQL server or
 * load the machine on purpose, and must not disturb each other.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/support/globalSetup.ts'],
  },
});
