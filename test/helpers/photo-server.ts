import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/** Photos as a seller's own site would serve them, from a local HTTP server (IMAGE_ALLOW_HOSTS=127.0.0.1). */
export interface PhotoServer {
  url: string;
  /** Path → bytes served. */
  sizes: Map<string, number>;
  close(): Promise<void>;
}

/** Noise: it doesn't compress, so sizes stay what a camera's would be. */
async function noise(width: number, height: number, format: 'jpeg' | 'png' | 'webp'): Promise<Buffer> {
  const raw = sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } });
  if (format === 'jpeg') return raw.jpeg({ quality: 100 }).toBuffer();
  if (format === 'png') return raw.png().toBuffer();
  return raw.webp({ quality: 90 }).toBuffer();
}

/**
 * `/small.jpg`, `/photo.png`, `/photo.webp`, and `/big-1.jpg` … `/big-4.jpg` (over 10 MB together).
 */
export async function startPhotoServer(): Promise<PhotoServer> {
  const files = new Map<string, { type: string; body: Buffer }>([
    ['/small.jpg', { type: 'image/jpeg', body: await noise(400, 300, 'jpeg') }],
    ['/photo.png', { type: 'image/png', body: await noise(500, 400, 'png') }],
    ['/photo.webp', { type: 'image/webp', body: await noise(600, 450, 'webp') }],
  ]);
  for (const n of [1, 2, 3, 4]) {
    files.set(`/big-${n}.jpg`, { type: 'image/jpeg', body: await noise(1700, 1300, 'jpeg') });
  }
  const server: Server = createServer((req, res) => {
    const file = files.get(req.url ?? '');
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sizes: new Map([...files].map(([path, f]) => [path, f.body.length])),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
