// pkg/ is a real npm package: `npm pack` includes the glue, the wasm and the types, the exports
// map resolves, and the declarations type-check against a consumer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = `${ROOT}pkg`;

test('npm pack contains the API, the glue, the wasm and the types', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: PKG, encoding: 'utf8' });
  const [info] = JSON.parse(out);
  const files = info.files.map((f) => f.path).sort();
  for (const f of ['index.js', 'index.d.ts', 'elements.js', 'elements.d.ts', 'worker.js', 'capture-worklet.js', 'warm-up.js', 'src/index.ts', 'package.json', 'wasm/shopfloor.js', 'wasm/shopfloor_bg.wasm', 'wasm/shopfloor.d.ts', 'wasm-mt/shopfloor.js', 'wasm-mt/shopfloor_bg.wasm']) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files.join(', ')}`);
  }
  // Every file a module of the package imports or loads next to itself ships with it.
  for (const f of files.filter((f) => f.endsWith('.js'))) {
    const src = readFileSync(join(PKG, f), 'utf8');
    for (const [, ref] of src.matchAll(/(?:from |import\(|new URL\()\s*['"](\.\.?\/[^'"]+)['"]/g)) {
      const path = join(dirname(f), ref).replace(/\\/g, '/');
      assert.ok(files.includes(path), `${f} needs ${ref}, which is missing from the tarball`);
    }
  }
  const wasm = info.files.find((f) => f.path === 'wasm/shopfloor_bg.wasm');
  assert.ok(wasm.size > 100_000, 'the wasm module looks empty');
});

test('each entry is one module: importing the package costs one request, not a waterfall', () => {
  // Static imports only; the wasm glue is imported once init() has chosen the variant.
  const statics = (f) => [...readFileSync(join(PKG, f), 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  assert.deepEqual(statics('index.js'), []);
  assert.deepEqual(statics('capture-worklet.js'), []);
  // The custom elements and the worker share the entry's module (one SDK instance per page).
  assert.deepEqual(statics('elements.js'), ['./index.js']);
  assert.deepEqual(statics('worker.js'), ['./index.js']);
  const dynamic = [...readFileSync(join(PKG, 'index.js'), 'utf8').matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]).sort();
  assert.deepEqual(dynamic, ['./wasm-mt/shopfloor.js', './wasm/shopfloor.js']);
  // The warm-up Worker loads the glue init() chose, nothing else.
  assert.deepEqual(statics('warm-up.js'), []);
  const warm = [...readFileSync(join(PKG, 'warm-up.js'), 'utf8').matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]).sort();
  assert.deepEqual(warm, ['./wasm-mt/shopfloor.js', './wasm/shopfloor.js']);
});

test('the threaded module imports a shared memory (and its worker finds the glue by file name)', () => {
  const mod = new WebAssembly.Module(readFileSync(`${PKG}/wasm-mt/shopfloor_bg.wasm`));
  const memory = WebAssembly.Module.imports(mod).find((i) => i.kind === 'memory');
  assert.ok(memory, 'the threaded build must import its memory (shared between the workers)');
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'startThreads'), 'startThreads export');
  const single = new WebAssembly.Module(readFileSync(`${PKG}/wasm/shopfloor_bg.wasm`));
  assert.ok(!WebAssembly.Module.exports(single).some((e) => e.name === 'startThreads'), 'the single-thread build has no pool');
});

test('the shipped modules went through crates/wasm-order (no name section left)', () => {
  for (const v of ['wasm', 'wasm-mt']) {
    const mod = new WebAssembly.Module(readFileSync(`${PKG}/${v}/shopfloor_bg.wasm`));
    assert.equal(WebAssembly.Module.customSections(mod, 'name').length, 0, `${v}: scripts/build.sh did not reorder it`);
  }
});

/** Each defined function's type index and body bytes, from the function and code sections. */
function definedFunctions(bytes) {
  let i = 8;
  const leb = () => {
    let v = 0, shift = 0, b;
    do { b = bytes[i++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  const types = [], bodies = [];
  while (i < bytes.length) {
    const id = bytes[i++], size = leb(), end = i + size;
    if (id === 3) for (let n = leb(); n > 0; n--) types.push(leb());
    if (id === 10) for (let n = leb(); n > 0; n--) { const s = leb(); bodies.push(bytes.subarray(i, i + s)); i += s; }
    i = end;
  }
  assert.equal(types.length, bodies.length);
  return types.map((t, k) => ({ type: t, body: bodies[k] }));
}

test('the shipped modules hold each function once (crates/wasm-order merged the copies)', () => {
  for (const v of ['wasm', 'wasm-mt']) {
    const fns = definedFunctions(readFileSync(`${PKG}/${v}/shopfloor_bg.wasm`));
    assert.ok(fns.length > 10000, `${v}: ${fns.length} functions: the parse went wrong`);
    const seen = new Set();
    for (const f of fns) {
      const key = `${f.type}:${Buffer.from(f.body).toString('latin1')}`;
      assert.ok(!seen.has(key), `${v}: two functions of type ${f.type} have the same ${f.body.length}-byte body`);
      seen.add(key);
    }
  }
});

test('package.json is an ESM package with an exports map and types', () => {
  const pkg = JSON.parse(readFileSync(`${PKG}/package.json`, 'utf8'));
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.exports['.'].types, './index.d.ts');
  assert.equal(pkg.exports['.'].default, './index.js');
  assert.equal(pkg.types, './index.d.ts');
});

test('the wasm module is built with SIMD', () => {
  const bytes = readFileSync(`${PKG}/wasm/shopfloor_bg.wasm`);
  assert.ok(WebAssembly.validate(bytes));
  // 0xfd is the SIMD opcode prefix; a simd128 build of tract has thousands of them.
  let simd = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0xfd) simd++;
  assert.ok(simd > 5000, `only ${simd} SIMD prefixes: built without +simd128?`);
});

test('the TypeScript declarations type-check against a consumer', () => {
  execFileSync(
    `${ROOT}node_modules/.bin/tsc`,
    ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', `${ROOT}tests/types/consumer.ts`],
    { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' },
  );
});

test('docs/reference is what TypeDoc makes of the source now (run `make docs` after changing the API)', () => {
  const out = mkdtempSync(join(tmpdir(), 'shopfloor-reference-'));
  try {
    execFileSync(`${ROOT}node_modules/.bin/typedoc`, ['--options', `${PKG}/typedoc.json`, '--out', out, '--logLevel', 'Warn'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    const committed = readdirSync(`${ROOT}docs/reference`).sort();
    assert.deepEqual(readdirSync(out).sort(), committed, 'the reference has other pages than the source gives');
    for (const f of committed) {
      assert.equal(readFileSync(join(out, f), 'utf8'), readFileSync(`${ROOT}docs/reference/${f}`, 'utf8'), `docs/reference/${f} is stale: run \`make docs\``);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("docs/api.md's tables name only functions and members the package has", async () => {
  const exported = { ...(await import(`${PKG}/index.js`)), ...(await import(`${PKG}/elements.js`)) };
  const classes = Object.values(exported).filter((v) => typeof v === 'function' && v.prototype);
  const onSomeInstance = (m) => classes.some((C) => m in C.prototype) || m in exported.modelCache;
  const missing = [];
  for (const line of readFileSync(`${ROOT}docs/api.md`, 'utf8').split('\n')) {
    const first = /^\| (.+?) \|/.exec(line)?.[1];
    if (!first || first === 'function') continue;
    for (const [, item] of first.matchAll(/`([^`]+)`/g)) {
      const call = /^(?:new )?([A-Za-z]+)(?:\.([A-Za-z]+))?(?:\(|$)/.exec(item);
      if (!call || item.startsWith('{')) continue;
      const [, head, member] = call;
      if (member === undefined) {
        if (item.includes('(') && !(head in exported)) missing.push(item);
      } else if (head in exported) {
        const v = exported[head];
        if (!(member in v) && !(v.prototype && member in v.prototype)) missing.push(item);
      } else if (/^[a-z]/.test(head) && !onSomeInstance(member)) {
        missing.push(item); // `classifier.classify(…)`: some class must have the method
      }
    }
  }
  assert.deepEqual(missing, [], 'docs/api.md names what the package does not export');
});
