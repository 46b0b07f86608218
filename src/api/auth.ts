import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Route config flags. */
export interface RouteAccess {
  /** The few routes anyone may call (health checks). */
  public?: boolean;
  /**
   * A form POST of the review page: it checks itself that it comes from the page (Origin,
   * Sec-Fetch-Site, its form token), so it may be sent as a form without API_TOKEN too.
   */
  sameOriginForm?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
}

/** Bull Board lives here; a browser opens it with HTTP Basic. */
export const ADMIN_PREFIX = '/admin/';
/**
 * Pages a browser opens with HTTP Basic: Bull Board and the API's docs (Swagger UI), read-only, and
 * the review page, whose forms check that they come from it (review-page.ts).
 */
const BROWSER_PREFIXES = [ADMIN_PREFIX, '/api/docs/', '/review/'];

// Hashing first makes the comparison constant-time whatever the lengths.
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The secret a request offers: a Bearer token anywhere, Basic (token as password) under /admin/ only. */
export function offeredToken(header: string | undefined, admin: boolean): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  // Browsers send cached Basic credentials on their own, so outside Bull Board (read-only) they
  // would let another site post listings: Basic is accepted for /admin/ only.
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic || !admin) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Decided by the route that matched (not the raw URL, which may be encoded); the path for a 404. */
function isAdmin(request: FastifyRequest): boolean {
  const path = request.routeOptions.url ?? request.url.split('?')[0]!;
  return BROWSER_PREFIXES.some((prefix) => path.startsWith(prefix) || path === prefix.slice(0, -1));
}

/**
 * Every route but those marked `config: { public: true }` needs API_TOKEN. Register before the
 * routes and plugins it protects: Fastify hooks apply to what is registered after them.
 */
export function registerAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return; // API_INSECURE=on, checked by the caller
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public) return;
    const admin = isAdmin(request);
    const offered = offeredToken(request.headers.authorization, admin);
    if (offered !== undefined && tokensEqual(offered, token)) return;
    await reply
      .code(401)
      .header('www-authenticate', admin ? 'Basic realm="vr-lister"' : 'Bearer')
      .send({
        error: 'unauthorized',
        message: admin
          ? 'log in with any user name and API_TOKEN as the password'
          : 'send Authorization: Bearer <API_TOKEN>',
      });
  });
}
