/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  // Tests import workspace packages from source; everything else resolves as at run time.
  moduleNameMapper: {
    '^@sitestream/db$': '<rootDir>/shared/db/src/index.ts',
    '^@sitestream/(shared|ingest|consumer|reporting|infra)$': '<rootDir>/$1/src/index.ts',
  },
  testMatch: ['<rootDir>/*/src/**/*.test.ts', '<rootDir>/shared/db/src/**/*.test.ts', '<rootDir>/tests/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/tests/faults/'],
  globalSetup: '<rootDir>/tests/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/tests/helpers/global-teardown.ts',
  testTimeout: 60000,
};
