import { BodyBudget, jsonBody } from '@sitestream/ingest';
import { createBaseApp } from '@sitestream/shared';

/**
 * The ceiling: the same Express base app (helmet, trust proxy) and the same body reading as ingest, answering
 * 202 without validation and without Kafka. Ingest ÷ this = what validation, metrics and the broker cost.
 */
const app = createBaseApp({ trustProxyHops: 0 });
app.post('/event', ...jsonBody(1_048_576, new BodyBudget(64 * 1_048_576)), (_req, res) => {
  res.status(202).json({ status: 'accepted' });
});
const port = Number(process.env.PORT ?? 0);
const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
