CREATE TABLE "vr_site_trust" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"proven_at" timestamp with time zone,
	"proven_by" text,
	"suspect_streak" integer DEFAULT 0 NOT NULL,
	"suspect_jobs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"paused_at" timestamp with time zone,
	"pause_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
-- The one row. An install that already completed listings whose Publish showed the success text
-- (before probation existed) has met the site: it starts proven.
INSERT INTO "vr_site_trust" ("id", "proven_at", "proven_by")
SELECT 1, CASE WHEN met THEN now() END, CASE WHEN met THEN 'listings completed before probation existed' END
FROM (SELECT EXISTS (
  SELECT 1 FROM "vr_jobs"
  WHERE "status" = 'completed' AND "submitted_at" IS NOT NULL AND NOT "submit_outcome_unknown"
) AS met) AS install;
