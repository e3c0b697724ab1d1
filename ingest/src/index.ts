export { createIngestApp, type IngestDeps } from './app';
export { EventPublisher, type PublisherOptions } from './event-publisher';
export { startIngestService } from './service';
export { jsonBody } from './body';
export { Enricher, type RequestFacts } from './enrich/enricher';
export { CountryLookup, defaultCountryDatabase } from './enrich/geoip';
export { BodyBudget } from './read-body';
