import { waitForCluster } from './local-kafka';

/** waitForCluster against the test run's broker (global setup): it must tell our cluster from a foreign one. */
describe('waitForCluster', () => {
  const bootstrap = process.env.KAFKA_BROKERS!;

  it('accepts the cluster it expects', async () => {
    await expect(waitForCluster(bootstrap, 1, 20_000)).resolves.toBeUndefined();
  });

  it('refuses a broker of another cluster listening on the port, at once', async () => {
    const started = Date.now();
    await expect(waitForCluster(bootstrap, 1, 20_000, [], 'AAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/another Kafka cluster/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
