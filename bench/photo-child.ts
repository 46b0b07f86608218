import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { PHOTOS_MAX_TOTAL_BYTES, preparePhotos } from '../src/images/prepare-photos.ts';

/**
 * One photo through the product's preparation (download from a local server, toJpeg, fitToBudget),
 * alone in this process, so that its peak RSS is that photo's. Started by bench/photos.ts with the
 * file's path; sends back what came out and the peak RSS.
 */
export interface PhotoChildReport {
  result: string;
  ms: number;
  /** Peak RSS once everything is loaded and the photo is read, before it is prepared (MB). */
  readyMB: number;
  peakMB: number;
}

const file = process.argv[2]!;
const body = await readFile(file);
const type = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

const mb = (kb: number) => Math.round(kb / 1024);
const readyMB = mb(process.resourceUsage().maxRSS);
const started = performance.now();
let result: string;
try {
  const [photo] = await preparePhotos([`http://127.0.0.1:${port}/${file.split('/').pop()}`], {
    allowHosts: [{ host: '127.0.0.1', isIp: true, port }],
    budgetMs: 60_000,
    maxTotalBytes: PHOTOS_MAX_TOTAL_BYTES,
  });
  const { width, height, depth } = await sharp(photo!.buffer).metadata();
  result = `${width}×${height} JPEG (${depth}), ${Math.round(photo!.buffer.length / 1024)} KB`;
} catch (error) {
  result = `refused: ${(error as Error).message}`;
}
const report: PhotoChildReport = {
  result,
  ms: Math.round(performance.now() - started),
  readyMB,
  peakMB: mb(process.resourceUsage().maxRSS),
};
server.close();
process.send?.(report);
