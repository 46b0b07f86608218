import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors, ResponseSerializationError } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { InvalidActionError } from '../listing/action.ts';
import { type FieldError, LIMITS, ValidationError } from '../listing/listing.ts';
import { ActionRefusedError, UnknownListingError } from '../producer/actions.ts';
import { AlreadyListedError } from '../producer/producer.ts';
import { safeErrorMessage } from '../safe-errors.ts';

/**
 * An answer a route gives on purpose (no such id, a conflict, Redis away): routes throw it, and the
 * API's one error handler (`errorAnswer`) sends its status and body.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly body: { error: string; message?: string } & Record<string, unknown>,
  ) {
    super(body.message ?? body.error);
  }
}

export const notFound = (error: string, details: Record<string, unknown>) =>
  new HttpError(404, { error, ...details });

export const conflict = (error: string, details: { message: string } & Record<string, unknown>) =>
  new HttpError(409, { error, ...details });

/** Saved in Postgres, but Redis did not take it: the sweep enqueues it when Redis is back. */
export const queueUnavailable = (message: string, details: Record<string, unknown>) =>
  new HttpError(503, { error: 'queue unavailable', message, ...details });

/** The body of every 400 about the request's own content: which field, and why. */
export function invalid(error: string, errors: FieldError[]) {
  const MAX = 1000;
  return errors.length > MAX
    ? { error, errors: errors.slice(0, MAX), moreErrors: errors.length - MAX }
    : { error, errors };
}

/** Zod issues as the API's field errors; unknown fields and parameters are named, not ignored. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[], noun = 'parameter'): FieldError[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          field: [...issue.path, key].map(String).join('.'),
          message: `is not a known ${noun}`,
        }))
      : [{ field: issue.path.map(String).join('.') || '(whole)', message: issue.message }],
  );
}

const PART_NAMES: Record<string, string> = {
  querystring: 'invalid query',
  params: 'invalid path',
  body: 'invalid body',
  headers: 'invalid headers',
};

const mebibytes = (bytes: number) => `${Number((bytes / 1024 / 1024).toFixed(2))} MiB`;

/**
 * Every error a route throws, as the status and body the client gets. Client errors keep their
 * message (it names the problem); server errors say nothing inside. A 413 names the limit of the
 * route that refused the body: only POST /api/vr/jobs takes LIMITS.requestBodyBytes.
 */
export function errorAnswer(
  error: FastifyError,
  bodyLimit: number,
): { status: number; body: Record<string, unknown> } {
  if (error instanceof HttpError) return { status: error.statusCode, body: error.body };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      ...(v.params as object),
      code: v.keyword,
      message: v.message ?? 'is invalid',
      path: v.instancePath.split('/').filter(Boolean),
    })) as z.core.$ZodIssue[];
    return {
      status: 400,
      body: invalid(
        PART_NAMES[error.validationContext ?? ''] ?? 'invalid request',
        fieldErrors(issues, error.validationContext === 'body' ? 'field' : 'parameter'),
      ),
    };
  }
  if (error instanceof ValidationError)
    return { status: 400, body: invalid('invalid listing', error.errors) };
  if (error instanceof InvalidActionError)
    return { status: 400, body: invalid('invalid action', error.errors) };
  if (error instanceof UnknownListingError) {
    return {
      status: 404,
      body: { error: 'unknown listing', productRef: error.productRef, message: error.message },
    };
  }
  if (error instanceof ActionRefusedError) {
    return {
      status: 409,
      body: { error: 'action refused', productRef: error.productRef, message: error.message },
    };
  }
  if (error instanceof AlreadyListedError) {
    return {
      status: 409,
      body: { error: 'already listed', productRef: error.productRef, message: error.message },
    };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        error: 'request body too large',
        message: `the body must be at most ${bodyLimit} bytes (${mebibytes(bodyLimit)})${bodyLimit === LIMITS.requestBodyBytes ? '; send fewer listings per call' : ''}`,
      },
    };
  }
  // An answer that doesn't match its documented schema is our bug, never the client's.
  const status =
    !(error instanceof ResponseSerializationError) && error.statusCode && error.statusCode >= 400
      ? error.statusCode
      : 500;
  if (status >= 500) return { status, body: { error: 'internal error' } };
  return { status, body: { error: 'bad request', code: error.code, message: safeErrorMessage(error) } };
}
