/**
 * What an action on a listing may carry, validated like a listing (the same rules, the same field
 * names): `update` takes some of price, description, shipping and processingTime, `replace_photos`
 * takes `photos` (the new photos' URLs, as a listing's `images`), the other kinds nothing.
 */
import { z } from 'zod';
import { ACTION_KINDS, type ActionKind } from '../db/schema.ts';
import { type FieldError, fieldErrors, listingSchema } from './listing.ts';

/** The fields an `update` may change: what the V&R edit form allows. */
export const UPDATE_FIELDS = ['price', 'description', 'shipping', 'processingTime'] as const;

export const actionChangesSchema = z
  .strictObject(
    {
      price: listingSchema.shape.price.optional(),
      description: listingSchema.shape.description,
      shipping: listingSchema.shape.shipping,
      processingTime: listingSchema.shape.processingTime,
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `is not a field an update can change (${UPDATE_FIELDS.join(', ')})`
          : 'must be an object',
    },
  )
  .refine((v) => Object.values(v).some((x) => x !== undefined), {
    message: `must change at least one of ${UPDATE_FIELDS.join(', ')}`,
  });

/**
 * `replace_photos`: the new photos, checked as a listing's `images` (http(s) URLs without
 * credentials, at most LIMITS.images; the 10 MB in all is reached by scaling, as for a listing),
 * and at least one.
 */
export const photoChangesSchema = z.strictObject(
  {
    photos: listingSchema.shape.images
      .unwrap()
      .min(1, 'must have at least one image URL (replace_photos replaces every photo)'),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'is not a field replace_photos takes (photos)'
        : 'must be an object { photos: [URL, ...] }',
  },
);

export type ActionChangesInput = z.input<typeof actionChangesSchema>;
export type PhotoChangesInput = z.input<typeof photoChangesSchema>;
export type ValidChanges = z.output<typeof actionChangesSchema> | z.output<typeof photoChangesSchema>;

/** The schema of the changes a kind takes, or none. */
function changesSchemaOf(kind: ActionKind) {
  if (kind === 'update') return actionChangesSchema;
  if (kind === 'replace_photos') return photoChangesSchema;
  return undefined;
}

/** Thrown for an action that can't be asked as given; nothing has been written or enqueued. */
export class InvalidActionError extends Error {
  override name = 'InvalidActionError';
  constructor(readonly errors: FieldError[]) {
    super(`Invalid action: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  }
}

export interface ValidAction {
  productRef: string;
  kind: ActionKind;
  changes: ValidChanges | null;
}

/** Checks an action as the producer, the API and the CLI take it; throws InvalidActionError. */
export function validateAction(input: {
  productRef: unknown;
  kind: unknown;
  changes?: unknown;
}): ValidAction {
  const errors: FieldError[] = [];
  const ref = listingSchema.shape.productRef.safeParse(input.productRef);
  if (!ref.success) errors.push(...fieldErrors(ref.error).map((e) => ({ ...e, field: 'productRef' })));
  const kind = z.enum(ACTION_KINDS).safeParse(input.kind);
  if (!kind.success) errors.push({ field: 'kind', message: `must be one of ${ACTION_KINDS.join(', ')}` });
  let changes: ValidChanges | null = null;
  const schema = kind.success ? changesSchemaOf(kind.data) : undefined;
  if (schema) {
    const parsed = schema.safeParse(input.changes ?? {});
    if (parsed.success) changes = parsed.data;
    else
      errors.push(
        ...fieldErrors(parsed.error).map((e) => ({
          ...e,
          field: e.field === '(listing)' ? 'changes' : `changes.${e.field}`,
        })),
      );
  } else if (kind.success && input.changes !== undefined && input.changes !== null) {
    errors.push({ field: 'changes', message: `is only for update and replace_photos, not ${kind.data}` });
  }
  if (errors.length) throw new InvalidActionError(errors);
  return { productRef: ref.data!, kind: kind.data!, changes };
}
