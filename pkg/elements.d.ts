// Importing 'shopfloor/elements' defines <shopfloor-camera>, <shopfloor-voice> and <shopfloor-dictation>.
import type { Classification, CommandEvent, Face, PartialEvent, SegmentEvent, TextLine, VadEvent } from './index.js';

/** `detail` of a `<shopfloor-camera>` `result` event. */
export interface CameraResultDetail {
  task: 'classify' | 'faces' | 'text';
  results: Classification[] | Face[] | TextLine[];
  /** Model + post-processing time of the frame. */
  latencyMs: number;
}

/** `detail` of an `error` event from either element. */
export interface ElementErrorDetail {
  code: string;
  message: string;
}

/**
 * `<shopfloor-camera model="…/manifest.json" task="classify|faces|text" backend="auto|cpu|webgpu"
 * worker="false" autostart top-k="3">`: the webcam through a vision pipeline, results drawn over
 * the video. Events (bubbling, composed): `result`, `error`. CSS parts: `video`, `overlay`,
 * `results`, `result`, `status`, `button`; `--shopfloor-box-color` colours the boxes. Models run in
 * the SDK's worker unless `worker="false"`.
 */
export class ShopfloorCamera extends HTMLElement {
  readonly running: boolean;
  start(): Promise<void>;
  stop(): void;
}

/**
 * `<shopfloor-voice model="…/manifest.json" commands="stop, line two" backend worker="false"
 * autostart>`: voice commands from the microphone. Events: `command` (detail: CommandEvent),
 * `vad` (detail: VadEvent), `error`. CSS parts: `button`, `status`, `vad`, `commands`, `command`.
 */
export class ShopfloorVoice extends HTMLElement {
  readonly running: boolean;
  start(): Promise<void>;
  stop(): void;
}

/**
 * `<shopfloor-dictation model="…/whisper-tiny-en/manifest.json" prompt="bracket KX-4471" backend
 * worker="false" partials autostart>`: live dictation from the microphone (speech to text on the
 * device), one list item per utterance; with `partials`, the text of the utterance being spoken
 * shows below. Events: `segment` (detail: SegmentEvent), `partial` (PartialEvent), `vad`, `error`.
 * CSS parts: `button`, `status`, `segments`, `segment`, `partial`.
 */
export class ShopfloorDictation extends HTMLElement {
  readonly running: boolean;
  /** Everything transcribed since it started. */
  readonly text: string;
  start(): Promise<void>;
  stop(): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'shopfloor-camera': ShopfloorCamera;
    'shopfloor-voice': ShopfloorVoice;
    'shopfloor-dictation': ShopfloorDictation;
  }
  interface HTMLElementEventMap {
    result: CustomEvent<CameraResultDetail>;
    command: CustomEvent<CommandEvent>;
    vad: CustomEvent<VadEvent>;
    segment: CustomEvent<SegmentEvent>;
    partial: CustomEvent<PartialEvent>;
  }
}
