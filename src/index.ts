export type { Config } from './config.ts';
export { ConfigError, loadConfig } from './config.ts';
export type {
  ActionChanges,
  ActionKind,
  ActionStatus,
  JobEventName,
  JobPayload,
  JobResult,
  JobStatus,
  MatchCriteria,
  VrJob,
} from './db/schema.ts';
export { ACTION_KINDS, ACTION_STATUSES, JOB_EVENTS, JOB_STATUSES } from './db/schema.ts';
export { InvalidActionError } from './listing/action.ts';
export type { FieldError, Listing, ListingInput } from './listing/listing.ts';
export { LIMITS, ValidationError, validateListing, validateListings } from './listing/listing.ts';
export type { ActionView, RequestedAction } from './producer/actions.ts';
export { ActionQueueUnavailableError, ActionRefusedError, UnknownListingError } from './producer/actions.ts';
export type { JobResultEvent } from './producer/job-events.ts';
export type { EnqueuedJob, Producer, ProducerOptions, WaitForResultOptions } from './producer/producer.ts';
export {
  AlreadyListedError,
  createProducer,
  QueueUnavailableError,
  ResultTimeoutError,
} from './producer/producer.ts';
export {
  DELIVERY_ID_HEADER,
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
  webhookSignature,
} from './webhooks/signature.ts';
