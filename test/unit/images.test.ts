import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createGzip } from 'node:zlib';
import sharp from 'sharp';
import { ConfigError, loadConfig, parseHostList } from '../../src/config.ts';
import { ImageRejectedError } from '../../src/images/image-rejected-error.ts';
import {
  PHOTO_SOURCE_MAX_BYTES,
  type PreparePhotosOptions,
  preparePhotos,
} from '../../src/images/prepare-photos.ts';
import {
  type Deadline,
  fitToBudget,
  MAX_DECODED_BYTES,
  MAX_PHOTO_SIDE,
  OutOfTimeError,
  toJpeg,
  UnconvertiblePhotoError,
} from '../../src/images/to-jpeg.ts';
import { checkedAddress, nonPublicRange } from '../../src/net/address-policy.ts';
import { ImageUnavailableError, isSiteUnavailable, VrRejectedError } from '../../src/vr/errors.ts';

/** A JPEG of gaussian noise: it barely compresses, so its size goes with its pixels. */
const noise = (width: number, height: number) =>
  sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#888',
      noise: { type: 'gaussian', mean: 128, sigma: 60 },
    },
  })
    .jpeg({ quality: 95 })
    .toBuffer();

const MB = 1024 * 1024;
/** For calling the conversion directly: time enough. */
const noDeadline: Deadline = { at: Number.POSITIVE_INFINITY, now: Date.now };
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);

interface TestServer {
  server: Server;
  port: number;
  url: (path: string) => string;
  requests: { path: string; headers: IncomingHttpHeaders }[];
}

async function startServer(handle: (path: string, res: ServerResponse) => unknown): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    Promise.resolve(handle(req.url ?? '', res)).catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, port, url: (path) => `http://127.0.0.1:${port}${path}`, requests };
}

/** Writes `total` bytes in 64 KB chunks, waiting for the reader (as a real server does). */
async function stream(res: ServerResponse, total: number, first: Buffer = JPEG_MAGIC): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  first.copy(chunk);
  for (let sent = 0; sent < total && !res.destroyed; sent += chunk.length) {
    if (!res.write(sent === 0 ? chunk : chunk.fill(0x41, 0, first.length))) {
      await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  }
  res.end();
}

/** Peak growth of this process's resident memory while `run` goes, sampled every few milliseconds. */
async function peakRssGrowth(run: () => Promise<unknown>): Promise<{ growth: number; result: unknown }> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  let result: unknown;
  try {
    result = await run().catch((error: unknown) => error);
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { growth: peak - base, result };
}

