import { call, callAsync } from '../call.js';
import { Handle } from '../handle.js';
import type { ModelInfo } from '../model/model.js';
import type { InWorker, Remote } from '../remote/remote.js';
import type { WasmObjectDetector } from '../wasm/shopfloor.js';
import { readFrame, type FrameSource } from './frames.js';
import type { PipelineOptions } from './options.js';
import { bytesOf, createVision } from './pipeline.js';
import type { Detection } from './result.js';

/** YOLO-style (`[1, 4+C, N]` / `[1, N, 4(+1)+C]`) or SSD-style (boxes + scores) heads, per the manifest's `decoder`; per-class NMS. */
export class ObjectDetector extends Handle {
  private constructor(inner: WasmObjectDetector) {
    super(inner);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmObjectDetector {
    return this._inner as WasmObjectDetector;
  }

  static create(options: PipelineOptions & InWorker): Promise<Remote<ObjectDetector>>;
  static create(options: PipelineOptions): Promise<ObjectDetector>;
  static create(options: PipelineOptions): Promise<ObjectDetector | Remote<ObjectDetector>> {
    return createVision('WasmObjectDetector', options, (inner: WasmObjectDetector) => new ObjectDetector(inner));
  }

  async detect(source: FrameSource): Promise<Detection[]> {
    const f = readFrame(source);
    return callAsync(() => this.#inner.detect(f.width, f.height, bytesOf(f)) as Promise<Detection[]>, 'detect()');
  }

  /** The `Model.info()` of the pipeline's model. */
  info(): ModelInfo {
    return call(() => this.#inner.info() as ModelInfo);
  }
}
