// Models kept in the Cache API, keyed by their sha256: a second page load reads them from disk
// instead of the network, and an entry whose bytes no longer hash to its key is dropped and
// fetched again. Only models with a known sha256 are cached (the key is the content).
import { ShopfloorError } from './core.js';

const STORE = 'shopfloor-models-v1';
// Cache keys must be URLs; this path is never requested.
const PREFIX = '/.shopfloor-model-cache/sha256/';

/** 64 lowercase hex digits from the SDK's accepted forms (hex or `sha256-<base64>`), or null. */
export function sha256Hex(sha256) {
  if (typeof sha256 !== 'string') return null;
  if (/^[0-9a-fA-F]{64}$/.test(sha256)) return sha256.toLowerCase();
  const m = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(sha256);
  if (!m) return null;
  return Array.from(atob(m[1]), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

export async function digestHex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

function available() {
  return typeof caches !== 'undefined' && globalThis.isSecureContext !== false && globalThis.crypto?.subtle;
}

function keyOf(hex) {
  return new URL(PREFIX + hex, globalThis.location?.href ?? 'http://localhost/').href;
}

async function open() {
  try {
    return available() ? await caches.open(STORE) : null;
  } catch {
    return null; // storage blocked (e.g. a sandboxed iframe): behave as if there were no cache
  }
}

/**
 * The cached bytes for `hex`, or null. An entry that fails its hash is deleted (`onCorrupt` is
 * told) so the caller fetches the model again.
 */
export async function lookup(hex, onCorrupt) {
  const store = await open();
  if (!store) return null;
  let hit;
  try {
    hit = await store.match(keyOf(hex));
  } catch {
    return null;
  }
  if (!hit) return null;
  const bytes = new Uint8Array(await hit.arrayBuffer());
  if ((await digestHex(bytes)) === hex) return bytes;
  await store.delete(keyOf(hex)).catch(() => {});
  onCorrupt?.();
  return null;
}

/** Stores bytes already checked against `hex`; resolves to false when the storage is full or blocked. */
export async function store(hex, bytes) {
  const s = await open();
  if (!s) return false;
  try {
    await s.put(keyOf(hex), new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) } }));
    return true;
  } catch {
    return false; // QuotaExceededError and the like: the model still loads, uncached
  }
}

/** The public face of the cache; see `modelCache` in index.d.ts. */
export const modelCache = {
  async list() {
    const s = await open();
    if (!s) return [];
    const out = [];
    for (const req of await s.keys()) {
      const path = new URL(req.url).pathname;
      if (!path.startsWith(PREFIX)) continue;
      const r = await s.match(req);
      const bytes = Number(r?.headers.get('Content-Length')) || (await r.clone().arrayBuffer()).byteLength;
      out.push({ sha256: path.slice(PREFIX.length), bytes });
    }
    return out;
  },
  async delete(sha256) {
    const hex = sha256Hex(sha256);
    if (!hex) throw new ShopfloorError('INVALID_ARGUMENT', 'modelCache.delete takes a sha256 (64 hex digits or "sha256-<base64>")');
    const s = await open();
    return s ? s.delete(keyOf(hex)) : false;
  },
  async clear() {
    return available() ? caches.delete(STORE) : false;
  },
};
