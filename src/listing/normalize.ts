/**
 * Normalisation used to compare what vr-lister submitted with what comes back in the V&R export.
 * Pure functions, no I/O. Everything written into `MatchCriteria` at submit time and everything read
 * from the export go through the same functions, so both sides compare equal when they should.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_MARKER_TEMPLATE = 'Ref: {ref}';

// Characters a productRef may use (see listingSchema): a marker's ref is matched greedily on them.
const REF_BODY = '[A-Za-z0-9][A-Za-z0-9._:/#@+-]*';
const REF_CHAR = /[A-Za-z0-9._:/#@+-]/;

const WHITESPACE = /\s+/g;
const QUOTES = /['"‘’‚‛“”„‟`´′″ʼ]/g;
const NOT_WORD = /[^\p{L}\p{N}]+/gu;
// Zero-width characters and the soft hyphen: editors insert and drop them freely.
export const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;

/** Brand: case- and space-insensitive (`Fender`, ` fender `, `FEN DER` are one brand). */
export function brandKey(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(WHITESPACE, '');
}

/** Model name: quotes dropped (`'59` = `59`), other punctuation is a separator, spaces collapsed. */
export function modelKey(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(QUOTES, '').replace(NOT_WORD, ' ').trim();
}

/** Finish: normalised like a model name; nothing (null, empty, punctuation only) is null. */
export function finishKey(s: string | null | undefined): string | null {
  if (s == null) return null;
  const key = modelKey(s);
  return key === '' ? null : key;
}

// --- HTML to text ------------------------------------------------------------------------------

// Tags that separate words (block elements, line breaks, replaced elements). Every other tag is
// removed without a trace, so that an editor dropping or adding an empty <span> changes nothing.
const BLOCK_TAGS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'caption',
  'dd',
  'div',
  'dl',
  'dt',
  'embed',
  'figcaption',
  'figure',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'iframe',
  'img',
  'li',
  'main',
  'nav',
  'object',
  'ol',
  'p',
  'pre',
  'section',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
  'video',
]);

const COMMENT = /<!--[\s\S]*?(?:-->|$)|<[!?][^>]*>/g;
const TAG = /<\/?([A-Za-z][A-Za-z0-9-]*)(?:\s[^>]*)?\/?>/g;
const ENTITY = /&(?:#(\d{1,8})|#[xX]([0-9A-Fa-f]{1,7})|([A-Za-z][A-Za-z0-9]{1,31}));/g;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00A0',
  rsquo: '’',
  lsquo: '‘',
  ldquo: '“',
  rdquo: '”',
  sbquo: '‚',
  bdquo: '„',
  prime: '′',
  Prime: '″',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  bull: '•',
  middot: '·',
  laquo: '«',
  raquo: '»',
  lsaquo: '‹',
  rsaquo: '›',
  copy: '©',
  reg: '®',
  trade: '™',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  sup1: '¹',
  sup2: '²',
  sup3: '³',
  micro: 'µ',
  para: '¶',
  sect: '§',
  cent: '¢',
  pound: '£',
  euro: '€',
  yen: '¥',
  curren: '¤',
  iexcl: '¡',
  iquest: '¿',
  shy: '\u00AD',
  ensp: '\u2002',
  emsp: '\u2003',
  thinsp: '\u2009',
  zwnj: '\u200C',
  zwj: '\u200D',
  acute: '´',
  uml: '¨',
  cedil: '¸',
  ordf: 'ª',
  ordm: 'º',
  not: '¬',
  macr: '¯',
  szlig: 'ß',
  AElig: 'Æ',
  aelig: 'æ',
  Oslash: 'Ø',
  oslash: 'ø',
  Aring: 'Å',
  aring: 'å',
  ETH: 'Ð',
  eth: 'ð',
  THORN: 'Þ',
  thorn: 'þ',
  OElig: 'Œ',
  oelig: 'œ',
  Scaron: 'Š',
  scaron: 'š',
  Yuml: 'Ÿ',
  yuml: 'ÿ',
};

// Latin-1 letters with accents: &Eacute; &uuml; … (built rather than listed).
for (const [accent, pairs] of Object.entries({
  grave: 'AÀaàEÈeèIÌiìOÒoòUÙuù',
  acute: 'AÁaáEÉeéIÍiíOÓoóUÚuúYÝyý',
  circ: 'AÂaâEÊeêIÎiîOÔoôUÛuû',
  tilde: 'AÃaãNÑnñOÕoõ',
  uml: 'AÄaäEËeëIÏiïOÖoöUÜuü',
  cedil: 'CÇcç',
})) {
  for (let i = 0; i + 1 < pairs.length; i += 2) NAMED_ENTITIES[`${pairs[i]}${accent}`] = pairs[i + 1]!;
}

// HTML maps numeric references 128–159 to windows-1252, as browsers do (&#146; is ’).
const WINDOWS_1252 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

function decodeCodePoint(cp: number): string {
  if (cp >= 0x80 && cp <= 0x9f) return WINDOWS_1252[cp - 0x80] ?? '\uFFFD';
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\uFFFD';
  return String.fromCodePoint(cp);
}

function decodeEntity(match: string, dec?: string, hex?: string, name?: string): string {
  if (dec !== undefined) return decodeCodePoint(Number.parseInt(dec, 10));
  if (hex !== undefined) return decodeCodePoint(Number.parseInt(hex, 16));
  return (name !== undefined && NAMED_ENTITIES[name]) || match;
}

function blockOrInline(_tag: string, name: string): string {
  return BLOCK_TAGS.has(name.toLowerCase()) ? ' ' : '';
}