describe('photos: downloading, refusing, converting', () => {
  let outside: TestServer;
  let inside: TestServer;
  let png: Buffer;
  let pngWithAlpha: Buffer;
  let webp: Buffer;
  let jpeg: Buffer;
  let noiseJpeg: Buffer;
  let gzipBomb: Buffer;
  let options: PreparePhotosOptions;
  /** Bodies a test puts up at /served/<name>. */
  const served = new Map<string, { type: string; body: Buffer }>();

  before(async () => {
    png = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#c00' } })
      .png()
      .toBuffer();
    pngWithAlpha = await sharp({
      create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } },
    })
      .png()
      .toBuffer();
    webp = await sharp({ create: { width: 500, height: 400, channels: 3, background: '#0c0' } })
      .webp()
      .toBuffer();
    jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#00c' } })
      .jpeg()
      .toBuffer();
    // Noise barely compresses: three of these weigh over 10 MB together.
    noiseJpeg = await noise(2000, 2000);
    // 300 MB of zeros behind a JPEG's first bytes: a few hundred KB on the wire.
    const gzip = createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gzip.on('data', (part: Buffer) => parts.push(part));
    const zeros = Buffer.alloc(MB);
    gzip.write(Buffer.concat([JPEG_MAGIC, Buffer.alloc(MB - JPEG_MAGIC.length)]));
    for (let i = 1; i < 300; i++) if (!gzip.write(zeros)) await once(gzip, 'drain');
    gzip.end();
    await once(gzip, 'end');
    gzipBomb = Buffer.concat(parts);

    // A service on the inside: it answers with a real image, so only a refusal keeps it out.
    inside = await startServer((_path, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(png);
    });
    outside = await startServer(async (path, res) => {
      const url = new URL(path, 'http://x');
      const send = (type: string, body: Buffer) => {
        res.writeHead(200, { 'content-type': type, 'content-length': body.length });
        res.end(body);
      };
      switch (url.pathname) {
        case '/photo.png':
          return send('image/png', png);
        case '/alpha.png':
          return send('image/png', pngWithAlpha);
        case '/photo.webp':
          return send('image/webp', webp);
        case '/photo.jpg':
          return send('image/jpeg', jpeg);
        case '/noise.jpg':
          return send('image/jpeg', noiseJpeg);
        case '/page.html':
          return send('text/html', Buffer.from('<html><body>hello</body></html>'));
        case '/fake.jpg':
          return send('image/jpeg', Buffer.from('<html><body>not a photo</body></html>'));
        case '/corrupt.jpg':
          return send('image/jpeg', Buffer.concat([JPEG_MAGIC, Buffer.alloc(4096, 0x55)]));
        case '/redirect':
          res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
          return res.end();
        case '/status':
          res.writeHead(Number(url.searchParams.get('code')), { 'content-type': 'text/plain' });
          return res.end('no');
        case '/huge.jpg':
          // 300 MB, streamed without a length.
          res.writeHead(200, { 'content-type': 'image/jpeg' });
          return stream(res, 300 * MB);
        case '/huge-declared.jpg':
          res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 300 * MB });
          return stream(res, 300 * MB);
        case '/bomb.jpg':
          // Compressed although identity was asked for.
          res.writeHead(200, {
            'content-type': 'image/jpeg',
            'content-encoding': 'gzip',
            'content-length': gzipBomb.length,
          });
          return res.end(gzipBomb);
        case '/slow.jpg':
          await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get('ms'))));
          return send('image/jpeg', jpeg);
        default: {
          const body = served.get(url.pathname.replace(/^\/served\//, ''));
          if (body) return send(body.type, body.body);
          res.writeHead(404);
          res.end();
        }
      }
    });
    options = {
      allowHosts: [{ host: '127.0.0.1', isIp: true, port: outside.port }],
      budgetMs: 60_000,
      maxTotalBytes: 10_000_000,
    };
  });

  after(() => {
    outside.server.closeAllConnections();
    inside.server.closeAllConnections();
    outside.server.close();
    inside.server.close();
  });

  async function rejection(urls: string[], opts: PreparePhotosOptions = options): Promise<Error> {
    const error = await preparePhotos(urls, opts).then(
      () => assert.fail(`expected ${urls.join(', ')} to be refused`),
      (e: unknown) => e as Error,
    );
    return error;
  }

  // First, while this process's memory is still small: sizes read, not buffered.
  test('a 300 MB photo is refused at the cap, streamed or declared, without taking the memory', async () => {
    for (const path of ['/huge.jpg', '/huge-declared.jpg']) {
      const { growth, result } = await peakRssGrowth(() => preparePhotos([outside.url(path)], options));
      assert.ok(result instanceof ImageRejectedError, `${path}: ${String(result)}`);
      assert.match(result.message, /over the 25 MB limit|is 300 MB, over the 25 MB limit/);
      assert.ok(growth < 100 * MB, `${path}: RSS grew by ${Math.round(growth / MB)} MB`);
    }
  });

  test('a gzip bomb is refused when its decoded bytes reach the cap, and identity was asked for', async () => {
    assert.ok(gzipBomb.length < 2 * MB);
    const { growth, result } = await peakRssGrowth(() => preparePhotos([outside.url('/bomb.jpg')], options));
    assert.ok(result instanceof ImageRejectedError, String(result));
    assert.match(result.message, /over the 25 MB limit/);
    assert.ok(growth < 100 * MB, `RSS grew by ${Math.round(growth / MB)} MB`);
    const request = outside.requests.findLast((r) => r.path === '/bomb.jpg');
    assert.equal(request?.headers['accept-encoding'], 'identity');
    assert.equal(PHOTO_SOURCE_MAX_BYTES, 25 * MB);
  });

  test('loopback in every spelling is refused before any connection, without IMAGE_ALLOW_HOSTS', async () => {
    const port = inside.port;
    const spellings = [
      `http://127.0.0.1:${port}/state`,
      `http://localhost:${port}/state`,
      `http://2130706433:${port}/state`,
      `http://0x7f000001:${port}/state`,
      `http://0177.0.0.1:${port}/state`,
      `http://127.1:${port}/state`,
      `http://0:${port}/state`,
      `http://0.0.0.0:${port}/state`,
      `http://[::1]:${port}/state`,
      `http://[::ffff:127.0.0.1]:${port}/state`,
      `http://[::]:${port}/state`,
    ];
    for (const url of spellings) {
      const error = await rejection([url], { ...options, allowHosts: [] });
      assert.ok(error instanceof ImageRejectedError, `${url}: ${error}`);
      assert.ok(error instanceof VrRejectedError, 'fails the job at once');
      assert.match(
        error.message,
        /^images\.0 \(http:\/\/.+\/state\) is refused: .*(loopback|unspecified)/,
        url,
      );
    }
    assert.equal(inside.requests.length, 0, 'the inside service was never reached');
  });

  test('a redirect from an allowed host to loopback is refused at that hop', async () => {
    const targets = [
      `http://127.0.0.1:${inside.port}/state`,
      `http://localhost:${inside.port}/state`,
      `http://2130706433:${inside.port}/state`,
      `http://0x7f000001:${inside.port}/state`,
      `http://[::1]:${inside.port}/state`,
    ];
    for (const target of targets) {
      const url = outside.url(`/redirect?to=${encodeURIComponent(target)}`);
      const error = await rejection([url]);
      assert.ok(error instanceof ImageRejectedError, `${target}: ${error}`);
      assert.match(error.message, /redirected to http:\/\/.+\/state\) is refused: .*loopback/);
    }
    assert.equal(inside.requests.length, 0, 'the inside service was never reached');
    // The same redirect to an allowed photo is followed.
    const [photo] = await preparePhotos(
      [outside.url(`/redirect?to=${encodeURIComponent('/photo.png')}`)],
      options,
    );
    assert.equal((await sharp(photo!.buffer).metadata()).format, 'jpeg');
  });

  test('more than 5 redirects, and a redirect carrying credentials, are refused', async () => {
    let chain = '/photo.png';
    for (let i = 0; i < 6; i++) chain = `/redirect?to=${encodeURIComponent(chain)}`;
    assert.match((await rejection([outside.url(chain)])).message, /redirected more than 5 times/);
    const withPassword = outside.url(
      `/redirect?to=${encodeURIComponent(`http://me:hunter2@127.0.0.1:${outside.port}/photo.png`)}`,
    );
    const error = await rejection([withPassword]);
    assert.ok(error instanceof ImageRejectedError);
    assert.match(error.message, /carries credentials/);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  test('IMAGE_ALLOW_HOSTS allows a host by address and port, or by name', async () => {
    // The address entry names the outside server's port only.
    const other = await rejection([`http://127.0.0.1:${inside.port}/x.png`]);
    assert.match(other.message, /loopback/);
    const byName = await preparePhotos([`http://localhost:${inside.port}/x.png`], {
      ...options,
      allowHosts: parseHostList(`localhost:${inside.port}`),
    });
    assert.equal(byName.length, 1);
    const anyPort = await preparePhotos([`http://127.0.0.1:${inside.port}/x.png`], {
      ...options,
      allowHosts: parseHostList('127.0.0.1'),
    });
    assert.equal(anyPort.length, 1);
    inside.requests.length = 0;
  });

  test('private, link-local, CGNAT, multicast, unspecified and reserved ranges are not public, IPv4 and IPv6', () => {
    const notPublic = [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '0.0.0.0',
      '127.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
    ];
    for (const address of notPublic) assert.ok(nonPublicRange(address), address);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) {
      assert.equal(nonPublicRange(address), undefined, address);
    }
  });

  test('a name is refused when any of its addresses is not public, and the address checked is the one used', async () => {
    const answers: Record<string, { address: string; family: 4 | 6 }[]> = {
      'mixed.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      'mapped.example': [{ address: '::ffff:169.254.169.254', family: 6 }],
      'public.example': [
        { address: '2606:4700::1111', family: 6 },
        { address: '93.184.216.34', family: 4 },
      ],
    };
    const resolve = async (host: string) => answers[host] ?? [];
    const check = (url: string, allow = '') => checkedAddress(new URL(url), parseHostList(allow), resolve);
    assert.deepEqual(await check('http://mixed.example/a.jpg'), {
      refused:
        'mixed.example resolves to 10.0.0.7, in the private range (allow it on purpose with IMAGE_ALLOW_HOSTS)',
    });
    assert.match(
      JSON.stringify(await check('http://mapped.example/a.jpg')),
      /169\.254\.169\.254, in the linkLocal range/,
    );
    assert.deepEqual(await check('https://public.example/a.jpg'), { address: '2606:4700::1111', family: 6 });
    // Allowed by name (any address), or by the private address itself, on the port given.
    assert.deepEqual(await check('http://mixed.example/a.jpg', 'mixed.example'), {
      address: '93.184.216.34',
      family: 4,
    });
    assert.ok('address' in (await check('http://mixed.example:8080/a.jpg', '10.0.0.7:8080')));
    assert.ok('refused' in (await check('http://mixed.example/a.jpg', '10.0.0.7:8080')));
    assert.deepEqual(await check('http://nothing.example/'), { refused: 'nothing.example has no address' });
  });

  test('a photo that can never succeed fails at once; a 5xx or a timeout may be tried again', async () => {
    const notFound = await rejection([outside.url('/status?code=404')]);
    assert.ok(notFound instanceof ImageRejectedError);
    assert.match(notFound.message, /answered HTTP 404/);
    const html = await rejection([outside.url('/page.html')]);
    assert.ok(html instanceof ImageRejectedError);
    assert.match(html.message, /is not an image \(Content-Type text\/html\)/);
    const fake = await rejection([outside.url('/fake.jpg')]);
    assert.ok(fake instanceof ImageRejectedError);
    assert.match(fake.message, /first bytes are no known image format/);
    const corrupt = await rejection([outside.url('/corrupt.jpg')]);
    assert.ok(corrupt instanceof ImageRejectedError);
    assert.match(corrupt.message, /could not be decoded/);

    const unavailable = await rejection([outside.url('/status?code=503')]);
    assert.ok(unavailable instanceof ImageUnavailableError);
    assert.ok(!(unavailable instanceof VrRejectedError));
    assert.equal(isSiteUnavailable(unavailable), false, "an image host's trouble is not a V&R outage");
  });

  test('one time budget covers all of a listing photos', async () => {
    // Each photo alone is well inside the budget; the two together are not.
    const urls = [outside.url('/slow.jpg?ms=800'), outside.url('/slow.jpg?ms=800')];
    const error = await rejection(urls, { ...options, budgetMs: 1_200 });
    assert.ok(error instanceof ImageUnavailableError, String(error));
    assert.match(error.message, /IMAGE_BUDGET_MS, 1200 ms/);
  });

  test('the budget covers the conversion too: running out while converting fails the listing as a late download does', async () => {
    // A clock on which every look takes 20 s of the 60: the download ends in time, the conversion does not.
    let clock = 0;
    const now = () => {
      clock += 20_000;
      return clock;
    };
    const error = await rejection([outside.url('/photo.png')], { ...options, now });
    assert.ok(error instanceof ImageUnavailableError, String(error));
    assert.match(
      error.message,
      /^images\.0 \(http:\/\/127\.0\.0\.1:\d+\/photo\.png\) was not converted when the photos' time budget ran out \(IMAGE_BUDGET_MS, 60000 ms\)$/,
    );
  });

  test('a 16-bit PNG becomes an 8-bit JPEG of at most 4000 px; a photo too large to decode is refused, named', async () => {
    const create = (channels: 3 | 4, width = 6000, height = 4000) =>
      sharp({ create: { width, height, channels, background: { r: 136, g: 170, b: 102, alpha: 1 } } });
    const [rgb16, rgba16, progressive] = await Promise.all([
      // 6000 × 4000 × 3 × 2 bytes: 137 MB decoded, within the bound.
      create(3).toColourspace('rgb16').png().toBuffer(),
      // The same with alpha: 183 MB.
      create(4).toColourspace('rgb16').png().toBuffer(),
      // A progressive JPEG's decoder keeps 2-byte coefficients for the whole image: 172 MB.
      create(3, 6000, 5000).jpeg({ progressive: true }).toBuffer(),
    ]);
    served.set('rgb16.png', { type: 'image/png', body: rgb16 });
    served.set('rgba16.png', { type: 'image/png', body: rgba16 });
    served.set('progressive.jpg', { type: 'image/jpeg', body: progressive });

    const [converted] = await preparePhotos([outside.url('/served/rgb16.png')], options);
    const metadata = await sharp(converted!.buffer).metadata();
    assert.deepEqual(
      [metadata.format, metadata.width, metadata.height, metadata.depth, metadata.channels],
      ['jpeg', MAX_PHOTO_SIDE, 2667, 'uchar', 3],
    );

    const rgba = await rejection([outside.url('/served/rgb16.png'), outside.url('/served/rgba16.png')]);
    assert.ok(rgba instanceof ImageRejectedError, String(rgba));
    assert.match(
      rgba.message,
      /^images\.1 \(http:\/\/127\.0\.0\.1:\d+\/served\/rgba16\.png\) is too large to convert: a 6000×4000 png \(4 channels of 16 bits\) takes 183 MB decoded, over the 150 MB limit/,
    );
    const refused = await rejection([outside.url('/served/progressive.jpg')]);
    assert.ok(refused instanceof ImageRejectedError, String(refused));
    assert.match(
      refused.message,
      /^images\.0 \(.+\/served\/progressive\.jpg\) is too large to convert: a 6000×5000 progressive JPEG takes 172 MB decoded/,
    );
    assert.equal(MAX_DECODED_BYTES, 150 * MB);
  });

  test('error text names the host and path, never the query string or credentials', async () => {
    const error = await rejection([outside.url('/status?code=404&token=s3cret')]);
    assert.match(error.message, new RegExp(`\\(http://127\\.0\\.0\\.1:${outside.port}/status\\)`));
    assert.doesNotMatch(error.message, /s3cret|token/);
  });

  test('WebP and PNG become JPEG, a JPEG is kept as it is, each under its own name', async () => {
    const photos = await preparePhotos(
      [
        outside.url('/photo.webp'),
        outside.url('/photo.png'),
        outside.url('/alpha.png'),
        outside.url('/photo.jpg?v=2'),
      ],
      options,
    );
    assert.deepEqual(
      photos.map((p) => [p.name, p.mimeType]),
      [
        ['photo.jpg', 'image/jpeg'],
        ['photo-2.jpg', 'image/jpeg'],
        ['alpha.jpg', 'image/jpeg'],
        ['photo-4.jpg', 'image/jpeg'],
      ],
    );
    const metadata = await Promise.all(photos.map((p) => sharp(p.buffer).metadata()));
    assert.deepEqual(
      metadata.map((m) => [m.format, m.width, m.height]),
      [
        ['jpeg', 500, 400],
        ['jpeg', 640, 480],
        ['jpeg', 300, 200],
        ['jpeg', 320, 240],
      ],
    );
    assert.ok(photos[3]!.buffer.equals(jpeg));
  });

  test('a set over 10 MB is scaled down until it fits', async () => {
    const urls = [1, 2, 3].map((n) => outside.url(`/noise.jpg?n=${n}`));
    assert.ok(noiseJpeg.length * 3 > 10_000_000, `the set weighs ${noiseJpeg.length * 3} bytes`);
    const photos = await preparePhotos(urls, options);
    const total = photos.reduce((sum, p) => sum + p.buffer.length, 0);
    assert.equal(photos.length, 3);
    assert.ok(total <= 10_000_000, `${total} bytes`);
    for (const photo of photos) {
      const metadata = await sharp(photo.buffer).metadata();
      assert.equal(metadata.format, 'jpeg');
      assert.ok(metadata.width! < 2000 && metadata.width! >= 1000, `width ${metadata.width}`);
    }
  });
});

