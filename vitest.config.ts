import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/docker/: `npm run test:docker` (vitest.docker.config.ts), a Docker engine and an image build.
    exclude: [...configDefaults.exclude, 'test/docker/**'],
    globalSetup: ['test/global-setup.ts'],
    // The default `forks` pool: native addons and network namespaces behave
    // better in separate processes than in worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    // After the default summary, every skipped suite and test with its reason
    // (test/skip.ts): the default reporter alone shows only a count.
    reporters: ['default', './test/skip-reasons-reporter.ts'],
    // *.test-d.ts files hold type-level tests (node wiring): tsc checks them.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'tsconfig.test.json' },
  },
});
