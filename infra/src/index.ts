export { migrateLatest, migrateRollbackAll } from './db/migrate';
export { ensureKafkaJars, startLocalKafka, waitForCluster, type BrokerProcess, type BrokerSpec, type LocalKafka, type LocalKafkaOptions } from './kafka/local-kafka';
export { rebuildRollups, type RebuildOptions, type RebuildSummary } from './admin/rebuild-rollups';
export { canonicalTimeZone, listSites, setSiteTimeZone, type ZoneChange } from './admin/site-time-zones';
export { freePort, freePorts } from './net/free-port';
