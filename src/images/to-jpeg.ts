import type { Metadata, Sharp, SharpOptions } from 'sharp';

let loadingSharp: Promise<(input: Buffer, options: SharpOptions) => Sharp> | undefined;

/**
 * sharp, imported at the first photo: it takes about 0.2 s of CPU to load, which the processes
 * that never convert a photo need not pay.
 */
function loadSharp() {
  loadingSharp ??= import('sharp').then(({ default: sharp }) => {
    // Photos are converted one after another: libvips' cache would only hold on to memory.
    sharp.cache(false);
    return sharp;
  });
  return loadingSharp;
}

/** Pixels a photo may have: a 100-megapixel camera's; more is a decompression bomb, not a photo. */
export const MAX_PHOTO_PIXELS = 100_000_000;

/**
 * Longest side a photo keeps: V&R shows far smaller photos, and a 4000 px JPEG is already a few
 * MB of the listing's 10. A larger photo is scaled down first (before it is rotated), so that a
 * baseline JPEG is decoded shrunk on load and never whole.
 */
export const MAX_PHOTO_SIDE = 4000;

/**
 * Bytes a photo's pixels may take decoded (width × height × channels × bytes per sample) when its
 * decoder holds the whole image: every photo but a baseline JPEG (a progressive JPEG keeps 2-byte
 * coefficients; an interlaced PNG, a WebP, a HEIF are decoded whole). About a 24 MP camera's
 * 16-bit RGB, or 50 MP of 8-bit RGB.
 */
export const MAX_DECODED_BYTES = 150 * 1024 * 1024;

/** JPEG quality for photos that arrive in another format, and for each scaling-down round. */
const QUALITY = 85;
const SCALED_QUALITY = 80;
/** For a JPEG re-encoded only to drop its metadata or its size: close to the original. */
const KEPT_QUALITY = 92;

const input = { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'truncated' } as const;

/** The end of a listing's photo time budget, on `now`'s clock (ms). */
export interface Deadline {
  at: number;
  now: () => number;
}

/** The time budget ran out before or while a photo was converted. */
export class OutOfTimeError extends Error {
  override name = 'OutOfTimeError';
}

/** A photo that can never be converted within the bounds; the message is the reason. */
export class UnconvertiblePhotoError extends Error {
  override name = 'UnconvertiblePhotoError';
}

/**
 * Runs one sharp pipeline inside the deadline: libvips stops it when the seconds left run out
 * (whole seconds, and not every decoder listens), and a step that ends late is late all the same.
 */
async function withinDeadline<T>(deadline: Deadline, run: (seconds: number) => Promise<T>): Promise<T> {
  const left = deadline.at - deadline.now();
  if (left <= 0) throw new OutOfTimeError('the time budget ran out before the conversion');
  const late = () => new OutOfTimeError('the time budget ran out during the conversion');
  let result: T;
  try {
    result = await run(Math.min(3600, Math.ceil(left / 1000)));
  } catch (error) {
    throw deadline.now() >= deadline.at ? late() : error;
  }
  if (deadline.now() >= deadline.at) throw late();
  return result;
}

const BYTES_PER_SAMPLE: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** Why the photo's decoder would take too much memory, or undefined when it stays in bounds. */
export function decodeTooLarge(metadata: Metadata): string | undefined {
  const { format, width = 0, height = 0, channels = 3, depth, isProgressive } = metadata;
  // A baseline JPEG is decoded a few lines at a time, shrunk on load toward MAX_PHOTO_SIDE.
  if (format === 'jpeg' && !isProgressive) return undefined;
  const bytesPerSample = format === 'jpeg' ? 2 : (BYTES_PER_SAMPLE[depth] ?? 8);
  const decoded = width * height * channels * bytesPerSample;
  if (decoded <= MAX_DECODED_BYTES) return undefined;
  const kind =
    format === 'jpeg'
      ? 'progressive JPEG'
      : `${format ?? 'image'} (${channels} channels of ${bytesPerSample * 8} bits${isProgressive ? ', interlaced' : ''})`;
  const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
  return `is too large to convert: a ${width}×${height} ${kind} takes ${mb(decoded)} MB decoded, over the ${mb(MAX_DECODED_BYTES)} MB limit (a baseline JPEG of up to ${MAX_PHOTO_PIXELS / 1e6} MP is accepted)`;
}

/**
 * A photo as a JPEG, with no metadata, at most MAX_PHOTO_SIDE on its longest side: a plain JPEG
 * within that size is kept as it is once it is known to decode; anything else is converted. A JPEG
 * carrying EXIF, XMP or IPTC is re-encoded without them (its orientation applied): a phone's photo
 * says where it was taken (GPS) and which camera took it, which is nothing a public listing should
 * publish. Throws UnconvertiblePhotoError when decoding would take more than MAX_DECODED_BYTES,
 * OutOfTimeError when the deadline passes.
 */
export async function toJpeg(source: Buffer, deadline: Deadline): Promise<Buffer> {
  const sharp = await loadSharp();
  const metadata = await withinDeadline(deadline, () => sharp(source, input).metadata());
  const tooLarge = decodeTooLarge(metadata);
  if (tooLarge) throw new UnconvertiblePhotoError(tooLarge);
  const { format, width = 0, height = 0 } = metadata;
  const plain = format === 'jpeg' && !metadata.exif && !metadata.xmp && !metadata.iptc;
  if (plain && Math.max(width, height) <= MAX_PHOTO_SIDE) {
    // Decoded in full (shrunk on load, so cheaply) to find a truncated or corrupt photo now.
    await withinDeadline(deadline, (seconds) =>
      sharp(source, input).resize(256, 256, { fit: 'inside' }).timeout({ seconds }).toBuffer(),
    );
    return source;
  }
  return withinDeadline(deadline, (seconds) =>
    sharp(source, input)
      // Orientation is applied after the resize (sharp rotates the smaller image): the square
      // bound fits either way round.
      .rotate()
      .resize(MAX_PHOTO_SIDE, MAX_PHOTO_SIDE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: format === 'jpeg' ? KEPT_QUALITY : QUALITY })
      .timeout({ seconds })
      .toBuffer(),
  );
}

/** One photo scaled so that its longest side is `scale` of what it was. */
async function scaledDown(photo: Buffer, scale: number, deadline: Deadline): Promise<Buffer> {
  const sharp = await loadSharp();
  const { width = 1, height = 1 } = await withinDeadline(deadline, () => sharp(photo, input).metadata());
  const side = Math.max(16, Math.floor(Math.max(width, height) * scale));
  return withinDeadline(deadline, (seconds) =>
    sharp(photo, input)
      .resize(side, side, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: SCALED_QUALITY })
      .timeout({ seconds })
      .toBuffer(),
  );
}

/**
 * Scales toJpeg's JPEGs (upright, no metadata) down, each in proportion to its size, one at a
 * time, until together they fit in `maxTotalBytes`. Undefined when even small versions don't fit.
 * Throws OutOfTimeError when the deadline passes.
 */
export async function fitToBudget(
  photos: Buffer[],
  maxTotalBytes: number,
  deadline: Deadline,
): Promise<Buffer[] | undefined> {
  let current = photos;
  for (let round = 0; round < 10; round++) {
    const total = current.reduce((sum, photo) => sum + photo.length, 0);
    if (total <= maxTotalBytes) return current;
    // Bytes go roughly with pixels: scale each side by the square root, with a margin.
    const scale = Math.sqrt(maxTotalBytes / total) * 0.9;
    const next: Buffer[] = [];
    for (const photo of current) next.push(await scaledDown(photo, scale, deadline));
    current = next;
  }
  return undefined;
}
