export { createReportingApp, type ReportingDeps } from './app';
export { getStats, type DayStats, type RangeStats, type StatsResponse } from './get-stats';
export { parseStatsParams, type StatsParams } from './stats-params';
export { startReportingService } from './service';
