import { parseArgs } from 'node:util';
import { loadConfig, requireVrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { createLogger } from '../logger.ts';
import type { ReconcileReport } from '../resolution/reconcile.ts';
import { safeErrorMessage } from '../safe-errors.ts';
import { err, out } from './common.ts';

/** The report for a person: each kind of surprise with its listings, or that there is none. */
export function reconcileText(report: ReconcileReport): string {
  const lines = [
    `Compared ${report.checked} listing(s) of ours with the V&R export (${report.rows} rows, ${report.notOurs} not ours).`,
  ];
  const section = (title: string, items: string[]) => {
    if (items.length) lines.push('', `${title}: ${items.length}`, ...items.map((item) => `  ${item}`));
  };
  section(
    'Sold on V&R, not by vr-lister',
    report.soldOnVr.map((l) => `${l.productRef}\tV&R ${l.vrListingId}`),
  );
  section(
    'Gone from the export (deleted on V&R), not by vr-lister',
    report.missingOnVr.map((l) => `${l.productRef}\tV&R ${l.vrListingId}`),
  );
  section(
    'Changed on V&R',
    report.changedOnVr.map(
      (c) => `${c.productRef}\tV&R ${c.vrListingId}\t${c.field}: ours ${c.ours}, V&R ${c.vr}`,
    ),
  );
  if (!report.soldOnVr.length && !report.missingOnVr.length && !report.changedOnVr.length)
    lines.push('Nothing changed on V&R behind vr-lister.');
  return lines.join('\n');
}

/**
 * `vr-lister reconcile [--json]`: one export against Postgres; what a person sold, deleted or
 * changed on V&R. Writes nothing. Exit 0 with a report (surprises or not), 1 when no report could
 * be made (V&R unavailable, a damaged or cut-short export).
 */
export async function commandReconcile(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const { reconcile } = await import('../resolution/reconcile-check.ts');
  const { openBrowserSession } = await import('../vr/open-session.ts');
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  const session = openBrowserSession({ config, site, database, logger });
  try {
    const report = await reconcile({ db: database.db, session, config });
    out(values.json ? JSON.stringify(report) : reconcileText(report));
  } catch (error) {
    err(`reconcile failed, nothing to report: ${safeErrorMessage(error)}`);
    process.exitCode = 1;
  } finally {
    await session.close();
    await database.close();
  }
}
