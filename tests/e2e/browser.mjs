// Shared by the browser end-to-end tests: Debian's Chromium driven by playwright-core (no browser
// download), a fresh profile each launch, and the demo server on a free port.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader'];

/** Launches Chromium; `webgpu: false` hides WebGPU entirely, as on a browser without it. */
export async function launch({ webgpu = true, args = [], profileDir } = {}) {
  // A given profile directory is kept (IndexedDB across launches); the caller removes it.
  const profile = profileDir ?? mkdtempSync(join(tmpdir(), 'shopfloor-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...BASE_ARGS, ...(webgpu ? WEBGPU_ARGS : ['--disable-webgpu']), ...args],
  });
  // In every page: `codeOf(fn)` → "CODE: message" of what `fn` throws (or "no error").
  await context.addInitScript(() => {
    window.codeOf = async (fn) => {
      try {
        await fn();
        return 'no error';
      } catch (e) {
        return `${e.code}: ${e.message}`;
      }
    };
  });
  const close = async () => {
    await context.close();
    if (!profileDir) rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

/**
 * The demo server on a free port; `served` lists every path it was asked for, in order.
 * `routes`: `{ '/path': (req, res) => … }` answered by the test instead of a file (failures); a
 * route that returns `false` lets the file be served.
 */
export async function serve({ extraRoots = [], csp = null, routes = {}, isolated = true } = {}) {
  const served = [];
  const onRequest = (req, res) => {
    served.push(req.url);
    const route = routes[(req.url ?? '').split('?')[0]];
    // A route that returns false leaves the request to the server after all.
    return route ? route(req, res) !== false : false;
  };
  const server = await startServer({ port: 0, quiet: true, extraRoots, csp, onRequest, isolated });
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, served, close: () => new Promise((ok) => server.close(ok)) };
}

/**
 * A `serve` route answering with the repository's file at `urlPath` only after `ms`, as a
 * network's round trip would (the loopback server answers at once).
 */
export function heldBack(urlPath, ms, type = 'application/octet-stream') {
  const file = fileURLToPath(new URL(`../..${urlPath}`, import.meta.url));
  return (req, res) => {
    const body = readFileSync(file);
    setTimeout(() => res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length }).end(body), ms);
  };
}

/**
 * A proxy that forwards nothing and records every host a browser tried to reach through it.
 * Launch Chromium with `proxyArgs(trap)`: requests to any origin but loopback land here,
 * whichever context made them (page, worker, worklet), so a test can assert that none did.
 */
export async function egressTrap() {
  const { createServer } = await import('node:http');
  const hosts = [];
  const server = createServer((req, res) => {
    hosts.push(req.headers.host ?? req.url);
    res.writeHead(403).end();
  });
  server.on('connect', (req, socket) => {
    hosts.push(req.url);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: server.address().port, hosts, close: () => new Promise((ok) => server.close(ok)) };
}

export function proxyArgs(trap) {
  // "<-loopback>" removes Chromium's implicit bypass of localhost; the page's own server is
  // then listed explicitly, so only it is reached directly.
  // The rest silences Chromium's own services (sign-in, autofill, updates), which the
  // background-networking switches leave on, so the trap sees only what the page asked for.
  return [
    `--proxy-server=http://127.0.0.1:${trap.port}`,
    '--proxy-bypass-list=127.0.0.1',
    '--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,CertificateTransparencyComponentUpdater,AccountConsistency',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--disable-default-apps',
    '--no-pings',
    '--allow-browser-signin=false',
    '--disable-breakpad',
  ];
}

/** Collects console errors and uncaught exceptions so a test can show them on failure. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  return errors;
}
