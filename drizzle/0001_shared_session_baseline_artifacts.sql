CREATE TABLE "vr_sessions" (
	"account" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"encrypted" boolean DEFAULT false NOT NULL,
	"user_agent" text NOT NULL,
	"generation" integer DEFAULT 1 NOT NULL,
	"source" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "vr_jobs" ADD COLUMN "artifacts" jsonb;--> statement-breakpoint
ALTER TABLE "vr_resolution_runs" ADD COLUMN "kind" text DEFAULT 'flush' NOT NULL;--> statement-breakpoint
ALTER TABLE "vr_resolution_runs" ADD COLUMN "error_kind" text;