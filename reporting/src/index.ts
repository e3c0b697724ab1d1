export { createReportingApp, type ReportingDeps } from './app';
export { getStats, type DayStats, type RangeStats, type StatsResponse } from './get-stats';
export { parseStatsParams, type StatsParams } from './stats-params';
export { startReportingService } from './service';
// For bench/reporting/union-runs.ts and country-index.ts: the statements measured against other variants.
export { buildRollupQuery, UNION_RUN_DAYS } from './query/query-rollup-sql';
export { buildFactsQuery, filterIdsQuery } from './query/query-facts-sql';
export { parseQueryParams } from './query/query-params';
