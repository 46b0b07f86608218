import type { AllowedHost } from '../config.ts';
import { ImageUnavailableError } from '../vr/errors.ts';
import { displayUrl, fetchPhoto } from './fetch-photo.ts';
import { ImageRejectedError } from './image-rejected-error.ts';
import { type Deadline, fitToBudget, OutOfTimeError, toJpeg, UnconvertiblePhotoError } from './to-jpeg.ts';

/** Bytes one photo may have as downloaded (decoded), before conversion and scaling. */
export const PHOTO_SOURCE_MAX_BYTES = 25 * 1024 * 1024;

/** V&R's limit for all the photos of one listing together (10 MB), kept just under. */
export const PHOTOS_MAX_TOTAL_BYTES = 10_000_000;

export interface PreparePhotosOptions {
  /** IMAGE_ALLOW_HOSTS: internal hosts allowed on purpose; every other non-public address is refused. */
  allowHosts: readonly AllowedHost[];
  /** IMAGE_BUDGET_MS: one time budget for all the photos of a listing, downloads and conversions. */
  budgetMs: number;
  /** What all the photos together may weigh once converted (V&R: 10 MB per listing). */
  maxTotalBytes: number;
  /** Aborts the whole preparation (shutdown); its reason is thrown. */
  signal?: AbortSignal;
  /** The clock the budget's end is checked on between and after conversions (Date.now; tests move it). */
  now?: () => number;
}

export interface PreparedPhoto {
  name: string;
  mimeType: 'image/jpeg';
  buffer: Buffer;
}

/** A file name for the upload: the URL's last path segment, as .jpg. */
function photoName(url: string, index: number): string {
  const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  const base = last
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .slice(0, 80);
  return `${base || `photo-${index + 1}`}.jpg`;
}

/**
 * Downloads a listing's photos (see fetchPhoto for the rules each one follows), converts each to
 * JPEG, and scales them down until together they fit in `maxTotalBytes`, one photo at a time and
 * all within `budgetMs`. One photo that can never be used throws ImageRejectedError (the job fails
 * at once, naming the photo and the reason); the budget running out, a 5xx or a network failure
 * throws the retryable ImageUnavailableError.
 */
export async function preparePhotos(
  urls: readonly string[],
  options: PreparePhotosOptions,
): Promise<PreparedPhoto[]> {
  const now = options.now ?? Date.now;
  const deadline: Deadline = { at: now() + options.budgetMs, now };
  const budget = AbortSignal.timeout(options.budgetMs);
  const signal = options.signal ? AbortSignal.any([options.signal, budget]) : budget;
  const outOfTime = () => signal.aborted || now() >= deadline.at;
  const jpegs: Buffer[] = [];
  for (const [index, url] of urls.entries()) {
    const field = `images.${index}`;
    const where = `${field} (${displayUrl(url)})`;
    const stopped = (step: string) => {
      if (options.signal?.aborted) return options.signal.reason;
      return new ImageUnavailableError(
        `${where} was not ${step} when the photos' time budget ran out (IMAGE_BUDGET_MS, ${options.budgetMs} ms)`,
      );
    };
    if (outOfTime()) throw stopped('ready');
    let source: Buffer;
    try {
      source = await fetchPhoto(url, field, {
        allowHosts: options.allowHosts,
        maxBytes: PHOTO_SOURCE_MAX_BYTES,
        signal,
      });
    } catch (error) {
      if (signal.aborted && !(error instanceof ImageRejectedError)) throw stopped('ready');
      throw error;
    }
    try {
      jpegs.push(await toJpeg(source, deadline));
    } catch (error) {
      if (error instanceof OutOfTimeError || options.signal?.aborted) throw stopped('converted');
      if (error instanceof UnconvertiblePhotoError) throw new ImageRejectedError(`${where} ${error.message}`);
      throw new ImageRejectedError(`${where} could not be decoded as an image: ${(error as Error).message}`);
    }
  }
  let fitted: Buffer[] | undefined;
  try {
    if (outOfTime()) throw new OutOfTimeError('the time budget ran out before the scaling');
    fitted = await fitToBudget(jpegs, options.maxTotalBytes, deadline);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof OutOfTimeError) throw budgetError(options.budgetMs);
    throw error;
  }
  if (!fitted) {
    throw new ImageRejectedError(
      `images: the ${urls.length} photos do not fit in ${options.maxTotalBytes} bytes even scaled down`,
    );
  }
  // Names are unique within a listing, so that each upload can be told apart on the form.
  const names = new Set<string>();
  return fitted.map((buffer, index) => {
    let name = photoName(urls[index]!, index);
    if (names.has(name)) name = name.replace(/\.jpg$/, `-${index + 1}.jpg`);
    names.add(name);
    return { name, mimeType: 'image/jpeg', buffer };
  });
}

function budgetError(budgetMs: number): Error {
  return new ImageUnavailableError(
    `images: the photos were not scaled down to fit when their time budget ran out (IMAGE_BUDGET_MS, ${budgetMs} ms)`,
  );
}
