/**
 * The import rules of src/README.md ("Folders and what they may import"), checked by `npm run deps` (part of
 * `npm test`, so CI enforces them). Type-only imports are left out (tsPreCompilationDeps: false): they vanish
 * from the build, so they can neither tie module initialisation in a knot nor ship anything, and the table itself
 * allows type imports against the folder order (model/ takes types from runtime/graph.ts).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment: 'Each folder of src/ is one unit: no chain of imports may lead from one folder back to itself through another.',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/[^/]+$', circular: true },
    },
    {
      name: 'no-module-cycle',
      severity: 'error',
      comment: 'No module imports itself through others, within a folder or across (the files directly in src/ included).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wgsl-is-a-leaf',
      severity: 'error',
      comment: 'kernels/ holds WGSL only; the engine reads it, it reads nothing of the engine.',
      from: { path: '^kernels/' },
      to: {},
    },
    {
      name: 'shipped-code-stays-shipped',
      severity: 'error',
      comment: 'src/ and tools/ are published (dist/): they may not reach into bench/, test/ or the checkout-only ../shared data.',
      from: { path: '^(src|tools)/' },
      to: { path: '^(bench|test)/|^\\.\\./shared/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|test/consumer)/' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.test.json' },
    // `.wgsl` files are imported as text (esbuild's text loader, a vitest transform): they resolve as files and
    // are not parsed.
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json', '.wgsl'] },
  },
};
