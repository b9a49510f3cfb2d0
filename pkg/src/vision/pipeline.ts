// What the vision pipelines share: creation from a manifest (or in the worker), and the frame
// handed to wasm as RGBA bytes.
import { callAsync } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { fileRefs, loadManifest, wasmOptions, type ManifestJson } from '../manifest.js';
import { createRemote } from '../remote/remote-impl.js';
import type { Kind } from '../remote/protocol.js';
import { instanceWith, stopWarmUp, type Glue } from '../runtime-impl.js';
import type { PipelineOptions } from './options.js';

/** The RGBA bytes of a frame read by `readFrame`. */
export function bytesOf(frame: ImageData): Uint8Array {
  return new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
}

/** The model files a vision manifest names, in the core's order (a text reader has several). */
function visionFiles(manifest: ManifestJson) {
  const models = manifest?.models as Record<string, unknown> | undefined;
  const refs = models ? [models.detector, models.recognizer, models.orientation].filter(Boolean) : [manifest?.model];
  return fileRefs(refs, 'the manifest names no model file (`model.file` or `models.*.file`)');
}

/** Options only some pipelines take, and the pipeline that does. */
const OWN_OPTIONS: Record<string, string> = { fixedSide: 'TextReader' };

type VisionWasm = 'WasmImageClassifier' | 'WasmFaceDetector' | 'WasmObjectDetector' | 'WasmTextReader';

/** How a pipeline's wasm side is created: every file the manifest names (else the first), and its own options, passed after the load options in this order. */
export interface Shape {
  allFiles: boolean;
  options: string[];
}

/** Creates a vision pipeline: in the worker with `{ worker: true }`, else from the manifest's files through `glue[wasmName].create`. */
export async function createVision<W, P>(wasmName: VisionWasm, options: PipelineOptions, wrap: (inner: W) => P, shape: Shape = { allFiles: false, options: [] }): Promise<P> {
  const kind = wasmName.slice('Wasm'.length) as Kind; // not a class's name: minifiers rename classes
  if (!options || typeof options !== 'object') {
    throw new ShopfloorError('INVALID_ARGUMENT', `${kind}.create takes { model, backend?, worker? }`);
  }
  const given = options as unknown as Record<string, unknown>;
  for (const [key, owner] of Object.entries(OWN_OPTIONS)) {
    if (given[key] !== undefined && !shape.options.includes(key)) throw new ShopfloorError('INVALID_ARGUMENT', `${key} is a ${owner} option, not one of ${kind}`);
  }
  if (options.worker) return createRemote(kind, options) as Promise<P>;
  // The core checks the manifest's task and says which one it is for.
  const [glue, { json, files }] = await instanceWith(loadManifest(options.model, options, undefined, visionFiles));
  const Wasm = glue[wasmName] as unknown as { create(json: string, files: Uint8Array | Uint8Array[], options: object, ...own: unknown[]): Promise<W> };
  const own = shape.options.map((key) => given[key]);
  stopWarmUp();
  const inner = await callAsync(() => Wasm.create(json, shape.allFiles ? files : files[0], wasmOptions(options), ...own), `${kind}.create`);
  return wrap(inner);
}
