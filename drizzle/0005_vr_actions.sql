CREATE TYPE "public"."vr_action_status" AS ENUM('queued', 'waiting_for_id', 'in_progress', 'done', 'failed');--> statement-breakpoint
CREATE TABLE "vr_actions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"product_ref" text NOT NULL,
	"job_id" bigint,
	"kind" text NOT NULL,
	"changes" jsonb,
	"status" "vr_action_status" DEFAULT 'queued' NOT NULL,
	"vr_listing_id" bigint,
	"attempts" integer DEFAULT 0 NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"error" text,
	"evidence" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "vr_actions" ADD CONSTRAINT "vr_actions_job_id_vr_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."vr_jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vr_actions_product_ref" ON "vr_actions" USING btree ("product_ref","id");--> statement-breakpoint
CREATE INDEX "vr_actions_status" ON "vr_actions" USING btree ("status","id");--> statement-breakpoint
-- Hand-written (drizzle-kit can't express triggers): an action reaching done or failed writes its
-- event to the outbox (vr_job_events, under the listing's job) in the same transaction, as vr_jobs'
-- trigger does (drizzle/0002); webhooks deliver it as action.done / action.failed.
CREATE FUNCTION "vr_actions_record_final_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_event_id bigint;
BEGIN
  INSERT INTO "vr_job_events" ("job_id", "product_ref", "event", "job")
    VALUES (NEW.job_id, NEW.product_ref, 'action.' || NEW.status::text, jsonb_build_object(
      'id', NEW.id,
      'productRef', NEW.product_ref,
      'kind', NEW.kind,
      'status', NEW.status,
      'vrListingId', NEW.vr_listing_id,
      'changes', NEW.changes,
      'error', NEW.error,
      'evidence', NEW.evidence))
    RETURNING "id" INTO new_event_id;
  PERFORM pg_notify('vr_lister_job_events', json_build_object(
    'id', new_event_id, 'jobId', NEW.job_id, 'productRef', NEW.product_ref, 'status', NEW.status)::text);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "vr_actions_final_event" AFTER UPDATE OF "status" ON "vr_actions"
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('done', 'failed') AND NEW.job_id IS NOT NULL)
  EXECUTE FUNCTION "vr_actions_record_final_event"();
