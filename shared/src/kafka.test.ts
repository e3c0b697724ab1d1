import { logLevel } from 'kafkajs';
import { kafkajsLogLevel, topicConfigEntries } from './kafka';

describe('topicConfigEntries', () => {
  const spec = (replicationFactor: number) => ({ topic: 't', numPartitions: 1, replicationFactor });
  it('sets min.insync.replicas to 2 when the topic has replicas, and leaves a single copy alone', () => {
    expect(topicConfigEntries(spec(1))).toEqual([]);
    expect(topicConfigEntries(spec(2))).toEqual([{ name: 'min.insync.replicas', value: '2' }]);
    expect(topicConfigEntries(spec(3))).toEqual([{ name: 'min.insync.replicas', value: '2' }]);
    expect(topicConfigEntries(spec(5), 3)).toEqual([{ name: 'min.insync.replicas', value: '3' }]);
  });
});

describe('kafkajsLogLevel', () => {
  it("makes the consumer's crash-and-restart lines warnings and leaves every other level as kafkajs gave it", () => {
    const coordinatorLoading = "Crash: KafkaJSNumberOfRetriesExceeded: The coordinator is loading and hence can't process requests";
    expect(kafkajsLogLevel('Consumer', logLevel.ERROR, coordinatorLoading)).toBe(logLevel.WARN);
    expect(kafkajsLogLevel('Consumer', logLevel.ERROR, 'Restarting the consumer in 300ms')).toBe(logLevel.WARN);
    expect(kafkajsLogLevel('Connection', logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)')).toBe(logLevel.WARN);
    expect(kafkajsLogLevel('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED')).toBe(logLevel.ERROR);
    expect(kafkajsLogLevel('Consumer', logLevel.ERROR, 'Caught error when disconnecting the consumer: x')).toBe(logLevel.ERROR);
    expect(kafkajsLogLevel('Runner', logLevel.ERROR, 'Crash: x')).toBe(logLevel.ERROR);
    expect(kafkajsLogLevel('Producer', logLevel.ERROR, 'Failed to send messages')).toBe(logLevel.ERROR);
    expect(kafkajsLogLevel('Consumer', logLevel.INFO, 'Starting')).toBe(logLevel.INFO);
  });
});
