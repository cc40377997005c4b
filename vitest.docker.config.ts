// `npm run test:docker`: the Docker suite (test/docker/), apart from `npm test`
// because it builds an image and runs a Docker engine (minutes, not seconds).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/docker/**/*.test.ts'],
    // dist/ for `dataplane run` on the host side, then the engine and the image.
    globalSetup: ['test/global-setup.ts', 'test/docker/global-setup.ts'],
    pool: 'forks',
    // One engine for all files; one file at a time (they share its image and the machine's 2 cores).
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', './test/skip-reasons-reporter.ts'],
  },
});
