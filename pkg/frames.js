// Frame sources → RGBA pixels on this device (the page's or a worker's): the checks every vision
// call makes on its source, and the one canvas they are drawn on.
import { ShopfloorError } from './core.js';

let scratch;
function scratchContext(width, height) {
  if (!scratch) {
    scratch =
      typeof OffscreenCanvas !== 'undefined'
        ? new OffscreenCanvas(width, height)
        : Object.assign(document.createElement('canvas'), { width, height });
  }
  if (scratch.width !== width) scratch.width = width;
  if (scratch.height !== height) scratch.height = height;
  return scratch.getContext('2d', { willReadFrequently: true });
}

export const is = (v, name) => typeof globalThis[name] !== 'undefined' && v instanceof globalThis[name];

/**
 * Any frame source → `ImageData` (RGBA). Throws SOURCE_NOT_READY for a video without a frame yet
 * or an image still loading, TAINTED_SOURCE for cross-origin pixels the page may not read, and
 * INVALID_ARGUMENT for anything else that is not a frame.
 */
export function readFrame(source) {
  if (is(source, 'ImageData')) return source;
  const [width, height] = frameSize(source);
  return pixels(source, width, height);
}

/**
 * The size of a frame source, after the same checks as `readFrame` (SOURCE_NOT_READY,
 * INVALID_ARGUMENT) but without reading its pixels.
 */
export function frameSize(source) {
  if (is(source, 'ImageData')) return [source.width, source.height];
  let width;
  let height;
  if (is(source, 'HTMLVideoElement')) {
    if (source.readyState < 2 || !source.videoWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the video has no frame yet (not playing or still loading): wait for its `loadeddata` event');
    }
    [width, height] = [source.videoWidth, source.videoHeight];
  } else if (is(source, 'HTMLImageElement')) {
    if (!source.complete || !source.naturalWidth) {
      throw new ShopfloorError('SOURCE_NOT_READY', 'the image has not loaded (or failed to): await `img.decode()` first');
    }
    [width, height] = [source.naturalWidth, source.naturalHeight];
  } else if (is(source, 'VideoFrame')) {
    if (!source.format && !source.displayWidth) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'the VideoFrame is closed: read it before calling close()');
    }
    [width, height] = [source.displayWidth, source.displayHeight];
  } else if (is(source, 'ImageBitmap') || is(source, 'HTMLCanvasElement') || is(source, 'OffscreenCanvas')) {
    if (is(source, 'HTMLCanvasElement')) {
      // An unknown context id is side-effect free: null normally, InvalidStateError on a canvas
      // whose control went to an OffscreenCanvas (it would draw as a blank placeholder).
      try {
        source.getContext('shopfloor-probe');
      } catch (cause) {
        throw new ShopfloorError('INVALID_ARGUMENT', 'the canvas was handed to transferControlToOffscreen(): read frames from its OffscreenCanvas instead', { cause });
      }
    }
    [width, height] = [source.width, source.height];
    if (!width || !height) {
      const what = is(source, 'ImageBitmap') ? 'the ImageBitmap is closed or empty' : 'the canvas has no pixels (0 × 0)';
      throw new ShopfloorError('INVALID_ARGUMENT', what);
    }
  } else {
    throw new ShopfloorError(
      'INVALID_ARGUMENT',
      'a frame must be an HTMLVideoElement, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, ImageData or VideoFrame',
    );
  }
  return [width, height];
}

function pixels(source, width, height) {
  let ctx;
  try {
    ctx = scratchContext(width, height);
    ctx.drawImage(source, 0, 0, width, height);
  } catch (cause) {
    if (cause?.name === 'InvalidStateError') {
      throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn (${cause.message}): a canvas handed to transferControlToOffscreen() or a closed bitmap has no pixels here`, { cause });
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the source cannot be drawn: ${cause?.message ?? cause}`, { cause });
  }
  try {
    return ctx.getImageData(0, 0, width, height);
  } catch (cause) {
    if (cause?.name === 'SecurityError') {
      throw new ShopfloorError(
        'TAINTED_SOURCE',
        'the frame comes from another origin without CORS, so the page may not read its pixels: serve it with Access-Control-Allow-Origin and set crossOrigin="anonymous" on the element',
        { cause },
      );
    }
    throw new ShopfloorError('INVALID_ARGUMENT', `the frame's pixels cannot be read: ${cause?.message ?? cause}`, { cause });
  }
}
