import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  brandKey,
  createMarkerExtractor,
  DEFAULT_MARKER_TEMPLATE,
  descriptionHash,
  descriptionText,
  extractMarkerRefs,
  finishKey,
  htmlToText,
  markerFor,
  modelKey,
  similarity,
} from '../../src/listing/normalize.ts';

test('brandKey ignores case, padding and inner spaces', () => {
  const table: Array<[string, string]> = [
    ['Fender', 'fender'],
    ['fender', 'fender'],
    [' fender ', 'fender'],
    ['FEN DER', 'fender'],
    ['Gibson\u00A0', 'gibson'],
    ['Ｆｅｎｄｅｒ', 'fender'], // full-width (NFKC)
    ['British Pedal Company', 'britishpedalcompany'],
    ['Smith, Jones & "Co"', 'smith,jones&"co"'],
  ];
  for (const [input, expected] of table) assert.equal(brandKey(input), expected, input);
  assert.notEqual(brandKey('Fender'), brandKey('Fendr'));
});

test('modelKey drops quotes, turns punctuation into spaces and trims', () => {
  const table: Array<[string, string]> = [
    ["'59 Les Paul", '59 les paul'],
    ['‘59 Les Paul', '59 les paul'],
    ['’59 Les Paul ', '59 les paul'],
    ['"59" Les  Paul', '59 les paul'],
    ['  Stratocaster  ', 'stratocaster'],
    ['PROFESSIONAL MK11 TONE BENDER OC75 ', 'professional mk11 tone bender oc75'],
    ['ES-335/TD', 'es 335 td'],
    ["Players' Strat", 'players strat'],
    ['Jazz Bass (1962)', 'jazz bass 1962'],
    ['', ''],
  ];
  for (const [input, expected] of table) assert.equal(modelKey(input), expected, input);
});

test('finishKey is a model key, null when there is nothing', () => {
  assert.equal(finishKey('Folded Metal Casing '), 'folded metal casing');
  assert.equal(finishKey('3-Tone Sunburst'), '3 tone sunburst');
  assert.equal(finishKey(''), null);
  assert.equal(finishKey('  '), null);
  assert.equal(finishKey('--'), null);
  assert.equal(finishKey(null), null);
  assert.equal(finishKey(undefined), null);
});

test('descriptionText strips tags, decodes entities, collapses whitespace, lower-cases', () => {
  assert.equal(
    descriptionText(
      '<p>It&rsquo;s a <strong>1959</strong>&nbsp;Les Paul</p>\n<ul><li>One</li><li>Two</li></ul>',
    ),
    'it’s a 1959 les paul one two',
  );
  assert.equal(descriptionText('a<br>b<br/>c<br />d'), 'a b c d');
  assert.equal(
    descriptionText('&lt;p&gt; &amp;amp; &#x41;&#66; &#146; &unknown;'),
    '<p> &amp; ab ’ &unknown;',
  );
  assert.equal(descriptionText('3 < 4 and 5 > 2'), '3 < 4 and 5 > 2');
  assert.equal(descriptionText('<!-- note -->Hello'), 'hello');
  assert.equal(descriptionText('   '), '');
});

test('descriptionText is stable under browser re-serialisation of the same HTML', () => {
  const original =
    "<p><strong>BPC Tone Bender</strong></p>\n<p>OC75&rsquo;s or OC81D &ldquo;transistors&rdquo; &amp; more</p>\n<ul>\n<li>Aluminum</li>\n<li>Level &amp; Attack</li>\n</ul><p><a href=x title='y'>link</a></p>";
  const variants = [
    // literal characters instead of entities, attributes re-quoted, no whitespace between blocks
    '<p><strong>BPC Tone Bender</strong></p><p>OC75’s or OC81D “transistors” &amp; more</p><ul><li>Aluminum</li><li>Level &amp; Attack</li></ul><p><a href="x" title="y">link</a></p>',
    // indentation, upper-case tags, numeric entities, an empty inline element, a zero-width space
    '<P>\n  <STRONG>BPC Tone Bender</STRONG>\n</P>\n<p>OC75&#8217;s or OC81D &#x201C;transistors&#x201D; &#38; more<span></span></p>\n<ul>\n  <li>Aluminum\u200B</li>\n  <li>Level &amp; Attack</li>\n</ul>\n<p><a title="y" href="x">link</a></p>\n',
    // non-breaking spaces written either way
    '<p><strong>BPC\u00A0Tone Bender</strong></p><p>OC75’s or OC81D “transistors” &amp; more</p><ul><li>Aluminum</li><li>Level &amp; Attack</li></ul><p><a href="x" title="y">link</a></p>',
  ];
  const expected = descriptionText(original);
  assert.equal(expected, 'bpc tone bender oc75’s or oc81d “transistors” & more aluminum level & attack link');
  for (const v of variants) {
    assert.equal(descriptionText(v), expected, v);
    assert.equal(descriptionHash(v), descriptionHash(original));
  }
});

