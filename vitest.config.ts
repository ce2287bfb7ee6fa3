import { defineConfig } from 'vitest/config';

// Unit tests sit beside their sources; integration tests boot the real guest under Node.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts', 'tests/*.test.ts', 'tests/integration/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file boots its own emulators, which are CPU-bound: one file per core.
    maxWorkers: 2,
  },
});
