export { createReportingApp, type ReportingDeps } from './app';
export { checkApiKey, createApiKey, keyCovers, KEY_MARKER, listApiKeys, revokeApiKey, revokeApiKeysNamed, type ApiKey, type KeyCheck, type NewKeyOptions } from './api-keys';
export { getStats, type DayStats, type RangeStats, type StatsResponse } from './get-stats';
export { parseStatsParams, type StatsParams } from './stats-params';
export { startReportingService } from './service';
