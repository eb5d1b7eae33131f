import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Two cores: forks keep memory isolated; the embedded servers are per file.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      SLS_TELEMETRY_DISABLED: '1',
      POWERTOOLS_DEV: 'false',
    },
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/coverage/**'], sequence: { groupOrder: 0 } } },
      // After the whole suite: did the suite's calls use every permission of every role?
      { extends: true, test: { name: 'least-privilege', include: ['test/coverage/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
