/**
 * What the V&R simulator takes from the product: the category tree and the export's format. It is
 * the simulator's only way in (`vr-lister/site-data`), so no other coupling can grow.
 */
export {
  CATEGORY_SEPARATOR,
  type CategoryNode,
  leafPaths,
  resolveCategory,
  shippedCategoryTree,
} from './categories.ts';
export { EXPORT_COLUMNS } from './export-format.ts';
