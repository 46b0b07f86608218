CREATE TABLE "vr_job_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" bigint NOT NULL,
	"product_ref" text NOT NULL,
	"event" text NOT NULL,
	"job" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "vr_webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"product_ref" text NOT NULL,
	"url" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"last_status_code" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"round_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "vr_job_events" ADD CONSTRAINT "vr_job_events_job_id_vr_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."vr_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vr_webhook_deliveries" ADD CONSTRAINT "vr_webhook_deliveries_event_id_vr_job_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."vr_job_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vr_job_events_undispatched" ON "vr_job_events" USING btree ("id") WHERE dispatched_at is null;--> statement-breakpoint
CREATE INDEX "vr_job_events_product_ref" ON "vr_job_events" USING btree ("product_ref","id");--> statement-breakpoint
CREATE UNIQUE INDEX "vr_webhook_deliveries_event_url" ON "vr_webhook_deliveries" USING btree ("event_id","url");--> statement-breakpoint
CREATE INDEX "vr_webhook_deliveries_pending" ON "vr_webhook_deliveries" USING btree ("product_ref","url","id") WHERE status = 'pending';--> statement-breakpoint
-- Hand-written (drizzle-kit can't express triggers): the outbox row is written by Postgres itself, in
-- the transaction that changes the job's status, whichever code path writes it. A crash after the
-- commit loses no event; a rollback leaves none. NOTIFY is sent at commit, carrying the event's id.
CREATE FUNCTION "vr_jobs_record_final_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_event_id bigint;
  result jsonb;
BEGIN
  result := jsonb_build_object(
    'id', NEW.id,
    'productRef', NEW.product_ref,
    'status', NEW.status,
    'vrListingId', NEW.vr_listing_id,
    'error', NEW.error,
    'candidates', CASE WHEN jsonb_typeof(NEW.payload -> 'candidates') = 'array'
                       THEN NEW.payload -> 'candidates' ELSE '[]'::jsonb END
  );
  INSERT INTO "vr_job_events" ("job_id", "product_ref", "event", "job")
    VALUES (NEW.id, NEW.product_ref, 'job.' || NEW.status::text, result)
    RETURNING "id" INTO new_event_id;
  PERFORM pg_notify('vr_lister_job_events', json_build_object(
    'id', new_event_id, 'jobId', NEW.id, 'productRef', NEW.product_ref, 'status', NEW.status)::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "vr_jobs_final_event_on_update" AFTER UPDATE OF "status" ON "vr_jobs"
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('completed', 'failed', 'needs_review'))
  EXECUTE FUNCTION "vr_jobs_record_final_event"();
--> statement-breakpoint
CREATE TRIGGER "vr_jobs_final_event_on_insert" AFTER INSERT ON "vr_jobs"
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'needs_review'))
  EXECUTE FUNCTION "vr_jobs_record_final_event"();
