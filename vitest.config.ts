import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Node reads the tuning cache by default (loadModel's `tuning`); tests get an empty one of their own, so a
// developer's `effnet tune` never changes what they run. CLI children inherit it.
process.env.EFFNET_TUNING_DIR = mkdtempSync(join(tmpdir(), 'effnet-tuning-'));

export default defineConfig({
  plugins: [
    {
      // Same contract as esbuild's `text` loader in tools/build.mjs: a .wgsl import is its source text.
      name: 'wgsl-text',
      transform(code: string, id: string) {
        if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
        return undefined;
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // One GPU process at a time: SwiftShader already uses every core, and two Chromium instances would fight.
    fileParallelism: false,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
