// Models kept in the Cache API, keyed by their sha256: a second page load reads them from disk
// instead of the network, and an entry whose bytes no longer hash to its key is dropped and
// fetched again. Only models with a known sha256 are cached (the key is the content).
import { ShopfloorError } from '../errors.js';

const STORE = 'shopfloor-models-v1';
// Cache keys must be URLs; this path is never requested.
const PREFIX = '/.shopfloor-model-cache/sha256/';

/** A model file in the cache. */
export interface CachedModel {
  /** 64 lowercase hex digits: the key, and the hash the bytes were checked against. */
  sha256: string;
  bytes: number;
}

/** 64 lowercase hex digits from the SDK's accepted forms (hex or `sha256-<base64>`), or null. */
export function sha256Hex(sha256: unknown): string | null {
  if (typeof sha256 !== 'string') return null;
  if (/^[0-9a-fA-F]{64}$/.test(sha256)) return sha256.toLowerCase();
  const m = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(sha256);
  if (!m) return null;
  return Array.from(atob(m[1]), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

export async function digestHex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The bytes' sha256 by the browser's native SHA-256, or undefined where `crypto.subtle` is missing (pages that are not secure contexts): the core then hashes them itself. */
export async function nativeDigest(bytes: Uint8Array): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined;
  try {
    return await digestHex(bytes);
  } catch {
    return undefined;
  }
}

function available(): boolean {
  return typeof caches !== 'undefined' && globalThis.isSecureContext !== false && !!globalThis.crypto?.subtle;
}

function keyOf(hex: string): string {
  return new URL(PREFIX + hex, globalThis.location?.href ?? 'http://localhost/').href;
}

async function open(): Promise<Cache | null> {
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
export async function lookup(hex: string, onCorrupt?: () => void): Promise<Uint8Array | null> {
  const store = await open();
  if (!store) return null;
  let hit: Response | undefined;
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
export async function store(hex: string, bytes: Uint8Array): Promise<boolean> {
  const s = await open();
  if (!s) return false;
  try {
    await s.put(keyOf(hex), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) } }));
    return true;
  } catch {
    return false; // QuotaExceededError and the like: the model still loads, uncached
  }
}

/**
 * The model cache: files loaded from a URL with a known sha256 (`Model.load(url, { sha256 })`
 * and every pipeline's manifest files) are kept in the Cache API (`shopfloor-models-v1`) under
 * their hash. A later load, in this or another page of the origin, reads them from there; an entry
 * whose bytes no longer match its hash is deleted and fetched again (with a console warning).
 * When storage is full or blocked the model still loads, uncached. Needs a secure context
 * (https or localhost); elsewhere nothing is cached.
 */
export const modelCache: {
  list(): Promise<CachedModel[]>;
  /** Removes one model; resolves to whether it was there. `INVALID_ARGUMENT` for a malformed hash. */
  delete(sha256: string): Promise<boolean>;
  /** Removes every cached model. */
  clear(): Promise<boolean>;
} = {
  async list() {
    const s = await open();
    if (!s) return [];
    const out: CachedModel[] = [];
    for (const req of await s.keys()) {
      const path = new URL(req.url).pathname;
      if (!path.startsWith(PREFIX)) continue;
      const r = await s.match(req);
      const bytes = Number(r?.headers.get('Content-Length')) || (r ? (await r.clone().arrayBuffer()).byteLength : 0);
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
