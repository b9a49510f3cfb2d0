// The one manifest loader of every pipeline (vision and speech): the manifest (URL, or the object
// with `baseUrl`) and the files it names, each checked against its sha256.
import { defined } from './call.js';
import { messageOf, ShopfloorError } from './errors.js';
import type { FetchOptions } from './model/model.js';
import { readSource } from './model/source.js';

/** A file a manifest names. */
export interface FileRef {
  file: string;
  sha256?: string;
}

/** A manifest as read: any JSON object; each pipeline's `refsOf` and the core check its fields. */
export type ManifestJson = Record<string, unknown> & { task?: unknown; baseUrl?: string };

export interface LoadedManifest {
  manifest: ManifestJson;
  /** The manifest as the core takes it. */
  json: string;
  /** The files `refsOf` listed, in its order. */
  files: Uint8Array[];
}

/**
 * Reads a pipeline manifest and the files it names. `refsOf(manifest)` lists the file entries in
 * the core's order. `task`: the manifest's task, checked here; undefined where the core checks it
 * (vision).
 */
export async function loadManifest(model: unknown, options: FetchOptions, task: string | undefined, refsOf: (m: ManifestJson) => FileRef[]): Promise<LoadedManifest> {
  let manifest: ManifestJson;
  let base: URL;
  if (typeof model === 'string' || model instanceof URL) {
    base = new URL(model, globalThis.location?.href);
    const text = new TextDecoder().decode(await readSource(base.href, { signal: options.signal }));
    try {
      manifest = JSON.parse(text) as ManifestJson;
    } catch (cause) {
      throw new ShopfloorError('INVALID_ARGUMENT', `${base.href} is not a JSON manifest: ${messageOf(cause)}`, { cause });
    }
  } else if (model && typeof model === 'object') {
    manifest = model as ManifestJson;
    base = new URL(manifest.baseUrl ?? '.', globalThis.location?.href);
  } else {
    const what = task === undefined ? '`model` must be the URL of a manifest.json or a manifest object (with `baseUrl` for its files)' : `\`model\` must be the URL of a ${task} manifest.json or the manifest object (with \`baseUrl\`)`;
    throw new ShopfloorError('INVALID_ARGUMENT', what);
  }
  if (task !== undefined && manifest?.task !== task) {
    throw new ShopfloorError('INVALID_ARGUMENT', `the manifest's task is "${String(manifest?.task)}", expected "${task}"`);
  }
  const refs = refsOf(manifest);
  const files = await Promise.all(refs.map((r) => readSource(new URL(r.file, base).href, { ...options, sha256: r.sha256 })));
  return { manifest, json: JSON.stringify(manifest), files };
}

/** The refs given, or INVALID_ARGUMENT saying `what` a manifest must name when one lacks a `file`. */
export function fileRefs(refs: unknown[], what: string): FileRef[] {
  if (refs.some((r) => !r || typeof (r as FileRef).file !== 'string')) throw new ShopfloorError('INVALID_ARGUMENT', what);
  return refs as FileRef[];
}

/** The options every wasm-side pipeline takes (undefined fields left out). */
export function wasmOptions({ backend = 'auto', maxTensorBytes, planCacheSize }: { backend?: string; maxTensorBytes?: number; planCacheSize?: number } = {}): object {
  return defined({ backend, maxTensorBytes, planCacheSize });
}

/** The wasm options of the speech pipelines, which take no `planCacheSize`. */
export function speechOptions(options: object): object {
  const { backend, maxTensorBytes } = options as { backend?: string; maxTensorBytes?: number };
  return wasmOptions({ backend, maxTensorBytes });
}
