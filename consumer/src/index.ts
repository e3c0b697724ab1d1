export { createConsumerApp } from './app';
export { FencedError, writeBatch, type BatchInput, type WriteResult } from './event-writer';
export { DeadLetterRelay } from './dead-letter-relay';
export { RetentionJob } from './retention-job';
export { decodeRecord, type DecodedRecord, type Poison } from './record-decoder';
export { WriterConsumer, type WriterDeps, type WriterOptions } from './writer-consumer';
export { startConsumerService } from './service';