function toText(html: string, tagReplacer: (tag: string, name: string) => string): string {
  let s = html;
  if (s.includes('<')) s = s.replace(COMMENT, ' ').replace(TAG, tagReplacer);
  if (s.includes('&')) s = s.replace(ENTITY, decodeEntity);
  return s.normalize('NFKC').replace(INVISIBLE, '').replace(WHITESPACE, ' ').trim();
}

/**
 * The visible text of an HTML description, case preserved: tags removed (block tags and <br> count
 * as a space, inline tags as nothing), entities decoded, NFKC, whitespace collapsed.
 */
export function htmlToText(html: string): string {
  return toText(html, blockOrInline);
}

/** What the description hash is computed from: `htmlToText`, lower-cased. */
export function descriptionText(html: string): string {
  return htmlToText(html).toLowerCase();
}

/** sha1 (hex) of `descriptionText(html)`; null when the description has no text. */
export function descriptionHash(html: string | null | undefined): string | null {
  if (html == null) return null;
  const text = descriptionText(html);
  return text === '' ? null : createHash('sha1').update(text).digest('hex');
}

// --- fuzzy model comparison ------------------------------------------------------------------

/** Character bigrams of a key (spaces ignored), as sorted numbers, for Sørensen–Dice. */
export function bigrams(key: string): number[] {
  const s = key.replace(WHITESPACE, '');
  const out: number[] = [];
  for (let i = 0; i + 1 < s.length; i++) out.push(s.charCodeAt(i) * 65_536 + s.charCodeAt(i + 1));
  return out.sort((a, b) => a - b);
}

/** Sørensen–Dice coefficient of two sorted bigram lists (multiset intersection). */
export function diceOfBigrams(a: readonly number[], b: readonly number[]): number {
  const total = a.length + b.length;
  if (total === 0) return 1;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return (2 * common) / total;
}

/** 0..1 similarity of two model keys (Sørensen–Dice on character bigrams; 1 when equal). */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  const ba = bigrams(a);
  const bb = bigrams(b);
  if (ba.length === 0 || bb.length === 0) {
    // Keys of one character: only equality (spaces aside) counts.
    return a.replace(WHITESPACE, '') === b.replace(WHITESPACE, '') ? 1 : 0;
  }
  return diceOfBigrams(ba, bb);
}

// --- reference marker ------------------------------------------------------------------------

function splitTemplate(template: string): { prefix: string; suffix: string } {
  const at = template.indexOf('{ref}');
  if (at < 0) throw new Error(`marker template must contain {ref}: ${JSON.stringify(template)}`);
  return { prefix: template.slice(0, at), suffix: template.slice(at + '{ref}'.length) };
}

/** The literal marker text for a ref: `markerFor('Ref: {ref}', 'ABC-1')` is `Ref: ABC-1`. */
export function markerFor(template: string, ref: string): string {
  const { prefix, suffix } = splitTemplate(template);
  return `${prefix}${ref}${suffix}`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A template part as a pattern over `htmlToText` output: NFKC, any whitespace run optional. */
function partPattern(part: string): string {
  return part
    .normalize('NFKC')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '')
    .map(escapeRegExp)
    .join('\\s*');
}

/** Longest run of template characters that an HTML serialiser never encodes nor splits. */
function rawProbe(prefix: string): string {
  const runs = prefix.normalize('NFKC').match(/[A-Za-z0-9!#$%()*+,./:;=?@[\]^_{|}~-]+/g) ?? [];
  let best = '';
  for (const run of runs) if (run.length > best.length) best = run;
  return best.length >= 2 ? best : '';
}

export type MarkerExtractor = (html: string) => string[];

/**
 * Compiles a marker template once: the returned function lists every ref the description carries
 * for this template, in order, duplicates kept. It reads the text of the HTML (tags are word
 * boundaries, entities decoded, so `Ref:&nbsp;ABC` counts), and refs are taken greedily on the
 * productRef charset, so `Ref: ABC-12` never yields `ABC-1`.
 */
export function createMarkerExtractor(template: string = DEFAULT_MARKER_TEMPLATE): MarkerExtractor {
  const probe = rawProbe(splitTemplate(template).prefix);
  const pattern = markerPattern(template);
  return (html: string): string[] => {
    if (probe !== '' && !html.includes(probe)) return [];
    // Every tag separates words here: a ref must not run into the text of the next element.
    const text = toText(html, () => ' ');
    const refs: string[] = [];
    for (const m of text.matchAll(pattern)) if (m[1] !== undefined) refs.push(m[1]);
    return refs;
  };
}

/**
 * The pattern (global) that finds a template's markers in a description's text as `toText` makes it
 * (NFKC, invisible characters dropped, every tag a space); group 1 is the ref.
 */
export function markerPattern(template: string = DEFAULT_MARKER_TEMPLATE): RegExp {
  const { prefix, suffix } = splitTemplate(template);
  const prefixPattern = partPattern(prefix);
  const suffixPattern = partPattern(suffix);
  // Not inside a word: `XRef: A` is not the marker `Ref: A`.
  const before = /^[A-Za-z0-9]/.test(prefix.trim()) ? '(?<![A-Za-z0-9])' : '';
  const gap = prefixPattern !== '' && /\s$/.test(prefix) ? '\\s*' : '';
  const after = suffixPattern === '' ? '' : `${/^\s/.test(suffix) ? '\\s*' : ''}${suffixPattern}`;
  return new RegExp(`${before}${prefixPattern}${gap}(${REF_BODY})${after}`, 'g');
}

/** Every ref found in the description for this template (see `createMarkerExtractor`). */
export function extractMarkerRefs(template: string, html: string): string[] {
  return createMarkerExtractor(template)(html);
}

/** True when `c` can be part of a ref (the productRef charset). */
export function isRefChar(c: string): boolean {
  return REF_CHAR.test(c);
}
