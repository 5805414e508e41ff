import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['sync-engine/**/*.test.ts', 'lab/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', 'node_modules/**', 'dist/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.integration.test.ts'],
          exclude: ['node_modules/**', 'dist/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Integration tests start servers and processes; one file at a time keeps a 2-core machine honest.
          fileParallelism: false,
        },
      },
    ],
  },
});
