// Shared by the browser end-to-end tests: Debian's Chromium driven by playwright-core (no browser
// download), a fresh profile each launch, and the demo server on a free port.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
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
  const close = async () => {
    await context.close();
    if (!profileDir) rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

export async function serve({ extraRoots = [] } = {}) {
  const server = await startServer({ port: 0, quiet: true, extraRoots });
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
}

/** Collects console errors and uncaught exceptions so a test can show them on failure. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  return errors;
}
