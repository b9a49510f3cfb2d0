import { call, callAsync } from '../call.js';
import { Handle } from '../handle.js';
import type { ModelInfo } from '../model/model.js';
import type { InWorker, Remote } from '../remote/remote.js';
import type { WasmFaceDetector } from '../wasm/shopfloor.js';
import { readFrame, type FrameSource } from './frames.js';
import type { PipelineOptions } from './options.js';
import { bytesOf, createVision } from './pipeline.js';
import type { Face } from './result.js';

/** Face detection (MediaPipe BlazeFace): anchors, weighted NMS, boxes in source pixels. */
export class FaceDetector extends Handle {
  private constructor(inner: WasmFaceDetector) {
    super(inner);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmFaceDetector {
    return this._inner as WasmFaceDetector;
  }

  static create(options: PipelineOptions & InWorker): Promise<Remote<FaceDetector>>;
  static create(options: PipelineOptions): Promise<FaceDetector>;
  static create(options: PipelineOptions): Promise<FaceDetector | Remote<FaceDetector>> {
    return createVision('WasmFaceDetector', options, (inner: WasmFaceDetector) => new FaceDetector(inner));
  }

  /** Overrides the manifest's score (default 0.5) and IoU (0.3) thresholds; values in 0..1. */
  setThresholds({ score, iou }: { score?: number; iou?: number } = {}): void {
    call(() => this.#inner.setThresholds(score, iou));
  }

  async detect(source: FrameSource): Promise<Face[]> {
    const f = readFrame(source);
    return callAsync(() => this.#inner.detect(f.width, f.height, bytesOf(f)) as Promise<Face[]>, 'detect()');
  }

  /** The `Model.info()` of the pipeline's model. */
  info(): ModelInfo {
    return call(() => this.#inner.info() as ModelInfo);
  }
}