describe('photo metadata', () => {
  test('a JPEG that says where it was taken loses its EXIF, upright; a plain JPEG is kept byte for byte', async () => {
    const tagged = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#c00' } })
      .jpeg()
      .withExif({
        IFD0: { Make: 'PhoneCo', Model: 'Serial 12345' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '51/1 30/1 0/1',
          GPSLongitudeRef: 'W',
          GPSLongitude: '0/1 7/1 0/1',
        },
      })
      .toBuffer();
    // Rotated a quarter turn by its EXIF orientation, as a phone held upright writes it.
    const rotated = await sharp(tagged).withMetadata({ orientation: 6 }).toBuffer();
    const before = await sharp(rotated).metadata();
    assert.ok(before.exif?.includes('PhoneCo'), 'the fixture carries EXIF');
    const out = await toJpeg(rotated, noDeadline);
    const after = await sharp(out).metadata();
    assert.equal(after.format, 'jpeg');
    assert.equal(after.exif, undefined);
    assert.equal(after.xmp, undefined);
    assert.ok(!out.includes('PhoneCo') && !out.includes('GPS'));
    assert.deepEqual(
      [after.width, after.height],
      [240, 320],
      'the orientation is applied before it is dropped',
    );

    const plain = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#0c0' } })
      .jpeg()
      .toBuffer();
    assert.ok((await toJpeg(plain, noDeadline)).equals(plain));
  });
});

