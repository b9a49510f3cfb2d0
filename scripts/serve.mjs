#!/usr/bin/env node
// A small static server for the demo and the browser tests: correct MIME types for .wasm/.mjs,
// and COOP/COEP so the page is cross-origin isolated (threaded wasm needs SharedArrayBuffer).
// Serves only www/, pkg/ and models/ from the repository root (plus `extraRoots`, e.g. the
// benchmark's bench/); `/` is the demo page.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The policy the demo and the SDK are tested under (`--csp`): no inline script, no eval. */
export const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SERVED = ['www', 'pkg', 'models'];
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Resolves a URL path to a file under one of the served folders, or null. */
export function resolvePath(urlPath, roots = SERVED) {
  let p;
  try {
    p = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  if (p === '/' || p === '') p = '/www/index.html';
  const rel = normalize(p).replace(/^[/\\]+/, '');
  const top = rel.split(sep)[0];
  if (!roots.includes(top)) return null;
  const abs = join(ROOT, rel);
  if (!abs.startsWith(join(ROOT, top))) return null;
  try {
    const st = statSync(abs);
    if (st.isDirectory()) return resolvePath(`/${rel}/index.html`, roots);
    return st.isFile() ? abs : null;
  } catch {
    return null;
  }
}

/** `isolated: false` drops COOP/COEP, as on a portal that does not send them (no threads there). */
export function startServer({ port = 8080, host = '127.0.0.1', quiet = false, extraRoots = [], csp = null, onRequest = null, isolated = true } = {}) {
  const roots = [...SERVED, ...extraRoots];
  const server = createServer((req, res) => {
    // A hook for the tests: it sees every request and may answer it itself (returns true).
    if (onRequest?.(req, res) === true) return;
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    };
    if (csp) headers['Content-Security-Policy'] = csp;
    if (!isolated) {
      delete headers['Cross-Origin-Opener-Policy'];
      delete headers['Cross-Origin-Embedder-Policy'];
    }
    // The sample photos may be embedded by other origins (without CORS, so their pixels stay
    // unreadable there): the browser tests use that to make a tainted image.
    if ((req.url ?? '').startsWith('/models/cache/images/')) headers['Cross-Origin-Resource-Policy'] = 'cross-origin';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    // The demo lives in www/; redirect so its relative URLs resolve there.
    if ((req.url ?? '/').split('?')[0] === '/') {
      res.writeHead(302, { ...headers, Location: '/www/' }).end();
      return;
    }
    const file = resolvePath(req.url ?? '/', roots);
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
      if (!quiet) console.log(`404 ${req.url}`);
      return;
    }
    const type = MIME[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const server = await startServer({ port, csp: process.argv.includes('--csp') ? STRICT_CSP : null });
  console.log(`shopfloor demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C to stop)`);
}
