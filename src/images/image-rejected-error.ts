import { VrRejectedError } from '../vr/errors.ts';

/**
 * A photo that can never be used as it is (4xx, too large, not an image, refused address,
 * undecodable): the job fails at once with the reason instead of trying again.
 */
export class ImageRejectedError extends VrRejectedError {
  override name = 'ImageRejectedError';
}
