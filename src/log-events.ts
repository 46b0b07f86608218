/**
 * The `event` field of the log lines that operators alert on and tests look for: the wording of a
 * message may change, these names don't. (Outages have their own: OUTAGE_EVENT in outage.ts.)
 */
export const LOG_EVENT = {
  /** A creation job's progress step (`step` says which; also in the job's Bull Board log). */
  jobStep: 'job_step',
  /** The creation attempt failed; `lastAttempt` says whether BullMQ tries again. */
  creationAttemptFailed: 'creation_attempt_failed',
  /** A worker process is up (`worker`: create, resolve or webhooks). */
  workerStarted: 'worker_started',
  browserLaunch: 'browser_launch',
  loggedIn: 'vr_logged_in',
  /** V&R refused the credentials: logged once, at error level. */
  loginRefused: 'vr_login_refused',
  /** Cloudflare wants a person: logged once, at error level. */
  blocked: 'vr_blocked',
  /** The session key or Chromium's sandbox wants a person: logged once, at error level. */
  personNeeded: 'person_needed',
  challengePassed: 'cloudflare_challenge_passed',
  clearanceRenewing: 'cloudflare_clearance_renewing',
  flushScheduled: 'flush_scheduled',
  exportDownloading: 'export_downloading',
  vrIdFound: 'vr_id_found',
  flushFailed: 'flush_failed',
  resolutionJobFailed: 'resolution_job_failed',
  /** The scheduled reconcile found listings a person changed on V&R (`kind`, `count`, `productRefs`): one per kind a run. */
  reconcileSurprise: 'vr_reconcile_surprise',
  /** A scheduled reconcile finished (its counts, surprises or not). */
  reconcileDone: 'vr_reconcile_done',
  /** Evidence was saved to disk but not linked to its vr_jobs row (the files are still there). */
  evidenceNotRecorded: 'evidence_not_recorded',
  /** A creation job's BullMQ data could not be updated (a held or outage mark left on it). */
  jobDataNotUpdated: 'job_data_not_updated',
  /** The worker takes jobs again, but the held job could not be brought forward: it waits its delay. */
  heldJobsNotPromoted: 'held_jobs_not_promoted',
  /** The read-back found V&R storing other than asked (`fields` names them): warn level. */
  listingMismatch: 'listing_mismatch',
  /** The read-back found the listing as asked. */
  listingVerified: 'listing_verified',
  /** A read-back could not be done now (V&R unavailable, an unknown page): it stays pending. */
  verificationPending: 'verification_pending',
  /**
   * The circuit breaker tripped: SUSPECT_PAUSE_AFTER listings in a row ended unknown and never
   * shown (or read back wrong); creation waits for `vr-lister resume`. Logged once, at error level.
   */
  creationPaused: 'creation_paused',
  /** Creation's gate holds a job: `gate` is probation (one at a time) or paused (the breaker). */
  creationGated: 'creation_gated',
  /** `vr-lister resume` (or the API) let creation go on after the breaker. */
  creationResumed: 'creation_resumed',
} as const;
