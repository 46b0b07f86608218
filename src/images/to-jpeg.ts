import sharp from 'sharp';

// Photos are converted one after another: libvips' cache would only hold on to memory.
sharp.cache(false);

/** Pixels a photo may have: a 100-megapixel camera's; more is a decompression bomb, not a photo. */
export const MAX_PHOTO_PIXELS = 100_000_000;

/** JPEG quality for photos that arrive in another format, and for each scaling-down round. */
const QUALITY = 85;
const SCALED_QUALITY = 80;
/** For a JPEG re-encoded only to drop its metadata: close to the original. */
const KEPT_QUALITY = 92;

const input = { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'truncated' } as const;

/**
 * A photo as a JPEG, with no metadata: a plain JPEG is kept as it is once it is known to decode;
 * anything else is converted. A JPEG carrying EXIF, XMP or IPTC is re-encoded without them (its
 * orientation applied first): a phone's photo says where it was taken (GPS) and which camera took
 * it, which is nothing a public listing should publish.
 */
export async function toJpeg(source: Buffer): Promise<Buffer> {
  const metadata = await sharp(source, input).metadata();
  if (metadata.format === 'jpeg' && !metadata.exif && !metadata.xmp && !metadata.iptc) {
    // Decoded in full (shrunk on load, so cheaply) to find a truncated or corrupt photo now.
    await sharp(source, input).resize(256, 256, { fit: 'inside' }).toBuffer();
    return source;
  }
  return sharp(source, input)
    .rotate()
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: metadata.format === 'jpeg' ? KEPT_QUALITY : QUALITY })
    .toBuffer();
}

/**
 * Scales the JPEGs down, each in proportion to its size, until together they fit in `maxTotalBytes`.
 * Undefined when even small versions don't fit.
 */
export async function fitToBudget(photos: Buffer[], maxTotalBytes: number): Promise<Buffer[] | undefined> {
  let current = photos;
  for (let round = 0; round < 10; round++) {
    const total = current.reduce((sum, photo) => sum + photo.length, 0);
    if (total <= maxTotalBytes) return current;
    // Bytes go roughly with pixels: scale each side by the square root, with a margin.
    const scale = Math.sqrt(maxTotalBytes / total) * 0.9;
    current = await Promise.all(
      current.map(async (photo) => {
        const { width = 1, height = 1 } = await sharp(photo, input).metadata();
        const side = Math.max(16, Math.floor(Math.max(width, height) * scale));
        return sharp(photo, input)
          .rotate()
          .resize(side, side, { fit: 'inside', withoutEnlargement: true })
          .jpeg({ quality: SCALED_QUALITY })
          .toBuffer();
      }),
    );
  }
  return undefined;
}
