// The package's JS (scripts/build.sh, after tsc has type-checked pkg/src): each entry a single
// ES module, so a page's `import('shopfloor')` costs one request instead of a four-level
// waterfall of 29 modules (~240 ms of a cold first inference in Chromium on localhost, more over
// a network; docs/performance-log.md, "One module per entry").
//   index.js           the API (every module of pkg/src but the ones below)
//   elements.js        the custom elements; imports ./index.js, so a page runs one SDK instance
//   worker.js          the SDK's Web Worker (`{ worker: true }`); imports ./index.js
//   capture-worklet.js the microphone's AudioWorklet processor
//   warm-up.js         the Worker init() starts to compile the CPU path early (imports the glue only)
// The wasm-bindgen glue (./wasm/shopfloor.js, ./wasm-mt/shopfloor.js) stays a file of its own,
// imported when init() has chosen the variant. Not minified: stack traces keep their names.
import { build } from 'esbuild';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = `${ROOT}pkg/src`;
const KEEP = /^\.\/(index|wasm\/shopfloor|wasm-mt\/shopfloor)\.js$/;

/** Imports that stay imports: the entry (from the other entries) and the wasm glue, which only
 * the modules at pkg/src's root name, by these paths. */
const separate = {
  name: 'separate-files',
  setup(b) {
    b.onResolve({ filter: KEEP }, (args) => (dirname(args.importer) === SRC ? { path: args.path, external: true } : undefined));
  },
};

for (const entry of ['index', 'elements', 'worker', 'capture-worklet', 'warm-up']) {
  await build({
    entryPoints: [`${SRC}/${entry}.ts`],
    outfile: `${ROOT}pkg/${entry}.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    sourcesContent: false, // the package ships src/
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [separate],
  });
}
