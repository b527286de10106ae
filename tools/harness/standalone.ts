/**
 * What every standalone HTML report (effnet profile, effnet bench) needs to open from file:// with no
 * network: its data and its page script (a bundle tools/build.mjs wrote to dist/browser/) inlined, neither
 * able to close its <script> element early.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BROWSER_DIST } from './paths.js';

export const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON for a `<script type="application/json">` element: `<` escaped, so no string in it ends the element. */
export const scriptJson = (data: unknown): string => JSON.stringify(data).replace(/</g, '\\u003c');

/** The bundle dist/browser/<name>, ready to sit inside a `<script>` element. */
export async function inlineBundle(name: string): Promise<string> {
  const path = join(BROWSER_DIST, name);
  const bundle = await readFile(path, 'utf8').catch(() => {
    throw new Error(`${path} is missing: build it with node tools/build.mjs`);
  });
  return bundle.replace(/<\/script/gi, '<\\/script');
}
