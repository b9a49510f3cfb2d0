// Model bytes from what the caller gave: a buffer as is, a URL from the model cache when its
// sha256 is known and the copy is intact, else downloaded (with progress and abort).
import { isNamed, messageOf, ShopfloorError } from '../errors.js';
import { lookup, nativeDigest, sha256Hex, store } from './cache.js';
import type { FetchOptions } from './model.js';

export async function readSource(source: unknown, options: FetchOptions & { sha256?: string }): Promise<Uint8Array> {
  return (await readSourceHashed(source, options)).bytes;
}

/**
 * As `readSource`, with the bytes' sha256 when reading them hashed them already (a cached copy
 * checked, a pinned download hashed for the cache): `Model.load` hands it to the core instead of
 * hashing the bytes a second time.
 */
export async function readSourceHashed(source: unknown, { onProgress, signal, sha256, cache = true }: FetchOptions & { sha256?: string }): Promise<{ bytes: Uint8Array; digest?: string }> {
  if (source instanceof Uint8Array) return { bytes: source };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source) };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength) };
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'Model.load takes a URL (string or URL), an ArrayBuffer or a Uint8Array');
  }
  // With a sha256 the bytes are their own cache key: read them from the Cache API when present
  // and intact, and keep a verified download for the next page load.
  const hex = cache === false ? null : sha256Hex(sha256);
  if (hex) {
    const cached = await lookup(hex, () => console.warn(`shopfloor: the cached copy of ${source} (sha256 ${hex}) was corrupt; fetching it again`));
    if (cached) {
      if (typeof onProgress === 'function') onProgress({ loaded: cached.byteLength, total: cached.byteLength, fromCache: true });
      return { bytes: cached, digest: hex };
    }
  }
  const bytes = await download(source, { onProgress, signal });
  // Aborted while the last chunk was handed to onProgress: the body is complete, the caller gave up.
  if (signal?.aborted) throw new ShopfloorError('ABORTED', `loading ${source} was aborted`, { cause: signal.reason });
  if (!hex) return { bytes };
  // Missing where crypto.subtle is (pages that are not secure contexts): then nothing is cached.
  const digest = await nativeDigest(bytes);
  if (digest === hex) await store(hex, bytes);
  return { bytes, digest };
}

const aborted = (cause: unknown) => isNamed(cause, 'AbortError');

async function download(source: string | URL, { onProgress, signal }: FetchOptions): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(source, { signal });
  } catch (cause) {
    if (aborted(cause)) throw new ShopfloorError('ABORTED', `loading ${source} was aborted`, { cause });
    throw new ShopfloorError('FETCH_FAILED', `could not fetch ${source}: ${messageOf(cause)}`, { cause });
  }
  if (!response.ok) {
    throw new ShopfloorError('FETCH_FAILED', `fetching ${source} answered HTTP ${response.status} ${response.statusText}: check the model URL`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  const cut = (cause: unknown) =>
    aborted(cause)
      ? new ShopfloorError('ABORTED', `loading ${source} was aborted`, { cause })
      : new ShopfloorError('FETCH_FAILED', `the download of ${source} broke off (${messageOf(cause)}): check the connection and load it again`, { cause });
  if (!response.body || typeof onProgress !== 'function') {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw cut(cause);
    }
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onProgress({ loaded, total, fromCache: false });
    }
  } catch (cause) {
    throw cut(cause);
  }
  if (total && loaded !== total) {
    throw new ShopfloorError('FETCH_FAILED', `${source} ended after ${loaded} of ${total} bytes: the download was cut`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
