import { call, callAsync } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import type { ModelInfo } from '../model/model.js';
import type { InWorker, Remote } from '../remote/remote.js';
import type { WasmTextReader } from '../wasm/shopfloor.js';
import { readFrame, type FrameSource } from './frames.js';
import type { TextReaderOptions } from './options.js';
import { bytesOf, createVision } from './pipeline.js';
import type { TextLine } from './result.js';

/**
 * Text reading (PP-OCRv4): DB boxes, upright crops, 0°/180° classifier, CTC decoding. Lines top
 * to bottom. On `"webgpu"` the detector runs at `fixedSide`², and lines are read by one
 * recogniser model per width bucket (320, 480, 640, 960, 1280, 1600 pixels), each loaded the
 * first time a line needs it.
 */
export class TextReader extends Handle {
  private constructor(inner: WasmTextReader) {
    super(inner);
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmTextReader {
    return this._inner as WasmTextReader;
  }

  static create(options: TextReaderOptions & InWorker): Promise<Remote<TextReader>>;
  static create(options: TextReaderOptions): Promise<TextReader>;
  static create(options: TextReaderOptions): Promise<TextReader | Remote<TextReader>> {
    const side = options?.fixedSide;
    if (side !== undefined && !Number.isInteger(side)) throw new ShopfloorError('INVALID_ARGUMENT', `fixedSide must be a whole number of pixels (32..4096), got ${side}`);
    return createVision('WasmTextReader', options, (inner: WasmTextReader) => new TextReader(inner), { allFiles: true, options: ['fixedSide'] });
  }

  async read(source: FrameSource): Promise<TextLine[]> {
    const f = readFrame(source);
    return callAsync(() => this.#inner.read(f.width, f.height, bytesOf(f)) as Promise<TextLine[]>, 'read()');
  }

  /** The `Model.info()` of each of its models: detector, recogniser, orientation classifier. */
  info(): ModelInfo[] {
    return call(() => this.#inner.info() as ModelInfo[]);
  }
}
