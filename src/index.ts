export type { Config } from './config.ts';
export { ConfigError, loadConfig } from './config.ts';
export type { JobPayload, JobStatus, MatchCriteria, VrJob } from './db/schema.ts';
export { JOB_STATUSES } from './db/schema.ts';
export type { FieldError, Listing, ListingInput } from './listing.ts';
export { LIMITS, ValidationError, validateListing, validateListings } from './listing.ts';
export type { EnqueuedJob, Producer, ProducerOptions } from './producer/producer.ts';
export { AlreadyListedError, createProducer, QueueUnavailableError } from './producer/producer.ts';
