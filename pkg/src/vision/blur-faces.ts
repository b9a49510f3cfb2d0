import { ShopfloorError } from '../errors.js';
import type { Remote } from '../remote/remote.js';
import { FaceDetector } from './face-detector.js';
import { readFrame, type FrameSource } from './frames.js';
import type { Face } from './result.js';

/**
 * Draws `source` on `canvas` with every detected face blurred (for portals that store or stream
 * frames); resolves to the faces. `margin` widens each box (default 0.2); `radius` is the blur in
 * pixels (default: a sixth of the face).
 */
export async function blurFaces(
  source: FrameSource,
  canvas: HTMLCanvasElement | OffscreenCanvas,
  options: { detector: FaceDetector | Remote<FaceDetector>; radius?: number; margin?: number },
): Promise<Face[]> {
  const { detector, radius, margin = 0.2 } = options ?? ({} as Partial<typeof options>);
  const d = detector as Partial<Remote<FaceDetector>> | undefined;
  const remote = d?.worker === true && d.kind === 'FaceDetector';
  if (!(detector instanceof FaceDetector) && !remote) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces needs { detector: await FaceDetector.create(...) }');
  const ctx = (canvas as { getContext?: (id: '2d') => unknown } | undefined)?.getContext?.('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null | undefined;
  if (!ctx) throw new ShopfloorError('INVALID_ARGUMENT', 'blurFaces draws on a canvas (HTMLCanvasElement or OffscreenCanvas) with a 2d context');
  const frame = readFrame(source);
  const faces = await detector.detect(frame);
  canvas.width = frame.width;
  canvas.height = frame.height;
  ctx.putImageData(frame, 0, 0);
  for (const { box } of faces) {
    const mx = box.width * margin;
    const my = box.height * margin;
    const [x, y, w, h] = [box.x - mx, box.y - my, box.width + 2 * mx, box.height + 2 * my];
    const r = radius ?? Math.max(8, Math.round(Math.max(w, h) / 6));
    ctx.save();
    ctx.beginPath();
    ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
    ctx.clip();
    ctx.filter = `blur(${r}px)`;
    // Drawn twice: one blur pass leaves faces recognisable at small radii.
    ctx.drawImage(canvas, 0, 0);
    ctx.drawImage(canvas, 0, 0);
    ctx.restore();
  }
  return faces;
}
