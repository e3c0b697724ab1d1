export { migrateLatest, migrateRollbackAll } from './db/migrate';
export { ensureKafkaJars, startLocalKafka, waitForCluster, type BrokerProcess, type BrokerSpec, type LocalKafka, type LocalKafkaOptions } from './kafka/local-kafka';
