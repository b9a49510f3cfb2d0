// What the pipelines share: the finalizer that frees a dropped handle's wasm object, the manifest
// loader (vision and audio), and, for the audio pipelines, one base for handles (free, queued
// calls) and the checks on samples. Documented in index.d.ts.
import { call, ShopfloorError } from './core.js';
import { readSource } from './model.js';

/** Frees the wasm object of a handle the page dropped without `free()`. */
export const finalizer = new FinalizationRegistry((inner) => {
  try {
    inner.free();
  } catch {
    // already freed
  }
});

export function wasmOptions({ backend = 'auto', maxTensorBytes } = {}) {
  const o = { backend, maxTensorBytes };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Reads a pipeline manifest (URL, or the object with `baseUrl`) and the files it names, each
 * checked against its sha256. `refsOf(manifest)` lists the file entries in the core's order.
 * `task`: the manifest's task, checked here; undefined where the core checks it (vision).
 */
export async function loadManifest(model, options, task, refsOf) {
  let manifest;
  let base;
  if (typeof model === 'string' || model instanceof URL) {
    base = new URL(model, globalThis.location?.href);
    const text = new TextDecoder().decode(await readSource(base.href, { signal: options.signal }));
    try {
      manifest = JSON.parse(text);
    } catch (cause) {
      throw new ShopfloorError('INVALID_ARGUMENT', `${base.href} is not a JSON manifest: ${cause.message}`, { cause });
    }
  } else if (model && typeof model === 'object') {
    manifest = model;
    base = new URL(model.baseUrl ?? '.', globalThis.location?.href);
  } else {
    const what = task === undefined ? '`model` must be the URL of a manifest.json or a manifest object (with `baseUrl` for its files)' : `\`model\` must be the URL of a ${task} manifest.json or the manifest object (with \`baseUrl\`)`;
    throw new ShopfloorError('INVALID_ARGUMENT', what);
  }
  if (task !== undefined && manifest?.task !== task) {
    throw new ShopfloorError('INVALID_ARGUMENT', `the manifest's task is "${manifest?.task}", expected "${task}"`);
  }
  const refs = refsOf(manifest);
  const files = await Promise.all(refs.map((r) => readSource(new URL(r.file, base).href, { ...options, sha256: r.sha256 })));
  return { manifest, json: JSON.stringify(manifest), files };
}

export function checkSamples(samples, sampleRate) {
  if (!(samples instanceof Float32Array)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'samples must be a Float32Array of mono audio in [-1, 1]');
  }
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new ShopfloorError('INVALID_ARGUMENT', `sampleRate must be the audio's rate in Hz (e.g. 48000), not ${sampleRate}`);
  }
}

export class Pipeline {
  #inner;
  #queue = Promise.resolve();
  constructor(inner) {
    this.#inner = inner;
    finalizer.register(this, inner, this);
  }
  get _inner() {
    if (!this.#inner) throw new ShopfloorError('INVALID_ARGUMENT', `this ${this.constructor.name} was freed: create it again`);
    return this.#inner;
  }
  /** Runs calls one after another: chunks from a microphone never overlap (no BUSY). */
  _serial(fn) {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }
  info() {
    return call(() => this._inner.info());
  }
  free() {
    if (!this.#inner) return;
    finalizer.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }
}

