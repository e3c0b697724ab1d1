/** The fault suite (npm run test:faults): real processes killed, frozen and restarted; minutes, not seconds. */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/tests/faults/**/*.faults.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Every scenario starts its own broker(s): it needs to kill them.
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 900000,
};
