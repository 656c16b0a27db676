/**
 * Test tiers as jest projects, chosen by folder (`npx jest --selectProjects <tier>`):
 *
 * - unit: `<workspace>/test/*.test.ts`. In-process only (an in-process simulator or
 *   supertest is fine): no Dapr, Redis, built dist/ or tool from `make setup`. The
 *   workspace packages resolve to their TypeScript sources, so `npm ci` is enough
 *   (`make unit`).
 * - system: the repository's test/{integration,consistency,observability,contract,setup}
 *   and each workspace's `test/system/`: they start real processes (daprd, Redis,
 *   dynalite, the services from dist/) or run what `make setup` and `npx tsc -b` built.
 * - browser: test/browser (a Stack and Chromium).
 * - cluster: test/cluster (`make check-cluster`).
 * - containers: test/containers (`make check-images`).
 * - node: test/node (`make check-node`): a real single-node Kubernetes (kubelet, containerd).
 *
 * `make test` runs unit, system and browser; cluster and containers are their own steps;
 * node is opt-in (not in .ci/run yet).
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] };
const ignore = ['/node_modules/', '/dist/', '/.tools/', '/.dapr/'];
// Every file: releases what roarr (under @dapr/dapr) holds on process.stdout.
const teardown = ['<rootDir>/test/support/roarr-teardown.ts'];
// And, where a gateway Stack starts, checks each of its responses against docs/openapi*.json.
const gatewayResponses = [...teardown, '<rootDir>/test/support/gateway-responses.ts'];

const tier = (displayName, testMatch, extra = {}) => ({
  displayName,
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch,
  testPathIgnorePatterns: ignore,
  transform,
  setupFilesAfterEnv: teardown,
  ...extra,
});

/** Workspace packages → their sources (`@context-qa/common` and its concerns, `@context-qa/common/<concern>`). */
const sources = {};
for (const [name, dir] of [
  ['common', 'packages/common'],
  ['testkit', 'packages/testkit'],
  ['model-sim', 'tools/model-sim'],
  ['manifest-check', 'tools/manifest-check'],
  ['ai-core-service', 'ai-core-service'],
  ['gateway-service', 'gateway-service'],
]) {
  sources[`^@context-qa/${name}$`] = `<rootDir>/${dir}/src`;
  sources[`^@context-qa/${name}/(.*)$`] = `<rootDir>/${dir}/src/$1`;
}

module.exports = {
  projects: [
    tier('unit', ['<rootDir>/*/test/*.test.ts', '<rootDir>/*/*/test/*.test.ts'], { moduleNameMapper: sources }),
    tier(
      'system',
      [
        '<rootDir>/test/{integration,consistency,observability,contract,setup}/**/*.test.ts',
        '<rootDir>/*/test/system/**/*.test.ts',
        '<rootDir>/*/*/test/system/**/*.test.ts',
      ],
      { setupFilesAfterEnv: gatewayResponses },
    ),
    tier('browser', ['<rootDir>/test/browser/**/*.test.ts'], { setupFilesAfterEnv: gatewayResponses }),
    tier('cluster', ['<rootDir>/test/cluster/**/*.test.ts']),
    tier('containers', ['<rootDir>/test/containers/**/*.test.ts'], { setupFilesAfterEnv: gatewayResponses }),
    tier('node', ['<rootDir>/test/node/**/*.test.ts']),
  ],
  testTimeout: 60_000,
  reporters: ['default', '<rootDir>/scripts/jest-summary.js'],
};
