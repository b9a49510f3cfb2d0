// What the vision pipelines take.
import type { BackendChoice, FetchOptions } from '../model/model.js';

/** A model manifest (`models/cache/<model>/manifest.json`, written by the setup). */
export interface Manifest {
  task: 'classification' | 'face-detection' | 'object-detection' | 'text-reading';
  name: string;
  licence?: string;
  source?: string;
  /** For a manifest given as an object: the URL its model files are relative to. */
  baseUrl?: string;
  [key: string]: unknown;
}

export interface PipelineOptions extends FetchOptions {
  /** Run the pipeline in the SDK's Web Worker (see `Remote`); default false. */
  worker?: boolean;
  /** The URL of a `manifest.json`, or the manifest itself (with `baseUrl`). Model files are fetched relative to it and checked against its sha256. */
  model: string | URL | Manifest;
  /** As for `Model.load`. For `TextReader`, `"webgpu"` runs every model on the GPU at fixed shapes (see `TextReaderOptions.fixedSide`); `"auto"` keeps its lines on the CPU. */
  backend?: BackendChoice;
  maxTensorBytes?: number;
  planCacheSize?: number;
}

export interface TextReaderOptions extends PipelineOptions {
  /**
   * Letterbox every frame into one `fixedSide × fixedSide` detector input (32..4096, rounded up
   * to a multiple of 32) instead of a size that follows the frame's. A GPU plan has one shape,
   * so on `"webgpu"` it defaults to the manifest's `limitSide` (960): set it to the camera's
   * longer side to neither shrink nor enlarge frames. Out of range: `INVALID_ARGUMENT`.
   */
  fixedSide?: number;
}
