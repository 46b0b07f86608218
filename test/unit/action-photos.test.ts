import assert from 'node:assert/strict';
import { test } from 'node:test';
import { photoDifferences, photosBefore, photosBeforeEvidence } from '../../src/creation/action-photos.ts';
import type { StoredListing } from '../../src/vr/edit-page.ts';

const shown = (ids: string[]) => ({ photoCount: ids.length, photoMediaIds: ids }) as StoredListing;

test('replace_photos: the photos before a submit, kept in evidence, read back as written', () => {
  assert.deepEqual(photosBefore(photosBeforeEvidence(['101', '102'])), ['101', '102']);
  assert.deepEqual(photosBefore(photosBeforeEvidence([])), []);
  // No earlier attempt got as far as a submit: nothing is known, nothing is assumed.
  assert.equal(photosBefore(null), undefined);
  assert.equal(photosBefore('edit page shows the asked values'), undefined);
});

test('replace_photos is proven only by exactly the asked count and none of the old photos', () => {
  assert.deepEqual(photoDifferences(shown(['201', '202', '203']), 3, ['101', '102']), []);
  assert.deepEqual(photoDifferences(shown(['101', '102']), 3, ['101', '102']), [
    '2 photo(s), asked 3',
    'old photo(s) still there (101, 102)',
  ]);
  // The new ones added but an old one not removed: not done.
  assert.deepEqual(photoDifferences(shown(['102', '201', '202']), 3, ['101', '102']), [
    'old photo(s) still there (102)',
  ]);
  assert.deepEqual(photoDifferences(shown(['201', '202']), 3, []), ['2 photo(s), asked 3']);
});
