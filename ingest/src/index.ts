export { createIngestApp, type IngestDeps } from './app';
export { EventPublisher, type PublisherOptions } from './event-publisher';
export { startIngestService } from './service';
export { jsonBody } from './body';
export { BodyBudget } from './read-body';