describe('photo conversion bounds', () => {
  test('a large rotated JPEG comes out upright, at most 4000 px, without EXIF; so does a large plain one', async () => {
    // Stored sideways, red on the left and blue on the right; orientation 6 turns it a quarter clockwise.
    const [width, height] = [4800, 3000];
    const pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) pixels[i * 3 + (i % width < width / 2 ? 0 : 2)] = 255;
    const sideways = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await toJpeg(sideways, noDeadline);
    const after = await sharp(out).metadata();
    assert.deepEqual([after.format, after.width, after.height], ['jpeg', 2500, MAX_PHOTO_SIDE]);
    assert.equal(after.exif, undefined);
    assert.equal(after.orientation, undefined);
    const pixel = async (top: number) => [
      ...(await sharp(out).extract({ left: 1250, top, width: 1, height: 1 }).raw().toBuffer()),
    ];
    const [top, bottom] = [await pixel(100), await pixel(3900)];
    assert.ok(top[0]! > 200 && top[2]! < 60, `top is red: ${top}`);
    assert.ok(bottom[2]! > 200 && bottom[0]! < 60, `bottom is blue: ${bottom}`);

    const plain = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg()
      .toBuffer();
    const scaled = await sharp(await toJpeg(plain, noDeadline)).metadata();
    assert.deepEqual([scaled.width, scaled.height], [MAX_PHOTO_SIDE, 2500]);
  });

  test('fitToBudget keeps the photos, in order and in proportion, one JPEG each', async () => {
    const photos = [await noise(800, 600), await noise(300, 500), await noise(640, 640)];
    const total = photos.reduce((sum, p) => sum + p.length, 0);

    const kept = await fitToBudget(photos, total, noDeadline);
    assert.ok(
      kept?.every((photo, i) => photo === photos[i]),
      'a set that fits is returned as it is',
    );

    const fitted = await fitToBudget(photos, Math.floor(total / 3), noDeadline);
    assert.ok(fitted);
    assert.equal(fitted.length, 3);
    assert.ok(fitted.reduce((sum, p) => sum + p.length, 0) <= total / 3);
    const sizes = await Promise.all(fitted.map(async (p) => sharp(p).metadata()));
    assert.deepEqual(
      sizes.map((m) => m.format),
      ['jpeg', 'jpeg', 'jpeg'],
    );
    for (const [i, [width, height]] of [
      [800, 600],
      [300, 500],
      [640, 640],
    ].entries()) {
      const m = sizes[i]!;
      assert.ok(m.width! < width!, `photo ${i} is smaller: ${m.width}`);
      assert.ok(Math.abs(m.width! / m.height! - width! / height!) < 0.02, `photo ${i} keeps its proportions`);
    }

    assert.equal(await fitToBudget(photos, 100, noDeadline), undefined, 'even 16 px versions do not fit');
  });

  test('fitToBudget stops with OutOfTimeError once the deadline passes; toJpeg too', async () => {
    const photo = await noise(400, 300);
    // A clock on which every look takes a second, with the budget ending after two.
    let clock = 0;
    const ticking: Deadline = { at: 2_500, now: () => (clock += 1_000) };
    await assert.rejects(fitToBudget([photo, photo], photo.length, ticking), OutOfTimeError);
    const passed: Deadline = { at: 0, now: () => 1 };
    await assert.rejects(toJpeg(photo, passed), OutOfTimeError);
    await assert.rejects(
      toJpeg(Buffer.from('not an image'), noDeadline),
      (error: unknown) => error instanceof Error && !(error instanceof UnconvertiblePhotoError),
    );
  });
});

