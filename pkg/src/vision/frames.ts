// Frame sources → RGBA pixels on this device (the page's or a worker's): the checks every vision
// call makes on its source, and the one canvas they are drawn on.
import { isNamed, messageOf, ShopfloorError } from '../errors.js';

/**
 * A camera frame or picture. Pixels are read on this device (through a canvas) and never sent
 * anywhere. Errors: `SOURCE_NOT_READY` (a video with no frame yet, an image still loading),
 * `TAINTED_SOURCE` (cross-origin pixels without CORS), `INVALID_ARGUMENT` (a closed bitmap or
 * `VideoFrame`, a canvas transferred offscreen, a 0 × 0 canvas, anything else).
 */
export type FrameSource = HTMLVideoElement | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | ImageData | VideoFrame;

type Context2d = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

let scratch: HTMLCanvasElement | OffscreenCanvas | undefined;
function scratchContext(width: number, height: number): Context2d {
  if (!scratch) {
    scratch = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  }
  if (scratch.width !== width) scratch.width = width;
  if (scratch.height !== height) scratch.height = height;
  return scratch.getContext('2d', { willReadFrequently: true }) as Context2d;
}

/** Whether `v` is an instance of the global class `name` (absent classes: false, e.g. in a worker). */
export const is = (v: unknown, name: string): boolean => {
  const C = (globalThis as Record<string, unknown>)[name];
  return typeof C === 'function' && v instanceof C;
};

/**
 * Reads a frame source into RGBA `ImageData` (what every pipeline does first). Throws
 * SOURCE_NOT_READY for a video without a frame yet or an image still loading, TAINTED_SOURCE for
 * cross-origin pixels the page may not read, and INVALID_ARGUMENT for anything else that is not a frame.
 */
export function readFrame(source: FrameSource): ImageData {
  if (is(source, 'ImageData')) return source as ImageData;
  const [width, height] = frameSize(source);
  return pixels(source as CanvasImageSource, width, height);
}

/**
 * The size of a frame source, after the same checks as `readFrame` (SOURCE_NOT_READY,
 * INVALID_ARGUMENT) but without reading its pixels.
 */
export function frameSize(source: unknown): [number, number] {
  if (is(source, 'ImageData')) {
    const s = source as ImageData;
    return [s.width, s.height];
  }
  let width: number;
  let height: number;
  if (is(source, 'HTMLVideoElement')) {
    const s = source as HTMLVideoElement;
    if (s.readyState < 2 || !s.videoWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the video has no frame yet (not playing or still loading): wait for its `loadeddata` event');
    }
    [width, height] = [s.videoWidth, s.videoHeight];
  } else if (is(source, 'HTMLImageElement')) {
    const s = source as HTMLImageElement;
    if (!s.complete || !s.naturalWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the image has not loaded (or failed to): await `img.decode()` first');
    }
    [width, height] = [s.naturalWidth, s.naturalHeight];
  } else if (is(source, 'VideoFrame')) {
    const s = source as VideoFrame;
    if (!s.format && !s.displayWidth) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'the VideoFrame is closed: read it before calling close()');
    }
    [width, height] = [s.displayWidth, s.displayHeight];
  } else if (is(source, 'ImageBitmap') || is(source, 'HTMLCanvasElement') || is(source, 'OffscreenCanvas')) {
    if (is(source, 'HTMLCanvasElement')) {
      // An unknown context id is side-effect free: null normally, InvalidStateError on a canvas
      // whose control went to an OffscreenCanvas (it would draw as a blank placeholder).
      try {
        (source as { getContext(id: string): unknown }).getContext('shopfloor-probe');
      } catch (cause) {
        throw new ShopfloorError('INVALID_ARGUMENT', 'the canvas was handed to transferControlToOffscreen(): read frames from its OffscreenCanvas instead', { cause });
      }
    }
    const s = source as ImageBitmap | HTMLCanvasElement | OffscreenCanvas;
    [width, height] = [s.width, s.height];
    if (!width || !height) {
      const what = is(source, 'ImageBitmap') ? 'the ImageBitmap is closed or empty' : 'the canvas has no pixels (0 × 0)';
      throw new ShopfloorError('INVALID_ARGUMENT', what);
    }
  } else {
    throw new ShopfloorError('INVALID_ARGUMENT', 'a frame must be an HTMLVideoElement, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, ImageData or VideoFrame');
  }
  return [width, height];
}

function pixels(source: CanvasImageSource, width: number, height: number): ImageData {
  let ctx: Context2d;
  try {
    ctx = scratchContext(width, height);
    ctx.drawImage(source, 0, 0, width, height);
  } catch (cause) {
    if (isNamed(cause, 'InvalidStateError')) {
      throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn (${messageOf(cause)}): a canvas handed to transferControlToOffscreen() or a closed bitmap has no pixels here`, { cause });
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn: ${messageOf(cause)}`, { cause });
  }
  try {
    return ctx.getImageData(0, 0, width, height);
  } catch (cause) {
    if (isNamed(cause, 'SecurityError')) {
      throw new ShopfloorError(
        'TAINTED_SOURCE',
        'the frame comes from another origin without CORS, so the page may not read its pixels: serve it with Access-Control-Allow-Origin and set crossOrigin="anonymous" on the element',
        { cause },
      );
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the frame's pixels cannot be read: ${messageOf(cause)}`, { cause });
  }
}
