-- Hand-written, as the job and action events are (0002, 0005): the `listing.mismatch` event is
-- written by Postgres in the transaction that records a read-back's mismatch, once per job (a
-- verification leaves `pending` once), whichever code path writes it. NOTIFY is sent at commit.
CREATE FUNCTION "vr_jobs_record_mismatch_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_event_id bigint;
BEGIN
  INSERT INTO "vr_job_events" ("job_id", "product_ref", "event", "job")
    VALUES (NEW.id, NEW.product_ref, 'listing.mismatch', jsonb_build_object(
      'id', NEW.id,
      'productRef', NEW.product_ref,
      'status', 'completed',
      'vrListingId', NEW.vr_listing_id,
      'error', NEW.error,
      'candidates', CASE WHEN jsonb_typeof(NEW.payload -> 'candidates') = 'array'
                         THEN NEW.payload -> 'candidates' ELSE '[]'::jsonb END,
      'verification', NEW.verification))
    RETURNING "id" INTO new_event_id;
  PERFORM pg_notify('vr_lister_job_events', json_build_object(
    'id', new_event_id, 'jobId', NEW.id, 'productRef', NEW.product_ref, 'status', 'completed')::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "vr_jobs_mismatch_event" AFTER UPDATE OF "verification" ON "vr_jobs"
  FOR EACH ROW
  WHEN (NEW.verification ->> 'status' = 'mismatch'
        AND (OLD.verification ->> 'status') IS DISTINCT FROM 'mismatch')
  EXECUTE FUNCTION "vr_jobs_record_mismatch_event"();
