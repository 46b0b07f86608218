/**
 * Brands the simulated V&R brand check accepts. Fender (383), Gibson (452) and
 * PRS Paul Reed Smith (1656) carry the real V&R ids; the other ids are made up.
 */
export interface Brand {
  id: number;
  name: string;
}

const NAMES: readonly string[] = [
  'Gretsch',
  'Rickenbacker',
  'Martin',
  'Vox',
  'Marshall',
  'Ibanez',
  'Epiphone',
  'Guild',
  'Taylor',
  'Yamaha',
  'Squier',
  'Danelectro',
  'Harmony',
  'Kay',
  'Silvertone',
  'National',
  'Dobro',
  'Mosrite',
  'Hofner',
  'Hagstrom',
  'Burns',
  'Framus',
  'Hopf',
  'Eko',
  'Teisco',
  'Guyatone',
  'Airline',
  'Supro',
  'Valco',
  'Magnatone',
  'Ampeg',
  'Hiwatt',
  'Orange',
  'Sound City',
  'Laney',
  'Selmer',
  'WEM',
  'Watkins',
  'Carlsbro',
  'Mesa Boogie',
  'Peavey',
  'Music Man',
  'Ernie Ball Music Man',
  'G&L',
  'Schecter',
  'Jackson',
  'Charvel',
  'Kramer',
  'Hamer',
  'B.C. Rich',
  'Dean',
  'ESP',
  'Washburn',
  'Aria',
  'Greco',
  'Tokai',
  'Fernandes',
  'Yamaha Pacifica',
  'Godin',
  'Larrivee',
  'Collings',
  'Santa Cruz',
  'Lowden',
  'Furch',
  'Takamine',
  'Ovation',
  'Alvarez',
  'Gallagher',
  'Bourgeois',
  'Huss & Dalton',
  'Eastman',
  'Heritage',
  "D'Angelico",
  "D'Aquisto",
  'Benedetto',
  'Stromberg',
  'Epiphone Masterbilt',
  'Steinberger',
  'Parker',
  'Suhr',
  'Tom Anderson',
  'James Tyler',
  'Grosh',
  'Nash',
  'Fano',
  'Fodera',
  'Sadowsky',
  'Alembic',
  'Warwick',
  'Spector',
  'Lakland',
  'Wal',
  'Status Graphite',
  'Trace Elliot',
  'Ashdown',
  'Ampeg SVT',
  'Acoustic Control Corp',
  'Sunn',
  'Univox',
  'Electro-Harmonix',
  'MXR',
  'Boss',
  'Dunlop',
  'Maestro',
  'Fulltone',
  'Analogman',
  'Klon',
  'Ibanez Tube Screamer',
  'ProCo',
  'Z.Vex',
  'Strymon',
  'Eventide',
  'TC Electronic',
  'Roland',
  'Korg',
  'Moog',
  'ARP',
  'Sequential Circuits',
  'Oberheim',
  'Hammond',
  'Leslie',
  'Wurlitzer',
  'Rhodes',
  'Hohner',
  'Polivoks',
  'Ludwig',
  'Slingerland',
  'Rogers',
  'Gretsch Drums',
  'Premier',
  'Sonor',
  'Zildjian',
  'Paiste',
  'Dallas Arbiter',
  'British Pedal Company',
  'Sola Sound',
  'Colorsound',
  'Matchless',
  'Dr. Z',
  'Bad Cat',
  'Two-Rock',
  'Dumble',
  'Friedman',
  'Bogner',
  'Soldano',
  'Diezel',
  'Engl',
  'Victoria',
  'Carr',
  'Morgan',
  'Goodsell',
  'Supro USA',
  'Airline USA',
  'Chris Larsen',
  'Girlbrand',
  'Veleno',
  'Travis Bean',
  'Zemaitis',
  'Dan Armstrong',
  'Ampeg Dan Armstrong',
  'Smith, Jones & Co',
  'Jimmy\'s "Custom" Amps',
  "O'Hagan",
  'Unbranded',
];

function buildBrands(): Brand[] {
  const brands: Brand[] = [
    { id: 383, name: 'Fender' },
    { id: 452, name: 'Gibson' },
    { id: 1656, name: 'PRS Paul Reed Smith' },
  ];
  let id = 2001;
  for (const name of NAMES) {
    brands.push({ id, name });
    id += 7;
  }
  return brands;
}

export const BRANDS: readonly Brand[] = buildBrands();

const byKey = new Map<string, Brand>(BRANDS.map((b) => [brandKey(b.name), b]));

/** Case-insensitive and surrounding-space-insensitive key for exact brand matching. */
export function brandKey(name: string): string {
  return name.trim().toLowerCase();
}

export function findBrand(name: string): Brand | undefined {
  return byKey.get(brandKey(name));
}

/** Up to `limit` brands: names starting with `str` first, then names containing it. */
export function suggestBrands(str: string, limit = 10): Brand[] {
  const q = brandKey(str);
  if (q === '') return [];
  const starts: Brand[] = [];
  const contains: Brand[] = [];
  for (const b of BRANDS) {
    const key = b.name.toLowerCase();
    if (key.startsWith(q)) starts.push(b);
    else if (key.includes(q)) contains.push(b);
  }
  const byName = (a: Brand, b: Brand) => a.name.localeCompare(b.name);
  return [...starts.sort(byName), ...contains.sort(byName)].slice(0, limit);
}
