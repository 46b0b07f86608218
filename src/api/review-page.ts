import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokensEqual } from './auth.ts';
import type { ApiContext } from './context.ts';
import { sendArtifact } from './jobs.ts';
import { linkRow } from './link.ts';
import { queueRetried, retryRow } from './retry.ts';
import { listReview, type ReviewItem } from './review.ts';

/** The review page: a browser opens it with HTTP Basic, as Bull Board (see auth.ts). */
export const REVIEW_PATH = '/review';

/** Nothing but this server's own stylesheet and images, no script at all, forms only to itself. */
export const REVIEW_CSP =
  "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:80rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:0 0 .4rem}
.job{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
.reason{margin:.3rem 0 .8rem}.kind{font-family:monospace;background:#eee;padding:0 .3rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}.asked{background:#f3f8ff}
.notice{padding:.6rem;border-radius:4px;background:#e9f7ec}.refused{background:#fdecea}
img.evidence{max-width:40rem;border:1px solid #ccc}form{display:inline}button{margin:.2rem 0}
.actions{margin-top:.6rem}`;

/**
 * What a Sec-Fetch-Site or Origin header says of a form POST: undefined when it is this page's own.
 * An Origin of `null` (a browser under a no-referrer policy sends it) passes only with Sec-Fetch-Site
 * `same-origin`.
 */
export function crossSiteReason(headers: FastifyRequest['headers']): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${site}`;
  const origin = headers.origin;
  if (origin === undefined || (origin === 'null' && site === 'same-origin')) return undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    return `Origin ${origin} is not this server`;
  }
  return host === headers.host ? undefined : `Origin ${origin} is not this server`;
}

const escapeHtml = (value: unknown) =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** A POST form to one of the page's own endpoints, carrying the form token. */
function form(action: string, token: string, button: string, fields = ''): string {
  return `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="csrf" value="${escapeHtml(token)}">${fields}<button type="submit">${escapeHtml(button)}</button></form>`;
}

function renderJob(item: ReviewItem, token: string): string {
  const base = `${REVIEW_PATH}/jobs/${item.id}`;
  const cell = (value: unknown) =>
    `<td>${value === null || value === undefined ? '–' : escapeHtml(value)}</td>`;
  const candidates = item.candidates;
  const head = candidates
    .map((c) =>
      c.url
        ? `<th>V&amp;R <a href="${escapeHtml(c.url)}" rel="noopener noreferrer" target="_blank">${c.vrListingId}</a></th>`
        : `<th>V&amp;R ${c.vrListingId}</th>`,
    )
    .join('');
  const row = (label: string, asked: unknown, pick: (c: (typeof candidates)[number]) => unknown) =>
    `<tr><th>${label}</th><td class="asked">${escapeHtml(asked ?? '–')}</td>${candidates.map((c) => cell(pick(c))).join('')}</tr>`;
  const buttons = candidates
    .map(
      (c) =>
        `<td>${form(`${base}/link`, token, 'This is ours', `<input type="hidden" name="vrListingId" value="${c.vrListingId}">`)}</td>`,
    )
    .join('');
  const table = `<table><tr><th></th><th class="asked">We asked</th>${head}</tr>
${row('Brand', item.asked.brand, (c) => c.brand)}
${row('Model', item.asked.model, (c) => c.model)}
${row('Price', item.asked.price, (c) => c.price)}
${row('Year', item.asked.year, (c) => c.year)}
${row('Category', item.asked.category, () => null)}
${row('Created', item.submittedAt ? `submitted ${item.submittedAt}` : null, (c) => (c.created ? `by ${c.created}` : null))}
${candidates.length ? `<tr><th></th><td class="asked"></td>${buttons}</tr>` : ''}</table>`;
  const evidence = item.evidence.length
    ? item.evidence
        .map((e) => {
          const url = `${base}/artifacts/${encodeURIComponent(e.name)}`;
          const label = `${escapeHtml(e.name)} (${escapeHtml(e.step)}, ${escapeHtml(e.at)})`;
          return e.name.endsWith('.png')
            ? `<figure><a href="${url}"><img class="evidence" src="${url}" alt="evidence: ${escapeHtml(e.name)}"></a><figcaption>${label}</figcaption></figure>`
            : `<p><a href="${url}">${label}</a></p>`;
        })
        .join('\n')
    : '<p>No evidence saved.</p>';
  const byHand = form(
    `${base}/link`,
    token,
    'This is ours',
    `<label>V&amp;R id <input name="vrListingId" inputmode="numeric" pattern="[0-9]+" required></label> `,
  );
  return `<section class="job" id="job-${item.id}" data-job="${item.id}">
<h2>Job ${item.id} · ${escapeHtml(item.productRef)}</h2>
<p class="reason"><span class="kind">${escapeHtml(item.kind)}</span> ${escapeHtml(item.reason)}</p>
${table}
<h3>Evidence</h3>
${evidence}
<div class="actions">${byHand} ${form(`${base}/resubmit`, token, 'Not on V&R: list again')}</div>
</section>`;
}

function renderPage(items: ReviewItem[], token: string, notice?: { text: string; refused: boolean }): string {
  const banner = notice
    ? `<p class="notice${notice.refused ? ' refused' : ''}" role="status">${escapeHtml(notice.text)}</p>`
    : '';
  const body = items.length
    ? items.map((item) => renderJob(item, token)).join('\n')
    : '<p class="empty">No job needs review.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vr-lister: review (${items.length})</title>
<link rel="stylesheet" href="${REVIEW_PATH}/review.css"></head>
<body><h1>Jobs in review: ${items.length}</h1>
${banner}
${body}
</body></html>`;
}

/** The short message after a redirect: built from ids only, never from text a link could carry. */
/** A job or listing id as the form sends it: digits only, or nothing (an unknown id is refused, not parsed). */
const idDigits = (raw: string | undefined): string | undefined =>
  raw !== undefined && /^\d{1,15}$/.test(raw) ? raw : undefined;

function noticeFrom(
  query: Record<string, string | undefined>,
): { text: string; refused: boolean } | undefined {
  const job = idDigits(query.job);
  if (!job) return undefined;
  if (query.done === 'linked' && /^\d{1,19}$/.test(query.vr ?? ''))
    return { text: `Job ${job} completed with V&R listing ${query.vr}.`, refused: false };
  if (query.done === 'requeued')
    return { text: `Job ${job} goes back to creation: it will be listed again.`, refused: false };
  if (query.done === 'linked-already')
    return { text: `Job ${job} completed: its product was already linked to a V&R listing.`, refused: false };
  if (query.done === 'saved')
    return { text: `Job ${job} saved; Redis did not take it, the sweep will queue it.`, refused: false };
  return undefined;
}

/**
 * The review page at /review: the jobs in needs_review, each with its reason, its candidates beside
 * what we asked, its evidence, and two buttons that POST to the page's own endpoints. Those take
 * HTTP Basic (a browser sends it on its own), so each POST must come from this page: Sec-Fetch-Site
 * `same-origin` or an Origin naming this server when the browser sends them, and always the form's
 * token (an HMAC of API_TOKEN, which a page on another site cannot read).
 */
export async function registerReviewPage(
  app: FastifyInstance,
  ctx: ApiContext,
  baseUrl: string,
): Promise<void> {
  // Without API_TOKEN (loopback only) a per-process secret: a restart makes an open page's forms stale.
  const secret = ctx.config.apiToken ?? randomBytes(32).toString('hex');
  const token = createHmac('sha256', secret).update('vr-lister review form').digest('base64url');

  const page = async (reply: FastifyReply, status: number, notice?: { text: string; refused: boolean }) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', REVIEW_CSP)
      // Its forms then carry their Origin (no-referrer makes it `null`); V&R links carry nothing.
      .header('referrer-policy', 'same-origin')
      .send(renderPage(await listReview(ctx.database.db, baseUrl), token, notice));
  const refuse = (reply: FastifyReply, status: number, text: string) =>
    page(reply, status, { text, refused: true });
  const done = (reply: FastifyReply, query: string) => reply.code(303).redirect(`${REVIEW_PATH}?${query}`);

  /** The POST's checks: its own page, its token, a job id; the job id or undefined when answered. */
  async function accept(
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
  ): Promise<number | undefined> {
    const body = (request.body ?? {}) as Record<string, string | undefined>;
    const cross = crossSiteReason(request.headers);
    const offered = typeof body.csrf === 'string' ? body.csrf : '';
    if (cross || !tokensEqual(offered, token)) {
      ctx.logger.warn({ reason: cross ?? 'form token missing or wrong' }, 'review form refused');
      await reply.code(403).send({
        error: 'forbidden',
        message: `a review action must be sent from the review page (${cross ?? 'form token missing or wrong'})`,
      });
      return undefined;
    }
    const id = Number(idDigits(request.params.id) ?? 0);
    if (id < 1) {
      await refuse(reply, 400, 'the job id must be a positive whole number');
      return undefined;
    }
    return id;
  }

  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_request, body, parsed) => parsed(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.get<{ Querystring: Record<string, string | undefined> }>(REVIEW_PATH, (request, reply) =>
      page(reply, 200, noticeFrom(request.query ?? {})),
    );
    scope.get(`${REVIEW_PATH}/review.css`, (_request, reply) =>
      reply.type('text/css; charset=utf-8').send(CSS),
    );
    scope.get<{ Params: { id: string; name: string } }>(
      `${REVIEW_PATH}/jobs/:id/artifacts/:name`,
      // Not a documented route, so its id isn't parsed for it: a malformed one finds no job (404).
      (request, reply) =>
        sendArtifact(
          ctx,
          {
            id: Number(idDigits(request.params.id) ?? 0),
            name: request.params.name,
          },
          reply,
        ),
    );

    const form = { config: { sameOriginForm: true } };
    scope.post<{ Params: { id: string } }>(`${REVIEW_PATH}/jobs/:id/link`, form, async (request, reply) => {
      const id = await accept(request, reply);
      if (id === undefined) return reply;
      const raw = String((request.body as Record<string, unknown>).vrListingId ?? '').trim();
      const vrListingId = Number(idDigits(raw) ?? 0);
      if (vrListingId < 1)
        return refuse(reply, 400, `vrListingId: must be a V&R id (a positive whole number)`);
      const outcome = await linkRow(ctx, id, vrListingId);
      if (outcome.kind === 'not_found') return refuse(reply, 404, `job ${id} not found`);
      if (outcome.kind === 'conflict') return refuse(reply, 409, `cannot link job ${id}: ${outcome.message}`);
      ctx.logger.info(
        { jobId: id, productRef: outcome.row.productRef, vrListingId, via: 'review page' },
        'job linked by a person',
      );
      return done(reply, `done=linked&job=${id}&vr=${vrListingId}`);
    });
    scope.post<{ Params: { id: string } }>(
      `${REVIEW_PATH}/jobs/:id/resubmit`,
      form,
      async (request, reply) => {
        const id = await accept(request, reply);
        if (id === undefined) return reply;
        const outcome = await retryRow(ctx, id, { resubmit: true });
        if (outcome.kind === 'not_found') return refuse(reply, 404, `job ${id} not found`);
        if (outcome.kind === 'conflict')
          return refuse(reply, 409, `cannot list job ${id} again: ${outcome.message}`);
        const log = ctx.logger.child({ jobId: id, productRef: outcome.row.productRef, via: 'review page' });
        try {
          await queueRetried(ctx, outcome, 'review page');
        } catch (error) {
          log.warn({ err: error, action: outcome.kind }, 'retry saved but not queued');
          return done(reply, `done=saved&job=${id}`);
        }
        log.info({ action: outcome.kind, resubmit: true }, 'job retried');
        return done(reply, `done=${outcome.kind === 'linked' ? 'linked-already' : 'requeued'}&job=${id}`);
      },
    );
  });
}
