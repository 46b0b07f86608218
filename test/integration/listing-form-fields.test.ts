import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import {
  completeListing,
  parseProcessingTime,
  ValidationError,
  validateListing,
} from '../../src/listing/listing.ts';
import { readListingsFile } from '../../src/producer/input-file.ts';
import {
  type CategoryNode,
  diffCategoryTrees,
  leafPaths,
  shippedCategoryTree,
} from '../../src/vr/categories.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

const base = { productRef: 'F-1', brand: 'Fender', model: 'Strat', price: 100 };

function refused(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.errors;
  }
  assert.fail('accepted');
}

describe('the form fields of a listing', () => {
  test('category: a leaf, in the tree spelling; a default only when none is given', () => {
    const l = validateListing({ ...base, category: ' amps >  COMBO', shipping: { localPickup: true } }, {});
    assert.equal(l.category, 'Amps>Combo');
    const d = validateListing({ ...base, shipping: { localPickup: true } }, { category: 'Effects>Fuzz' });
    assert.equal(d.category, 'Effects>Fuzz');
    const [e] = refused(() =>
      validateListing({ ...base, category: 'Guitars>Lefthands', shipping: { localPickup: true } }, {}),
    );
    assert.equal(e!.field, 'category');
    assert.match(
      e!.message,
      /not a leaf category: choose one of Guitars>Lefthands>Electric Solid Body \(LH\)/,
    );
  });

  test('shipping: fees and pickup per part, defaults for what is left out, none at all refused', () => {
    const defaults = { category: 'Amps>Combo', shippingFees: { uk: 75, world: 150 }, localPickup: true };
    assert.deepEqual(validateListing(base, defaults).shipping, {
      fees: { uk: 75, world: 150 },
      localPickup: true,
    });
    assert.deepEqual(validateListing({ ...base, shipping: { fees: { usa: 9 } } }, defaults).shipping, {
      fees: { usa: 9 },
      localPickup: true,
    });
    assert.deepEqual(
      validateListing({ ...base, shipping: { fees: {}, localPickup: true } }, defaults).shipping,
      {
        fees: {},
        localPickup: true,
      },
    );
    const [none] = refused(() =>
      validateListing({ ...base, shipping: { fees: {}, localPickup: false } }, defaults),
    );
    assert.equal(none!.field, 'shipping');
    const [region] = refused(() => validateListing({ ...base, shipping: { fees: { mars: 1 } } }, defaults));
    assert.equal(region!.field, 'shipping.fees.mars');
    assert.match(region!.message, /regions are uk, europe, usa, world/);
    const [fee] = refused(() => validateListing({ ...base, shipping: { fees: { uk: 1.5 } } }, defaults));
    assert.equal(fee!.field, 'shipping.fees.uk');
    // Without defaults, the shape alone is checked (as limits tests do).
    assert.equal(validateListing(base).shipping, undefined);
    assert.equal(
      completeListing(validateListing({ ...base, category: 'Amps>Combo', shipping: { localPickup: true } }))
        .category,
      'Amps>Combo',
    );
  });

  test('processing time and flags', () => {
    assert.deepEqual(parseProcessingTime('2 weeks'), { amount: 2, unit: 'Weeks' });
    assert.deepEqual(parseProcessingTime('1month'), { amount: 1, unit: 'Months' });
    assert.equal(validateListing({ ...base, processingTime: '5 days' }).processingTime, '5 Days');
    for (const bad of ['0 days', 'soon', '3 years', '400 days']) {
      const [e] = refused(() => validateListing({ ...base, processingTime: bad }));
      assert.equal(e!.field, 'processingTime', bad);
    }
    const [flag] = refused(() => validateListing({ ...base, showVat: 'yes' }));
    assert.equal(flag!.field, 'showVat');
  });

  test('bad settings stop start-up naming the variable', () => {
    const bad = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
      );
    bad({ VR_SHIPPING_FEES: 'uk=75,moon=3' }, /VR_SHIPPING_FEES: must be region=fee pairs.*got "moon=3"/);
    bad({ VR_SHIPPING_FEES: 'uk=1,uk=2' }, /VR_SHIPPING_FEES: names uk twice/);
    bad(
      { VR_DEFAULT_CATEGORY: 'Basses' },
      /VR_DEFAULT_CATEGORY: is not a leaf category: choose one of Basses>4 string/,
    );
    bad({ VR_LOCAL_PICKUP: 'maybe' }, /VR_LOCAL_PICKUP: must be on or off/);
    bad({ ARTIFACTS_RETENTION_DAYS: '0' }, /ARTIFACTS_RETENTION_DAYS/);
    const good = loadConfig({
      VR_SHIPPING_FEES: 'uk=75, europe=50,usa=100,world=150',
      VR_DEFAULT_CATEGORY: 'guitars>flat TOP',
      VR_LOCAL_PICKUP: 'on',
    });
    assert.deepEqual(good.listingDefaults, {
      category: 'Guitars>Flat top',
      shippingFees: { uk: 75, europe: 50, usa: 100, world: 150 },
      localPickup: true,
    });
    assert.equal(good.artifactsRetentionDays, 7);
  });

  test('CSV columns shipping.uk … shipping.localPickup and the flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vr-csv-'));
    try {
      const file = join(dir, 'l.csv');
      await writeFile(
        file,
        'productRef,brand,model,price,category,shipping.uk,shipping.world,shipping.localPickup,processingTime,buyNow,showVat\n' +
          'C-1,Fender,Strat,100,Amps>Combo,40,150,yes,2 Weeks,no,1\n' +
          'C-2,Fender,Strat,100,Amps>Combo,,,,,,\n',
      );
      const [one, two] = await readListingsFile(file);
      assert.deepEqual(one, {
        productRef: 'C-1',
        brand: 'Fender',
        model: 'Strat',
        price: 100,
        category: 'Amps>Combo',
        shipping: { localPickup: true, fees: { uk: 40, world: 150 } },
        processingTime: '2 Weeks',
        buyNow: false,
        showVat: true,
      });
      assert.equal((two as Record<string, unknown>).shipping, undefined, 'no shipping columns: the defaults');
      assert.ok(validateListing(one, {}));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('trees compared by leaf path and id', () => {
    const tree: CategoryNode[] = [
      { id: 1, name: 'A', children: [{ id: 2, name: 'B', children: [] }] },
      { id: 3, name: 'C', children: [] },
    ];
    const live: CategoryNode[] = [
      {
        id: 1,
        name: 'A',
        children: [
          { id: 9, name: 'B', children: [] },
          { id: 4, name: 'D', children: [] },
        ],
      },
    ];
    assert.deepEqual(diffCategoryTrees(tree, live), {
      added: ['A>D'],
      removed: ['C'],
      renumbered: [{ path: 'A>B', from: 2, to: 9 }],
    });
  });
});

