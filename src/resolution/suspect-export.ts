/** An export with fewer rows than this share of the last complete one is taken for a cut-off download. */
export const EXPORT_MIN_ROW_RATIO = 0.5;
/** Identical suspect exports in a row after which the shop is believed to have really shrunk. */
export const SUSPECT_EXPORTS_TO_ACCEPT = 3;
const SUSPECT = 'the export looks incomplete';

export interface ExportShape {
  rowsScanned: number | null;
  maxProductId: number | null;
}

/**
 * A well-formed export that looks cut short (see suspectExport): nothing is written from it. Its
 * run keeps `error_kind` = `suspect_export` and its shape, which is how identical ones in a row
 * are counted.
 */
export class SuspectExportError extends Error {
  readonly kind = 'suspect_export';
  constructor(
    message: string,
    readonly stats: { rows: number; maxProductId: number; bytes: number },
  ) {
    super(message);
    this.name = 'SuspectExportError';
  }
}

/**
 * Why this export can't be trusted, or undefined. V&R ids only grow and a shop doesn't lose half
 * its stock between two flushes: an export that stops short of ids seen before, or has less than
 * half the rows of the last complete one, is a cut-off download. Nothing is written from it; the
 * flush is retried. When the same smaller export comes back SUSPECT_EXPORTS_TO_ACCEPT times in a
 * row (`recent`: the latest flushes, newest first), it is the truth: items were deleted.
 */
export function suspectExport(
  stats: { rows: number; maxProductId: number },
  lastComplete: ExportShape | undefined,
  recent: (ExportShape & { errorKind: string | null })[],
): string | undefined {
  let reason: string | undefined;
  if (lastComplete?.maxProductId && stats.maxProductId < lastComplete.maxProductId) {
    reason = `${SUSPECT}: its highest id is ${stats.maxProductId}, an earlier export had ${lastComplete.maxProductId}`;
  } else if (lastComplete?.rowsScanned && stats.rows < lastComplete.rowsScanned * EXPORT_MIN_ROW_RATIO) {
    reason = `${SUSPECT}: ${stats.rows} rows, the last complete export had ${lastComplete.rowsScanned} (fewer than ${EXPORT_MIN_ROW_RATIO * 100}%)`;
  }
  if (!reason) return undefined;
  const same = recent
    .slice(0, SUSPECT_EXPORTS_TO_ACCEPT - 1)
    .filter(
      (run) =>
        run.errorKind === 'suspect_export' &&
        run.rowsScanned === stats.rows &&
        run.maxProductId === stats.maxProductId,
    );
  return same.length >= SUSPECT_EXPORTS_TO_ACCEPT - 1 ? undefined : reason;
}
