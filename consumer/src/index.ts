export { createConsumerApp } from './app';
export { FencedError, writeBatch, type BatchInput, type WriteResult } from './event-writer';
export { applyRollups, lockSite, recomputeRollups, type RecomputeScope } from './rollups';
export { readPositions } from './partition-positions';
export { decodeRecord, type DecodedRecord, type Poison } from './record-decoder';
export { WriterConsumer, type WriterDeps, type WriterOptions } from './writer-consumer';
export { startConsumerService } from './service';
