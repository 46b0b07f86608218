import '../../vr/page-scripts/globals.ts';

/** The edit page's scripts for actions (run in V&R's page: see src/vr/page-scripts/globals.ts for their rules). */

/** Sets the description in V&R's editor, or in its textarea when the editor is absent. */
export function setDescription(html: string): void {
  const editor = window.tinymce?.get?.('item_desc');
  if (editor) {
    editor.setContent(html);
    if (typeof editor.save === 'function') editor.save();
  } else {
    const field = document.querySelector<HTMLTextAreaElement>('textarea[name="item_desc"]');
    if (field) field.value = html;
  }
}

/** The description is not sent: the editor goes, and the field loses its name. */
export function dropDescription(): void {
  try {
    window.tinymce?.remove?.('#item_desc');
  } catch {
    // An editor that can't be removed: the field below loses its name all the same.
  }
  document.querySelector('[name="item_desc"]')?.removeAttribute('name');
}

/** One hidden `delete_item_images[]` per photo to remove, in form#frm_step1. */
export function markPhotosDeleted(ids: string[]): void {
  const form = document.querySelector('form#frm_step1');
  for (const id of ids) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'delete_item_images[]';
    input.value = id;
    form?.appendChild(input);
  }
}