describe('vr-lister categories', () => {
  let services: TestServices;
  let sim: Simulator;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 10, seed: 3, ...FAST_SITE });
  });

  after(async () => {
    await sim.close();
    await services.cleanup();
  });

  test('lists the shipped leaves, or the tree as JSON', async () => {
    const text = await runCli(['categories'], services.env());
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.trim().split('\n'), leafPaths(shippedCategoryTree()));
    const json = await runCli(['categories', '--json'], services.env());
    assert.deepEqual(JSON.parse(json.stdout), shippedCategoryTree());
  });

  test('--refresh --json reads the live cascade through the gate: the same 185 leaves and ids', async () => {
    assert.notEqual(sim.state().cloudflare, 'off');
    const result = await runCli(
      ['categories', '--refresh', '--json'],
      services.env({ VR_BASE_URL: sim.url, VR_USERNAME: 'demo', VR_PASSWORD: 'demo' }),
    );
    assert.equal(result.code, 0, result.stderr);
    const live = JSON.parse(result.stdout) as CategoryNode[];
    assert.equal(leafPaths(live).length, 185);
    assert.deepEqual(diffCategoryTrees(shippedCategoryTree(), live), {
      added: [],
      removed: [],
      renumbered: [],
    });
    assert.deepEqual(live, shippedCategoryTree());
  });
});
