import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The Host names a loopback API answers to, each with an optional port. A browser tricked by DNS
 * rebinding (a page on rebind.example whose name now resolves to 127.0.0.1) still sends
 * `Host: rebind.example`, so anything else is not meant for this API.
 */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/i;

/** Methods that change something: a page on another site can send these without asking (no-cors). */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True when the Host header names this loopback API: no port, or the port the request came in on. */
export function isLoopbackHost(host: string | undefined, boundPort: number | undefined): boolean {
  const match = LOOPBACK_HOST.exec(host ?? '');
  if (!match) return false;
  // No socket port: an injected request (app.inject), from inside this process, not a browser.
  return match[1] === undefined || boundPort === undefined || Number(match[1]) === boundPort;
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(header: string | undefined): boolean {
  return header?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** The port the request reached; undefined for app.inject, whose socket is not a socket. */
const boundPort = (request: FastifyRequest): number | undefined => request.socket?.localPort;

/**
 * Without API_TOKEN (API_INSECURE=on, loopback only), the token no longer keeps other web sites
 * out: any page the operator has open can make the browser call 127.0.0.1. Two checks stand in:
 *
 * - the Host header must name the loopback API (`421` otherwise), which defeats DNS rebinding:
 *   the only way another site could also read the answers;
 * - POST, PUT, PATCH and DELETE must be sent as `application/json` (`415` otherwise): a page on
 *   another origin can send a form or a `no-cors` request without asking, but not with this
 *   content type (that needs a CORS preflight, which this API never grants).
 *
 * The health checks stay open to any Host: probes call them by whatever name reaches the
 * container, and they say only "up" and which dependency failed (their routes carry
 * `config: { public: true }`, as for the token check).
 *
 * Bull Board is not exempted. Its UI sends its PUTs (retry, clean, pause, ...) without a body and
 * without a content type, so they are refused here; but every queue on our board is read-only,
 * where Bull Board refuses those actions anyway (405), and the UI does not offer them.
 *
 * The review page's form POSTs (route config `sameOriginForm`) are sent as forms: they check
 * Sec-Fetch-Site, Origin and their form token themselves.
 *
 * With API_TOKEN set nothing here runs. Register before the routes, as registerAuth.
 */
export function registerInsecureGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public) return;
    const port = boundPort(request);
    if (!isLoopbackHost(request.headers.host, port)) {
      const names = ['127.0.0.1', 'localhost', '[::1]'].map((name) => (port ? `${name}:${port}` : name));
      await reply.code(421).send({
        error: 'misdirected request',
        message: `without API_TOKEN this API answers only to Host ${names.join(', ')}`,
      });
      return;
    }
    // The review page's forms check their own origin and token instead (review-page.ts).
    if (request.routeOptions.config?.sameOriginForm) return;
    if (STATE_CHANGING.has(request.method) && !isJsonContentType(request.headers['content-type'])) {
      await reply.code(415).send({
        error: 'unsupported media type',
        message: `without API_TOKEN a ${request.method} must be sent as content-type: application/json (a body of {} where the route takes none)`,
      });
    }
  });
}
