import { EXPORT_COLUMNS } from '../vr/export-format.ts';
import { BRANDS } from './brands.ts';
import { mulberry32, pick, type Rng, randInt } from './prng.ts';

export interface Category {
  id: number;
  name: string;
  children: Category[];
}

function cat(id: number, name: string, children: Category[] = []): Category {
  return { id, name, children };
}

/** The category tree of the add form (level 0 to level 3; deeper levels may be empty). */
export const CATEGORIES: readonly Category[] = [
  cat(51, 'Guitars', [
    cat(83, 'Electric solid body'),
    cat(84, 'Electric hollow body', [cat(94, 'Archtop'), cat(95, 'Semi-hollow')]),
    cat(85, 'Acoustic', [cat(96, 'Flat top'), cat(97, 'Classical'), cat(98, 'Resonator')]),
  ]),
  cat(52, 'Basses', [
    cat(86, 'Electric bass', [cat(99, '4 string'), cat(100, '5 string')]),
    cat(87, 'Acoustic bass'),
  ]),
  cat(53, 'Amps', [
    cat(88, 'Guitar amps', [cat(101, 'Combo'), cat(102, 'Head'), cat(103, 'Cabinet')]),
    cat(89, 'Bass amps'),
  ]),
  cat(90, 'Effects', [cat(91, 'Fuzz'), cat(92, 'Overdrive'), cat(93, 'Delay')]),
];

/** Names from the root down to the category with this id, or undefined when unknown. */
export function categoryPath(id: number, tree: readonly Category[] = CATEGORIES): Category[] | undefined {
  for (const c of tree) {
    if (c.id === id) return [c];
    const sub = categoryPath(id, c.children);
    if (sub) return [c, ...sub];
  }
  return undefined;
}

/** `hand`: made on V&R by a person, outside vr-lister (POST /__sim/listings). */
export type Source = 'catalog' | 'form' | 'hand';

export interface Listing {
  product_id: number;
  brand_name: string;
  category_name: string;
  product_model_name: string;
  product_price: number;
  product_description: string;
  /** Raw description bytes when they are not valid UTF-8 (the export writes these). */
  description_bytes?: Buffer;
  product_year: string;
  product_finish: string;
  decade: string;
  buy_now: boolean;
  show_vat: boolean;
  local_pickup: boolean;
  available_for_shipment: boolean;
  processing_time: string;
  offer_discount: string;
  /** The add form's discounted price, as submitted ('' for catalogue rows). */
  discounted_price: string;
  product_order: string;
  image_names: string[];
  image_urls: string[];
  video_url: string;
  external_link: string;
  created_at: string;
  /** Epoch ms from which the listing is in the export; Infinity = never indexed. */
  visible_from: number;
  source: Source;
  /** Cached export line (with the trailing comma and the newline). */
  csv_line?: Buffer;
}

export const EXPORT_HEADER = Buffer.from(`${EXPORT_COLUMNS.join(',')},\n`, 'utf8');

const QUOTE = 0x22;

