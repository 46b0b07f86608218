/**
 * A seller's description is HTML for V&R, never code for our logged-in browser: it is cleaned to a
 * short allow-list at enqueue, so that what is stored is what is sent and what the resolver matches.
 */
import sanitizeHtml from 'sanitize-html';
import { createMarkerExtractor, INVISIBLE, markerFor, markerPattern } from './normalize.ts';

/** The markup a description keeps; everything else goes, its text kept (script and style go whole). */
export const DESCRIPTION_TAGS = [
  'p',
  'br',
  'strong',
  'b',
  'em',
  'i',
  'u',
  'ul',
  'ol',
  'li',
  'h3',
  'h4',
  'small',
  'blockquote',
  'a',
] as const;

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [...DESCRIPTION_TAGS],
  allowedAttributes: { a: ['href'] },
  allowedSchemes: ['http', 'https'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Deeper markup is no description's; the limit also keeps cleaning linear on hostile input.
  nestingLimit: 20,
  // Headings keep a heading's weight; block containers become a line break, so words don't run together.
  transformTags: {
    h1: 'h3',
    h2: 'h3',
    h5: 'h4',
    h6: 'h4',
    div: 'br',
    hr: 'br',
    tr: 'br',
    td: 'br',
    th: 'br',
  },
};

/**
 * The description as V&R gets it: only DESCRIPTION_TAGS, links only to http(s), no attribute but
 * `href`, no comment, every element closed. Running it again changes nothing.
 */
export function sanitizeDescription(html: string): string {
  // Dropping a tag can change how the rest nests (`<li><div><li>`), so the result is cleaned again
  // until it stays the same: what is stored must be what a second cleaning would give.
  let current = sanitizeHtml(html, SANITIZE);
  for (let round = 0; round < 5; round++) {
    const again = sanitizeHtml(current, SANITIZE);
    if (again === current) return current;
    current = again;
  }
  return current;
}

// sanitize-html's output escapes exactly these in text, and never leaves a `>` inside a tag.
const ESCAPED = /&(amp|lt|gt|quot);/g;
const UNESCAPE: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
const unescapeText = (text: string) => text.replace(ESCAPED, (_, name: string) => UNESCAPE[name]!);
const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A ref no seller text can be confused with: stands for the marker vr-lister appends. */
const SENTINEL_REF = 'X0';

/** One character of the normalised text, and where it came from: [text segment, start, end) or none. */
type Origin = readonly [segment: number, start: number, end: number] | null;

/**
 * Removes from a sanitised description every piece of text that reads as a reference marker for
 * this template (as the resolver reads it: across tags, entities decoded, NFKC), including text
 * that would run into the marker vr-lister appends. Another product's marker in a seller's text
 * would otherwise make this listing's row a candidate for that product.
 * Returns undefined when such text remains after removal (the caller refuses the description).
 */
export function withoutMarkers(html: string, template: string): string | undefined {
  const pattern = markerPattern(template);
  const sentinel = markerFor(template, SENTINEL_REF);
  const extract = createMarkerExtractor(template);
  let current = html;
  for (let round = 0; round < 5; round++) {
    const segments = current.split(/(<[^>]*>)/);
    const texts = segments.map((s, i) => (i % 2 === 0 ? unescapeText(s) : s));
    let text = '';
    const origins: Origin[] = [];
    texts.forEach((segment, index) => {
      if (index % 2 === 1) {
        // A tag separates words, as it does for the resolver.
        text += ' ';
        origins.push(null);
        return;
      }
      let at = 0;
      for (const char of segment) {
        const visible = char.normalize('NFKC').replace(INVISIBLE, '');
        for (let k = 0; k < visible.length; k++) origins.push([index, at, at + char.length]);
        text += visible;
        at += char.length;
      }
    });
    // The marker vr-lister appends, in its own paragraph: seller text must not run into it either.
    text += ` ${sentinel}`;
    const removals = new Map<number, [number, number][]>();
    for (const match of text.matchAll(pattern)) {
      const start = match.index;
      for (let i = start; i < start + match[0].length && i < origins.length; i++) {
        const origin = origins[i];
        if (!origin) continue;
        const [segment, from, to] = origin;
        const ranges = removals.get(segment) ?? [];
        const last = ranges.at(-1);
        if (last && from <= last[1]) last[1] = Math.max(last[1], to);
        else ranges.push([from, to]);
        removals.set(segment, ranges);
      }
    }
    if (removals.size === 0) {
      // The resolver's own reading has the last word (it normalises the text as a whole).
      const refs = extract(`${current}\n<p><small>${sentinel}</small></p>`);
      return refs.length === 1 && refs[0] === SENTINEL_REF ? current : undefined;
    }
    current = sanitizeDescription(
      texts
        .map((segment, index) => {
          if (index % 2 === 1) return segment;
          const ranges = removals.get(index);
          if (!ranges) return escapeText(segment);
          let kept = '';
          let from = 0;
          for (const [start, end] of ranges) {
            kept += segment.slice(from, start);
            from = end;
          }
          return escapeText(kept + segment.slice(from));
        })
        .join(''),
    );
  }
  return undefined;
}
