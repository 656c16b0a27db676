/** Unit and integration tests of every workspace; integration tests start real
 * processes (daprd, Redis, dynalite, services) through @context-qa/testkit. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/**/test/**/*.test.ts'],
  // The cluster and container tiers are their own steps (make check-cluster, make check-images).
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.tools/', '/.dapr/', ...(process.env.JEST_TIER ? [] : ['/test/cluster/', '/test/containers/'])],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 60_000,
  // Checks every response from a gateway a Stack started against docs/openapi*.json.
  setupFilesAfterEnv: ['<rootDir>/test/support/gateway-responses.ts'],
  reporters: ['default', '<rootDir>/scripts/jest-summary.js'],
};