function needsQuoting(s: string): boolean {
  return /[",\r\n]/.test(s);
}

export function csvField(s: string): string {
  return needsQuoting(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 quoting at byte level, for fields that are not valid UTF-8. */
function csvFieldBytes(buf: Buffer): Buffer {
  let quote = false;
  let quotes = 0;
  for (const b of buf) {
    if (b === QUOTE) quotes++;
    if (b === QUOTE || b === 0x2c || b === 0x0d || b === 0x0a) quote = true;
  }
  if (!quote) return buf;
  const out = Buffer.alloc(buf.length + quotes + 2);
  let o = 0;
  out[o++] = QUOTE;
  for (const b of buf) {
    out[o++] = b;
    if (b === QUOTE) out[o++] = QUOTE;
  }
  out[o++] = QUOTE;
  return out;
}

const yn = (b: boolean) => (b ? 'yes' : 'no');

/** The listing's export line: 27 fields, a trailing comma, then "\n". */
export function csvLine(l: Listing): Buffer {
  if (l.csv_line) return l.csv_line;
  const before = [
    String(l.product_id),
    l.brand_name,
    l.category_name,
    '',
    l.product_model_name,
    String(l.product_price),
    '',
  ];
  const after = [
    l.product_year,
    'no',
    l.product_finish,
    'no',
    'yes',
    'no',
    '0',
    'no',
    yn(l.buy_now),
    yn(l.show_vat),
    l.decade,
    l.product_order,
    yn(l.local_pickup),
    yn(l.available_for_shipment),
    l.processing_time,
    l.offer_discount,
    l.image_urls.join('|'),
    l.video_url,
    l.external_link,
  ];
  const head = `${before.map(csvField).join(',')},`;
  const tail = `,${after.map(csvField).join(',')},\n`;
  const desc = l.description_bytes
    ? csvFieldBytes(l.description_bytes)
    : Buffer.from(csvField(l.product_description), 'utf8');
  l.csv_line = Buffer.concat([Buffer.from(head, 'utf8'), desc, Buffer.from(tail, 'utf8')]);
  return l.csv_line;
}

/** Byte offset, inside the line, of the middle of the (quoted) description field. */
export function descriptionMiddleOffset(l: Listing): number {
  const head = Buffer.byteLength(
    `${[String(l.product_id), l.brand_name, l.category_name, '', l.product_model_name, String(l.product_price), ''].map(csvField).join(',')},`,
    'utf8',
  );
  const descLen = l.description_bytes
    ? l.description_bytes.length
    : Buffer.byteLength(l.product_description, 'utf8');
  return head + 1 + Math.max(1, Math.floor(descLen / 2));
}

// ---------------------------------------------------------------------------
// Catalogue generation

const MODELS: Record<string, readonly string[]> = {
  Guitars: [
    'Stratocaster',
    'Telecaster',
    'Jazzmaster',
    ' Jaguar ',
    'Les Paul Standard',
    "'59 Les Paul",
    'Les Paul Custom ',
    'SG Special',
    'SG "Junior"',
    'ES-335',
    'ES-175 ',
    'Firebird V',
    'Explorer',
    '6120 Chet Atkins',
    'Duo Jet',
    '330',
    '360/12',
    'D-28',
    'D-18 ',
    '000-18',
    'J-45',
    'AC-30 Guitar',
    'Mustang',
    "Custom Shop '63 Strat",
    'Stratocaster Plus, Deluxe',
    'Model 9 MKI',
  ],
  Basses: [
    'Precision Bass',
    'Jazz Bass',
    ' Jazz Bass',
    '4001',
    '4003 ',
    'EB-3',
    'Thunderbird IV',
    'Violin Bass',
  ],
  Amps: [
    'Deluxe Reverb',
    'Twin Reverb',
    'Bassman',
    'AC30',
    'AC15 ',
    'JTM45',
    'Plexi 1959 "Super Lead"',
    'SVT',
  ],
  Effects: [
    'Fuzz Face',
    'Tone Bender MKII',
    'Big Muff',
    'Tube Screamer',
    'Centaur',
    'Echoplex EP-3',
    'Rangemaster',
    'BUZZAROUND ',
  ],
};

const FINISHES = [
  'Sunburst',
  'sunburst',
  'Olympic White',
  'Black',
  'black',
  'Cherry Red ',
  'Fiesta Red',
  'Goldtop',
  'Natural',
  'Tobacco Burst',
  'Sea Foam Green',
  'Shoreline Gold, Metallic',
  '',
];

const SENTENCES = [
  'This is a genuine example in superb condition for its age, with honest play wear on the back of the neck.',
  'The guitar&rsquo;s original finish shows light checking, and the frets have plenty of life left.',
  'It comes with its original hard case, the hang tags and a copy of the receipt from 1965.',
  'Plays beautifully with low action, a comfortable "C" neck and a warm, articulate tone.',
  'The pickups read 6.2k and 6.4k, both original and unmolested, with solder joints that look factory.',
  'We&rsquo;ve had it fully set up by our luthier: new strings, cleaned pots, polished frets.',
  'A rare find, especially in this colour, and a serious player&rsquo;s instrument, not a wall hanger.',
  'Weight is a very manageable 3.6 kg, and the neck date matches the body date, as you&rsquo;d hope.',
  'Please note: shipping is fully insured, and we ship worldwide with a tracked courier.',
  'The electronics are quiet, the switch is crisp, and the tuners hold pitch perfectly.',
  'Some finish touch-ups on the headstock, which we&rsquo;ve photographed in detail; see the pictures.',
  'Includes the "case candy": manual, strap, tremolo arm and the original warranty card.',
];

const BULLETS = [
  'Original finish',
  'All original electronics',
  'Refret in 2012, "medium jumbo" wire',
  'Bone nut, replaced',
  'Case included',
  'Neck: maple, 21 frets',
  'Certificate of authenticity',
  'As used by Jeff Beck and The Spencer Davis Group',
  'Weight: 3.6 kg, light',
  'Serial number on the headstock, 1960s',
];

function description(rng: Rng, model: string): string {
  const target = randInt(rng, 1500, 2600);
  const parts: string[] = [`<p><strong>${model.trim()}</strong></p>`];
  let len = parts[0]!.length;
  while (len < target) {
    let part: string;
    if (rng() < 0.3) {
      const n = randInt(rng, 3, 6);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(`<li>${pick(rng, BULLETS)}</li>`);
      part = `<ul>\n${items.join('\n')}\n</ul>`;
    } else {
      const n = randInt(rng, 2, 4);
      const s: string[] = [];
      for (let i = 0; i < n; i++) s.push(pick(rng, SENTENCES));
      part = `<p>${s.join(' ')}</p>`;
    }
    parts.push(part);
    len += part.length + 1;
  }
  return parts.join('\n');
}

function brandVariant(rng: Rng, name: string): string {
  const r = rng();
  if (r < 0.2) return name.toLowerCase();
  if (r < 0.27) return name.toUpperCase();
  return name;
}

const HEAVY = [
  'Fender',
  'Gibson',
  'Gretsch',
  'Rickenbacker',
  'Martin',
  'Vox',
  'Marshall',
  'Epiphone',
  'Guild',
];
const TRICKY = ['Smith, Jones & Co', 'Jimmy\'s "Custom" Amps'];

function leafPaths(tree: readonly Category[], prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const c of tree) {
    const path = [...prefix, c.name];
    if (c.children.length === 0) out.push(path);
    else out.push(...leafPaths(c.children, path));
  }
  return out;
}

const LEAVES = leafPaths(CATEGORIES);

/** The generated starting catalogue: `rows` listings, ids from about 50000, visible at once. */
export function generateCatalog(rows: number, seed: number): Listing[] {
  const rng = mulberry32(seed ^ 0x5eed1234);
  const listings: Listing[] = [];
  let id = 50000 + randInt(rng, 0, 9);
  const created = Date.UTC(2019, 0, 1);
  for (let i = 0; i < rows; i++) {
    const leaf = pick(rng, LEAVES);
    const top = leaf[0]!;
    const r = rng();
    const brand = r < 0.6 ? pick(rng, HEAVY) : r < 0.63 ? pick(rng, TRICKY) : pick(rng, BRANDS).name;
    const model = pick(rng, MODELS[top] ?? MODELS.Guitars!);
    const year = rng() < 0.15 ? '' : String(randInt(rng, 1950, 2023));
    let desc = description(rng, model);
    let bytes: Buffer | undefined;
    if (i % 97 === 13) {
      // A few rows carry bytes that are not valid UTF-8, as on the real site.
      const cut = desc.indexOf('</p>');
      const a = Buffer.from(desc.slice(0, cut), 'utf8');
      const b = Buffer.from(desc.slice(cut), 'utf8');
      bytes = Buffer.concat([a, Buffer.from([0x20, 0xe9, 0x74, 0xe9, 0x20, 0xff, 0xfe]), b]);
      desc = bytes.toString('utf8');
    }
    const images: string[] = [];
    const nImages = randInt(rng, 1, 4);
    for (let k = 0; k < nImages; k++) {
      images.push(
        `https://www.vintageandrare.com/uploads/products/${id}/${3500000 + i * 5 + k}/original.jpg`,
      );
    }
    listings.push({
      product_id: id,
      brand_name: brandVariant(rng, brand),
      category_name: leaf.join('>'),
      product_model_name: model,
      product_price: randInt(rng, 1, 400) * 50 - randInt(rng, 0, 1),
      product_description: desc,
      ...(bytes ? { description_bytes: bytes } : {}),
      product_year: year,
      product_finish: pick(rng, FINISHES),
      decade: year && rng() < 0.5 ? `${year.slice(0, 3)}0` : '',
      buy_now: true,
      show_vat: rng() < 0.3,
      local_pickup: rng() < 0.4,
      available_for_shipment: true,
      processing_time: rng() < 0.5 ? '1 Weeks' : '3 Days',
      offer_discount: pick(rng, ['0', '10', '15']),
      discounted_price: '',
      product_order: String(randInt(rng, 0, 10)),
      image_names: [],
      image_urls: images,
      video_url: rng() < 0.05 ? 'https://www.youtube.com/watch?v=kamXvqoL_JA' : '',
      external_link: rng() < 0.1 ? 'http://example-guitar-shop.co.uk' : '',
      created_at: new Date(created + i * 3_600_000).toISOString(),
      visible_from: 0,
      source: 'catalog',
    });
    id += 1 + randInt(rng, 0, 3);
  }
  return listings;
}
