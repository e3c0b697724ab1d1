import { topicConfigEntries } from './kafka';

describe('topicConfigEntries', () => {
  const spec = (replicationFactor: number) => ({ topic: 't', numPartitions: 1, replicationFactor });
  it('sets min.insync.replicas to 2 when the topic has replicas, and leaves a single copy alone', () => {
    expect(topicConfigEntries(spec(1))).toEqual([]);
    expect(topicConfigEntries(spec(2))).toEqual([{ name: 'min.insync.replicas', value: '2' }]);
    expect(topicConfigEntries(spec(3))).toEqual([{ name: 'min.insync.replicas', value: '2' }]);
    expect(topicConfigEntries(spec(5), 3)).toEqual([{ name: 'min.insync.replicas', value: '3' }]);
  });
});
