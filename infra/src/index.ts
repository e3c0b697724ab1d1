export { ensureKafkaJars, startLocalKafka, waitForCluster, type BrokerProcess, type BrokerSpec, type LocalKafka, type LocalKafkaOptions } from './kafka/local-kafka';
export { freePort, freePorts } from './net/free-port';
