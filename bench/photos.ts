import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { PhotoChildReport } from './photo-child.ts';

export interface PhotoCaseResult extends PhotoChildReport {
  input: string;
  /** Peak RSS above the baseline child's (the same process preparing a small photo), MB. */
  aboveBaselineMB: number;
}

/**
 * Peak RSS one photo's preparation may add to the process: up to MAX_DECODED_BYTES (150 MB) of
 * decoded pixels for a photo decoded whole, plus its scaled copy and the JPEG.
 */
export const PHOTO_RSS_BOUND_MB = 300;

const flat = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 136, g: 170, b: 102 } } });

/** The inputs, generated here (flat colour: small files; decoding costs the same per pixel). */
const INPUTS: Array<{ name: string; file: string; make: () => Sharp }> = [
  {
    name: 'baseline: 640×480 JPEG, EXIF orientation 6',
    file: 'small.jpg',
    make: () => flat(640, 480).jpeg().withMetadata({ orientation: 6 }),
  },
  {
    name: '100 MP (12500×8000) JPEG, EXIF orientation 6',
    file: 'rotated-100mp.jpg',
    make: () => flat(12_500, 8000).jpeg().withMetadata({ orientation: 6 }),
  },
  {
    name: '6000×4000 16-bit RGB PNG',
    file: 'rgb16.png',
    make: () => flat(6000, 4000).toColourspace('rgb16').png(),
  },
  {
    // Just under MAX_DECODED_BYTES (4400 × 4400 × 4 × 2 = 148 MB), and decoded whole: the worst accepted.
    name: '4400×4400 16-bit RGBA PNG, interlaced',
    file: 'rgba16-interlaced.png',
    make: () =>
      sharp({
        create: {
          width: 4400,
          height: 4400,
          channels: 4,
          background: { r: 136, g: 170, b: 102, alpha: 0.5 },
        },
      })
        .toColourspace('rgb16')
        .png({ progressive: true }),
  },
  {
    name: '100 MP (12500×8000) progressive JPEG',
    file: 'progressive-100mp.jpg',
    make: () => flat(12_500, 8000).jpeg({ progressive: true }),
  },
];

function prepareInChild(file: string): Promise<PhotoChildReport> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./photo-child.ts', import.meta.url), [file], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: PhotoChildReport | undefined;
    child.on('message', (message) => {
      report = message as PhotoChildReport;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      report ? resolve(report) : reject(new Error(`photo child for ${file} exited ${code} without a report`)),
    );
  });
}

/** Each input prepared in a child process of its own; the first is the baseline. */
export async function runPhotosCase(): Promise<PhotoCaseResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'vr-lister-bench-photos-'));
  try {
    const results: PhotoCaseResult[] = [];
    for (const input of INPUTS) {
      const file = join(dir, input.file);
      await input.make().toFile(file);
      const report = await prepareInChild(file);
      const baseline = results[0]?.peakMB ?? report.peakMB;
      results.push({ input: input.name, ...report, aboveBaselineMB: report.peakMB - baseline });
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
