CREATE TYPE "public"."vr_job_status" AS ENUM('queued', 'in_progress', 'completed_pending_id', 'completed', 'failed', 'needs_review');--> statement-breakpoint
CREATE TABLE "vr_jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"product_ref" text NOT NULL,
	"status" "vr_job_status" DEFAULT 'queued' NOT NULL,
	"payload" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"resolution_attempts" integer DEFAULT 0 NOT NULL,
	"generation" integer DEFAULT 0 NOT NULL,
	"submit_started_at" timestamp with time zone,
	"submitted_at" timestamp with time zone,
	"submit_outcome_unknown" boolean DEFAULT false NOT NULL,
	"next_resolution_at" timestamp with time zone,
	"vr_listing_id" bigint,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "vr_product_links" (
	"product_ref" text PRIMARY KEY NOT NULL,
	"vr_listing_id" bigint NOT NULL,
	"job_id" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vr_product_links_vr_listing_id_unique" UNIQUE("vr_listing_id")
);
--> statement-breakpoint
CREATE TABLE "vr_resolution_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"export_requested_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"pending_at_start" integer,
	"rows_scanned" integer,
	"max_product_id" bigint,
	"matched" integer,
	"unmatched" integer,
	"needs_review" integer,
	"failed" integer,
	"bytes" bigint,
	"duration_ms" integer,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "vr_product_links" ADD CONSTRAINT "vr_product_links_job_id_vr_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."vr_jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "vr_jobs_active_product_ref" ON "vr_jobs" USING btree ("product_ref") WHERE status in ('queued', 'in_progress', 'completed_pending_id');--> statement-breakpoint
CREATE INDEX "vr_jobs_status" ON "vr_jobs" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "vr_jobs_product_ref" ON "vr_jobs" USING btree ("product_ref");