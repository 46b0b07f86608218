import { type CategoryNode, EXPORT_COLUMNS, leafPaths, shippedCategoryTree } from 'vr-lister/site-data';
import { BRANDS } from './brands.ts';
import { csvRecord } from './csv.ts';
import { mulberry32, pick, type Rng, randInt } from './prng.ts';

/** Where a listing came from: the generated catalogue, the add form, or `POST /__sim/listings` (by hand). */
export type Source = 'catalog' | 'form' | 'hand';

export type Region = 'uk' | 'europe' | 'usa' | 'world';
export const REGIONS: readonly Region[] = ['uk', 'europe', 'usa', 'world'];

/** A photo as Dropzone uploaded it and the Publish POST attached it. */
export interface Photo {
  file_unique_id: string;
  /** The name of the file the seller chose (`original_name[]`). */
  name: string;
  /** The name the site stored it under. */
  stored_name: string;
  bytes: number;
  /** Sniffed from the bytes: image/jpeg, image/png, image/gif, image/webp or application/octet-stream. */
  type: string;
  /**
   * The stored photo's id, as the edit page shows it (`data-product_media_id`) and
   * `delete_item_images[]` names it; given by the store when the photo is stored.
   */
  media_id?: number;
}

export interface Listing {
  product_id: number;
  brand_name: string;
  category_name: string;
  /** Category ids from the top level down to the leaf (empty for catalogue rows). */
  category_ids: number[];
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
  call_price: boolean;
  local_pickup: boolean;
  available_for_shipment: boolean;
  /** Fees per region as submitted; a region removed from the form is absent. */
  shipping_fees: Partial<Record<Region, number>>;
  processing_time: string;
  offer_discount: string;
  /** The add form's discounted price, as submitted ('' for catalogue rows). */
  discounted_price: string;
  external_url: string;
  product_order: string;
  photos: Photo[];
  image_urls: string[];
  video_url: string;
  external_link: string;
  created_at: string;
  /** Epoch ms from which the listing is in the export; Infinity = never indexed. */
  visible_from: number;
  source: Source;
  /** Marked sold (`/ajax/mark_as_sold/…`); the export says `product_sold` yes. */
  sold?: boolean;
  /** Deleted (`/ajax/delete_item`): gone from the export. */
  deleted?: boolean;
}

const yn = (b: boolean) => (b ? 'yes' : 'no');

/** The listing's value for each export column (raw bytes for a description that is not valid UTF-8). */
export function exportValues(l: Listing): Record<(typeof EXPORT_COLUMNS)[number], string | Buffer> {
  return {
    product_id: String(l.product_id),
    brand_name: l.brand_name,
    category_name: l.category_name,
    external_id: '',
    product_model_name: l.product_model_name,
    product_price: String(l.product_price),
    product_price_notax: '',
    product_description: l.description_bytes ?? l.product_description,
    product_year: l.product_year,
    product_sold: yn(l.sold === true),
    product_finish: l.product_finish,
    product_in_collective: 'no',
    product_in_inventory: 'yes',
    product_in_reseller: 'no',
    collective_discount: '0',
    free_shipping: 'no',
    buy_now: yn(l.buy_now),
    show_vat: yn(l.show_vat),
    decade: l.decade,
    product_order: l.product_order,
    local_pickup: yn(l.local_pickup),
    available_for_shipment: yn(l.available_for_shipment),
    processing_time: l.processing_time,
    offer_discount: l.offer_discount,
    image_url: l.image_urls.join('|'),
    video_url: l.video_url,
    external_link: l.external_link,
  };
}

/** The default export's header (variant 0: the sample's spelling and order, a trailing comma, CRLF). */
export const EXPORT_HEADER = csvRecord(EXPORT_COLUMNS, true);

/** The listing's line in the default export (variant 0). */
export function csvLine(l: Listing): Buffer {
  const values = exportValues(l);
  return csvRecord(
    EXPORT_COLUMNS.map((c) => values[c]),
    true,
  );
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

/** Leaves of the shipped tree, mostly guitars, basses, amps and effects as in a real shop's stock. */
function catalogLeaves(tree: readonly CategoryNode[]): { common: string[][]; other: string[][] } {
  const common: string[][] = [];
  const other: string[][] = [];
  for (const path of leafPaths(tree)) {
    const parts = path.split('>');
    (MODELS[parts[0]!] ? common : other).push(parts);
  }
  return { common, other };
}

const OTHER_MODELS = ['Vintage', 'Custom', 'Standard', 'Deluxe ', 'Professional', "'60s Reissue"];

/** The generated starting catalogue: `rows` listings, ids from about 50000, visible at once. */
export function generateCatalog(rows: number, seed: number): Listing[] {
  const rng = mulberry32(seed ^ 0x5eed1234);
  const listings: Listing[] = [];
  const leaves = catalogLeaves(shippedCategoryTree());
  let id = 50000 + randInt(rng, 0, 9);
  const created = Date.UTC(2019, 0, 1);
  for (let i = 0; i < rows; i++) {
    const leaf = pick(rng, rng() < 0.9 ? leaves.common : leaves.other);
    const top = leaf[0]!;
    const r = rng();
    const brand = r < 0.6 ? pick(rng, HEAVY) : r < 0.63 ? pick(rng, TRICKY) : pick(rng, BRANDS).name;
    const model = pick(rng, MODELS[top] ?? OTHER_MODELS);
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
      category_ids: [],
      product_model_name: model,
      product_price: randInt(rng, 1, 400) * 50 - randInt(rng, 0, 1),
      product_description: desc,
      ...(bytes ? { description_bytes: bytes } : {}),
      product_year: year,
      product_finish: pick(rng, FINISHES),
      decade: year && rng() < 0.5 ? `${year.slice(0, 3)}0` : '',
      buy_now: true,
      show_vat: rng() < 0.3,
      call_price: false,
      local_pickup: rng() < 0.4,
      available_for_shipment: true,
      shipping_fees: {},
      processing_time: rng() < 0.05 ? '1 Weeks' : '3 Days',
      offer_discount: pick(rng, ['0', '10', '15']),
      discounted_price: '',
      external_url: '',
      product_order: String(randInt(rng, 0, 10)),
      photos: [],
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