describe('IMAGE_ALLOW_HOSTS and IMAGE_BUDGET_MS', () => {
  test('host names and addresses, each maybe with a port, read as a URL would', () => {
    assert.deepEqual(
      parseHostList(' Images.Internal. , 10.0.0.5:8080, [FD00::1]:443, fd00::2, 2130706433 ,'),
      [
        { host: 'images.internal', isIp: false },
        { host: '10.0.0.5', isIp: true, port: 8080 },
        { host: 'fd00::1', isIp: true, port: 443 },
        { host: 'fd00::2', isIp: true },
        { host: '127.0.0.1', isIp: true },
      ],
    );
    const config = loadConfig({ IMAGE_ALLOW_HOSTS: 'cdn.local:9000' });
    assert.deepEqual(config.imageAllowHosts, [{ host: 'cdn.local', isIp: false, port: 9000 }]);
    assert.equal(config.imageBudgetMs, 60_000);
    assert.deepEqual(loadConfig({}).imageAllowHosts, []);
  });

  test('a bad entry stops start-up naming the variable and the entry', () => {
    for (const value of ['http://cdn.local/', 'cdn.local:99999', 'user@cdn.local', 'a b']) {
      assert.throws(
        () => loadConfig({ IMAGE_ALLOW_HOSTS: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /IMAGE_ALLOW_HOSTS: ".+"/.test(error.message) &&
          error.message.includes(value.split(',')[0]!),
        value,
      );
    }
    assert.throws(() => loadConfig({ IMAGE_BUDGET_MS: 'soon' }), /IMAGE_BUDGET_MS/);
  });
});
