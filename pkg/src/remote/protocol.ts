// The messages between the page (remote-impl.ts) and the SDK's worker (../worker.ts), and what
// each kind of object offers through it.
import type { ErrorCode } from '../errors.js';
import type { InitOptions } from '../runtime.js';
import type { LoadProgress } from '../model/model.js';

/** The kinds of object the worker can host. */
export type Kind = 'Model' | 'ImageClassifier' | 'FaceDetector' | 'ObjectDetector' | 'TextReader' | 'KeywordSpotter' | 'Vad' | 'VoiceCommands' | 'Transcriber' | 'AudioFeatures';

/** A handle's id in the worker. */
export type HandleId = number;

/** Options as they cross: URLs absolute, the callback and the signal replaced by flags. */
export type PortableOptions = Record<string, unknown> & { hasProgress: boolean; hasSignal: boolean };

/** Page → worker. `id` pairs a request with its reply. */
export type ToWorker =
  | { op: 'init'; options: Pick<InitOptions, 'threads'> }
  | { op: 'create'; id: number; kind: Kind; source: unknown; options: PortableOptions }
  | { op: 'call'; id: number; handle: HandleId; method: string; args: unknown[] }
  | { op: 'free'; handle: HandleId }
  | { op: 'abort'; target: number | undefined };

/** A call's answer: its result, and the object's mirrored properties after it. */
export interface CallResult {
  result: unknown;
  props: Record<string, unknown>;
}

/** A create's answer. */
export interface Created {
  handle: HandleId;
  props: Record<string, unknown>;
}

/** Worker → page. */
export type FromWorker =
  | { id: number; progress: LoadProgress }
  | { id: number; ok: true; value: CallResult | Created }
  | { id: number; ok: false; error: { code: ErrorCode; message: string } };

/** What a remote object mirrors of its worker-side twin: read after creation and after every call, so these stay synchronous properties on the main thread. */
export const LIVE_PROPS: Partial<Record<Kind, readonly string[]>> = {
  Model: ['inputs', 'outputs'],
  ImageClassifier: ['labels', 'embeddingSize'],
  KeywordSpotter: ['labels'],
  VoiceCommands: ['commands', 'words', 'vadProbability', 'enrolled'],
};

/** The methods each kind offers through the worker (all return promises there). */
export const METHODS: Record<Kind, readonly string[]> = {
  Model: ['run', 'info'],
  ImageClassifier: ['classify', 'embed', 'explain', 'info'],
  FaceDetector: ['detect', 'setThresholds', 'info'],
  ObjectDetector: ['detect', 'info'],
  TextReader: ['read', 'info'],
  KeywordSpotter: ['feed', 'reset', 'info'],
  Vad: ['feed', 'reset', 'info'],
  VoiceCommands: ['feed', 'finish', 'reset', 'enrol', 'addEnrolled', 'removeEnrolled', 'info'],
  Transcriber: ['transcribe', 'feed', 'finish', 'reset', 'info'],
  AudioFeatures: ['compute', 'push', 'finish', 'reset', 'info'],
};

/** Arguments that are frames (index per method), converted to transferable bitmaps first. */
export const FRAME_ARGS: Partial<Record<string, number>> = { classify: 0, embed: 0, explain: 0, detect: 0, read: 0 };