test('descriptionHash is sha1 of the text, null when empty', () => {
  const text = descriptionText('<p>Hello&nbsp;World</p>');
  assert.equal(descriptionHash('<p>Hello&nbsp;World</p>'), createHash('sha1').update(text).digest('hex'));
  assert.match(descriptionHash('x') ?? '', /^[0-9a-f]{40}$/);
  assert.equal(descriptionHash(''), null);
  assert.equal(descriptionHash('<p>&nbsp;</p><br>'), null);
  assert.equal(descriptionHash(null), null);
  assert.notEqual(descriptionHash('<p>a</p>'), descriptionHash('<p>b</p>'));
});

test('similarity: 1 for equal keys, high for near misses, low for different models', () => {
  assert.equal(similarity('stratocaster', 'stratocaster'), 1);
  assert.ok(similarity('stratocaster', 'stratocastr') >= 0.85);
  assert.ok(similarity('59 les paul', 'les paul 59') >= 0.85);
  assert.ok(similarity('stratocaster', 'telecaster') < 0.85);
  assert.ok(similarity('jazz bass', 'precision bass') < 0.85);
  assert.equal(similarity('a', 'b'), 0);
  assert.equal(similarity('', ''), 1);
  const s = similarity('les paul standard', 'les paul custom');
  assert.ok(s >= 0 && s <= 1);
});

test('markerFor fills the template', () => {
  assert.equal(markerFor(DEFAULT_MARKER_TEMPLATE, 'ABC-1'), 'Ref: ABC-1');
  assert.equal(markerFor('[vr:{ref}]', 'x.1'), '[vr:x.1]');
  assert.throws(() => markerFor('no placeholder', 'x'));
});

test('extractMarkerRefs finds refs on token boundaries, in raw and entity-encoded HTML', () => {
  const t = DEFAULT_MARKER_TEMPLATE;
  const table: Array<[string, string[]]> = [
    ['<p>Nice guitar</p><p>Ref: ABC-1</p>', ['ABC-1']],
    ['<p>Ref:&nbsp;ABC-1</p>', ['ABC-1']],
    ['<p>Ref:&#160;ABC-1</p>', ['ABC-1']],
    ['<p>Ref:\u00A0ABC-1</p>', ['ABC-1']],
    ['<p>Ref:  \n ABC-1</p>', ['ABC-1']],
    ['<p>Ref: ABC-12</p>', ['ABC-12']],
    ['<p>Ref: <strong>ABC-1</strong></p>', ['ABC-1']],
    ['<p>Ref: ABC-1</p><p>Ref: XYZ/2#b@c+d_e:f.g</p>', ['ABC-1', 'XYZ/2#b@c+d_e:f.g']],
    ['<p>Ref: ABC-1<br>more</p>', ['ABC-1']],
    ['<p>Ref: ABC-1</p>More text', ['ABC-1']],
    ['<p>XRef: ABC-1</p>', []],
    ['<p>Ref: -ABC</p>', []],
    ['<p>Reference: ABC</p>', []],
    ['<p>No marker</p>', []],
    ['', []],
  ];
  const extract = createMarkerExtractor(t);
  for (const [html, expected] of table) {
    assert.deepEqual(extract(html), expected, html);
    assert.deepEqual(extractMarkerRefs(t, html), expected, html);
  }
  assert.ok(!extract('<p>Ref: ABC-12</p>').includes('ABC-1'));
});

test('extractMarkerRefs works with other templates', () => {
  assert.deepEqual(extractMarkerRefs('[vr:{ref}]', '<p>foo [vr:AB#1] bar [vr:C]</p>'), ['AB#1', 'C']);
  assert.deepEqual(extractMarkerRefs('vr-lister #{ref}', '<p>vr-lister&nbsp;#Q7</p>'), ['Q7']);
  assert.deepEqual(extractMarkerRefs("Seller's ref {ref}", '<p>Seller&#39;s ref K-9</p>'), ['K-9']);
  assert.deepEqual(extractMarkerRefs("Seller's ref {ref}", '<p>Seller’s ref K-9</p>'), []);
});

test('htmlToText keeps case (markers and refs are case-sensitive)', () => {
  assert.equal(htmlToText('<p>Ref:&nbsp;AbC</p>'), 'Ref: AbC');
});
