// The demo server: MIME types, isolation headers, and nothing outside www/, pkg/, models/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from './browser.mjs';

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

test('serves wasm and modules with the right types and COOP/COEP', async () => {
  const root = await fetch(server.url + '/', { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/www/');
  for (const [path, type] of [
    ['/www/', 'text/html'],
    ['/pkg/index.js', 'text/javascript'],
    ['/pkg/wasm/shopfloor_bg.wasm', 'application/wasm'],
  ]) {
    const r = await fetch(server.url + path);
    assert.equal(r.status, 200, path);
    assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
  }
});

test('refuses paths outside the served folders', async () => {
  for (const path of ['/Cargo.toml', '/src/lib.rs', '/www/../Cargo.toml', '/%2e%2e/Cargo.toml', '/pkg/..%2fCargo.toml', '/%ff']) {
    const r = await fetch(server.url + path);
    assert.equal(r.status, 404, path);
  }
  const r = await fetch(server.url + '/', { method: 'POST' });
  assert.equal(r.status, 405);
});
