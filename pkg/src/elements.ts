// Custom elements for pages the SDK's authors never see (factory portals): one script tag
// (`<script type="module" src=".../shopfloor/elements.js">`) defines
//   <shopfloor-camera model="manifest.json" task="classify|faces|text">
//   <shopfloor-voice model="manifest.json" commands="stop, line two">
//   <shopfloor-dictation model="whisper-tiny-en/manifest.json" prompt="bracket KX-4471">
// They fire DOM events with results, expose CSS parts for styling, and need nothing a strict
// Content-Security-Policy forbids (styles go through constructable stylesheets, not <style>).
// Values come from the package's entry only: elements.js is built importing index.js, so a page
// that loads both runs one SDK instance (one wasm module, one init()).
import { FaceDetector, ImageClassifier, MicrophoneStream, TextReader, Transcriber, VoiceCommands } from './index.js';
import type { BackendChoice } from './model/model.js';
import type { Remote } from './remote/remote.js';
import type { CommandEvent, VadEvent } from './speech/result.js';
import type { PartialEvent, SegmentEvent } from './transcribe/result.js';
import type { TextReaderOptions } from './vision/options.js';
import type { Classification, Face, TextLine } from './vision/result.js';

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

type Task = CameraResultDetail['task'];
type AnyPipeline = ImageClassifier | FaceDetector | TextReader | Remote<ImageClassifier> | Remote<FaceDetector> | Remote<TextReader>;
const TASKS: Record<Task, { create(options: TextReaderOptions): Promise<AnyPipeline> }> = { classify: ImageClassifier, faces: FaceDetector, text: TextReader };

function sheet(css: string): CSSStyleSheet | null {
  if (typeof CSSStyleSheet === 'undefined') return null;
  const s = new CSSStyleSheet();
  s.replaceSync(css);
  return s;
}

const CAMERA_CSS = sheet(`
  :host { display: block; position: relative; font: inherit; }
  .stage { position: relative; }
  video, canvas { display: block; width: 100%; }
  canvas { position: absolute; inset: 0; height: 100%; pointer-events: none; }
  [part~="results"] { margin: 0.5em 0; padding-left: 1.5em; }
`);
const VOICE_CSS = sheet(`
  :host { display: block; font: inherit; }
  [part~="commands"], [part~="segments"] { margin: 0.5em 0; padding-left: 1.5em; }
  meter { width: 8em; }
`);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Omit<HTMLElementTagNameMap[K], 'part'>> & { part?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const { part, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  if (part) e.setAttribute('part', part);
  e.append(...children);
  return e;
}

function errorDetail(e: unknown): ElementErrorDetail {
  const err = e as { code?: string; message?: string } | null | undefined;
  return { code: err?.code ?? 'INTERNAL', message: err?.message ?? String(e) };
}

// Importable where there is no DOM (a worker, a server render): the elements are then not defined.
const ElementBase: typeof HTMLElement = globalThis.HTMLElement ?? (class {} as unknown as typeof HTMLElement);

/** Shared: status line, start/stop button, `error` events, the `backend` and `worker` attributes. */
abstract class Base extends ElementBase {
  #running = false;
  protected readonly root: ShadowRoot;
  protected readonly button: HTMLButtonElement;
  protected readonly statusLine: HTMLParagraphElement;

  constructor(css: CSSStyleSheet | null) {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    if (css) this.root.adoptedStyleSheets = [css];
    this.button = el('button', { type: 'button', part: 'button', textContent: 'Start' });
    this.statusLine = el('p', { part: 'status' });
    this.statusLine.setAttribute('role', 'status');
    this.button.addEventListener('click', () => (this.running ? this.stop() : this.start()));
  }
  /** Whether it is capturing. */
  get running(): boolean {
    return this.#running;
  }
  protected setRunning(on: boolean): void {
    this.#running = on;
  }
  /** Asks for the camera or microphone, loads the model and starts; failures become `error` events. */
  abstract start(): Promise<void>;
  /** Stops capturing and releases the device (and, for the audio elements, the models). */
  abstract stop(): void;
  protected get backend(): BackendChoice {
    return (this.getAttribute('backend') ?? 'auto') as BackendChoice;
  }
  /** Models run in the SDK's worker unless the element says `worker="false"`. */
  protected get inWorker(): boolean {
    return this.getAttribute('worker') !== 'false';
  }
  protected status(text: string): void {
    this.statusLine.textContent = text;
  }
  protected fail(e: unknown): void {
    const err = e as { code?: string; message?: string } | null | undefined;
    this.status(`${err?.code ?? 'ERROR'}: ${err?.message ?? String(e)}`);
    this.dispatchEvent(new CustomEvent('error', { detail: errorDetail(e), bubbles: true, composed: true }));
  }
  protected emit<T>(type: string, detail: T): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
  connectedCallback(): void {
    if (this.hasAttribute('autostart') && !this.running) void this.start();
  }
  disconnectedCallback(): void {
    this.stop();
  }
}

/**
 * `<shopfloor-camera model="…/manifest.json" task="classify|faces|text" backend="auto|cpu|webgpu"
 * worker="false" autostart top-k="3">`: the webcam through a vision pipeline, results drawn over
 * the video. Events (bubbling, composed): `result` ({ task, results, latencyMs }), `error`
 * ({ code, message }). CSS parts: `video`, `overlay`, `results`, `result`, `status`, `button`;
 * `--shopfloor-box-color` colours the boxes. Models run in the SDK's worker unless `worker="false"`.
 */
export class ShopfloorCamera extends Base {
  static observedAttributes = ['model', 'task', 'backend', 'worker'];
  #pipeline: Promise<AnyPipeline> | null = null;
  #stream: MediaStream | null = null;
  readonly #video: HTMLVideoElement;
  readonly #overlay: HTMLCanvasElement;
  readonly #results: HTMLOListElement;

  constructor() {
    super(CAMERA_CSS);
    this.#video = el('video', { part: 'video', muted: true, playsInline: true });
    this.#overlay = el('canvas', { part: 'overlay' });
    this.#results = el('ol', { part: 'results' });
    this.button.textContent = 'Start camera';
    this.root.append(el('div', { className: 'stage' }, this.#video, this.#overlay), this.button, this.statusLine, this.#results);
    this.status('The camera is off. Frames are processed on this device and never uploaded.');
  }
  get #task(): string {
    return this.getAttribute('task') ?? 'classify';
  }
  attributeChangedCallback(_name: string, old: string | null, value: string | null): void {
    if (old === value || !this.#pipeline) return;
    // A different model, task or backend: the next frame loads it.
    this.#pipeline.then((p) => p.free()).catch(() => {});
    this.#pipeline = null;
  }
  async start(): Promise<void> {
    if (this.running) return;
    if (!(this.#task in TASKS)) return this.fail({ code: 'INVALID_ARGUMENT', message: `task="${this.#task}": use classify, faces or text` });
    if (!this.getAttribute('model')) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of a manifest.json' });
    this.setRunning(true);
    this.button.textContent = 'Stop camera';
    try {
      this.status('Opening the camera…');
      this.#stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      this.#video.srcObject = this.#stream;
      await this.#video.play();
      void this.#loop();
    } catch (e) {
      this.stop();
      this.fail((e as { name?: string } | null)?.name === 'NotAllowedError' ? { code: 'PERMISSION_DENIED', message: 'camera access was refused: allow it for this page' } : e);
    }
  }
  stop(): void {
    this.setRunning(false);
    this.button.textContent = 'Start camera';
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#stream = null;
  }
  async #loop(): Promise<void> {
    while (this.running && this.isConnected) {
      try {
        const task = this.#task as Task;
        if (!this.#pipeline) {
          this.status(`Loading the ${task} model…`);
          const options: TextReaderOptions = { model: this.getAttribute('model') ?? '', backend: this.backend, worker: this.inWorker };
          // On WebGPU the text detector takes one input size: the camera's longer side.
          if (task === 'text' && this.backend === 'webgpu') options.fixedSide = Math.max(this.#video.videoWidth, this.#video.videoHeight, 32);
          this.#pipeline = TASKS[task].create(options);
        }
        const p = await this.#pipeline;
        const t0 = performance.now();
        const results =
          task === 'classify'
            ? await (p as ImageClassifier).classify(this.#video, { topK: Number(this.getAttribute('top-k')) || 3 })
            : task === 'faces'
              ? await (p as FaceDetector).detect(this.#video)
              : await (p as TextReader).read(this.#video);
        const latencyMs = performance.now() - t0;
        this.#draw(task, results);
        this.status(`Running (${latencyMs.toFixed(0)} ms per frame). Frames never leave this device.`);
        this.emit<CameraResultDetail>('result', { task, results, latencyMs });
      } catch (e) {
        this.#pipeline = null;
        this.fail(e);
        await new Promise((r) => setTimeout(r, 1000));
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }
  #draw(task: Task, results: Classification[] | Face[] | TextLine[]): void {
    const overlay = this.#overlay;
    const ctx = overlay.getContext('2d');
    if (!ctx) return;
    [overlay.width, overlay.height] = [this.#video.videoWidth, this.#video.videoHeight];
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    ctx.lineWidth = Math.max(2, overlay.width / 300);
    ctx.strokeStyle = getComputedStyle(this).getPropertyValue('--shopfloor-box-color').trim() || '#2ee66b';
    const items: string[] = [];
    if (task === 'classify') {
      for (const c of results as Classification[]) items.push(`${c.label} ${(c.score * 100).toFixed(1)}%`);
    } else if (task === 'faces') {
      for (const f of results as Face[]) {
        ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
        items.push(`face ${(f.score * 100).toFixed(0)}%`);
      }
    } else {
      for (const l of results as TextLine[]) {
        ctx.beginPath();
        l.box.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath();
        ctx.stroke();
        items.push(l.text);
      }
    }
    this.#results.replaceChildren(...items.map((t) => el('li', { part: 'result', textContent: t })));
  }
}

/**
 * `<shopfloor-voice model="…/manifest.json" commands="stop, line two" backend worker="false"
 * autostart>`: voice commands from the microphone. Events: `command` (detail: CommandEvent),
 * `vad` (detail: VadEvent), `error`. CSS parts: `button`, `status`, `vad`, `commands`, `command`.
 */
export class ShopfloorVoice extends Base {
  #cmds: VoiceCommands | Remote<VoiceCommands> | null = null;
  #mic: MicrophoneStream | null = null;
  #stop: (() => void) | null = null;
  readonly #meter: HTMLMeterElement;
  readonly #list: HTMLOListElement;

  constructor() {
    super(VOICE_CSS);
    this.#meter = el('meter', { part: 'vad', min: 0, max: 1, value: 0 });
    this.#list = el('ol', { part: 'commands' });
    this.button.textContent = 'Start microphone';
    this.root.append(this.button, this.#meter, this.statusLine, this.#list);
    this.status('The microphone is off. Audio is processed on this device and never uploaded.');
  }
  async start(): Promise<void> {
    if (this.running) return;
    const model = this.getAttribute('model');
    if (!model) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of the voice-command manifest.json' });
    this.setRunning(true);
    this.button.textContent = 'Stop microphone';
    try {
      this.status('Loading the speech models…');
      const commands = this.getAttribute('commands')?.split(',').map((c) => c.trim()).filter(Boolean);
      const cmds = await VoiceCommands.create({ model, backend: this.backend, commands, worker: this.inWorker });
      this.#cmds = cmds;
      cmds.on('command', (e: CommandEvent) => {
        this.#list.prepend(el('li', { part: 'command', textContent: `${e.command} (${Math.round(e.confidence * 100)}%)` }));
        this.emit('command', e);
      });
      cmds.on('vad', (e: VadEvent) => this.emit('vad', e));
      cmds.on('error', (e) => this.fail(e));
      const mic = await MicrophoneStream.open();
      this.#mic = mic;
      const stopFeeding = cmds.listen(mic);
      const meter = mic.on('data', () => (this.#meter.value = (this.#cmds?.vadProbability as number | undefined) ?? 0));
      this.#stop = () => {
        stopFeeding();
        meter();
      };
      this.status(`Listening for: ${(cmds.commands as string[]).join(', ')}.`);
    } catch (e) {
      this.stop();
      this.fail(e);
    }
  }
  stop(): void {
    this.setRunning(false);
    this.button.textContent = 'Start microphone';
    this.#stop?.();
    this.#stop = null;
    void this.#mic?.close();
    this.#mic = null;
    this.#cmds?.free();
    this.#cmds = null;
  }
}

/**
 * `<shopfloor-dictation model="…/whisper-tiny-en/manifest.json" prompt="bracket KX-4471" backend
 * language="de" worker="false" partials autostart>`: live dictation from the microphone (speech to text on the
 * device), one list item per utterance with its time; with `partials`, the text of the utterance
 * being spoken shows below. Events: `segment` (detail: SegmentEvent), `partial` (PartialEvent),
 * `vad`, `error`. CSS parts: `button`, `status`, `segments`, `segment`, `partial`.
 */
export class ShopfloorDictation extends Base {
  #stt: Transcriber | Remote<Transcriber> | null = null;
  #mic: MicrophoneStream | null = null;
  #stop: (() => void) | null = null;
  readonly #text: string[] = [];
  readonly #list: HTMLOListElement;
  readonly #partial: HTMLParagraphElement;

  constructor() {
    super(VOICE_CSS);
    this.#list = el('ol', { part: 'segments' });
    this.#partial = el('p', { part: 'partial' });
    this.button.textContent = 'Start dictation';
    this.root.append(this.button, this.statusLine, this.#list, this.#partial);
    this.status('The microphone is off. Audio is transcribed on this device and never uploaded.');
  }
  /** Everything transcribed since it started. */
  get text(): string {
    return this.#text.join(' ');
  }
  async start(): Promise<void> {
    if (this.running) return;
    const model = this.getAttribute('model');
    if (!model) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of the speech-to-text manifest.json' });
    this.setRunning(true);
    this.button.textContent = 'Stop dictation';
    try {
      this.status('Loading the speech-to-text model…');
      const prompt = this.getAttribute('prompt') ?? undefined;
      const language = this.getAttribute('language') ?? undefined;
      const partials = this.hasAttribute('partials');
      const stt = await Transcriber.create({ model, backend: this.backend, prompt, language, partials, worker: this.inWorker });
      this.#stt = stt;
      if (partials) {
        stt.on('partial', (e: PartialEvent) => {
          this.#partial.textContent = `${e.text} …`;
          this.emit('partial', e);
        });
      }
      stt.on('segment', (e: SegmentEvent) => {
        this.#partial.textContent = '';
        this.#text.push(e.text);
        const at = `${e.start.toFixed(1)}–${e.end.toFixed(1)} s`;
        this.#list.append(el('li', { part: 'segment', textContent: `${e.text} (${at})` }));
        this.emit('segment', e);
      });
      stt.on('vad', (e: VadEvent) => {
        if (e.type === 'speechStart') this.status('Hearing speech…');
        else this.status('Transcribing…');
        this.emit('vad', e);
      });
      stt.on('error', (e) => this.fail(e));
      const mic = await MicrophoneStream.open();
      this.#mic = mic;
      this.#stop = stt.listen(mic);
      this.status('Listening: speak, then pause; each sentence appears when you stop.');
    } catch (e) {
      this.stop();
      this.fail(e);
    }
  }
  stop(): void {
    this.setRunning(false);
    this.button.textContent = 'Start dictation';
    this.#stop?.();
    this.#stop = null;
    void this.#mic?.close();
    this.#mic = null;
    this.#stt?.free();
    this.#stt = null;
  }
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

if (typeof customElements !== 'undefined') {
  if (!customElements.get('shopfloor-camera')) customElements.define('shopfloor-camera', ShopfloorCamera);
  if (!customElements.get('shopfloor-voice')) customElements.define('shopfloor-voice', ShopfloorVoice);
  if (!customElements.get('shopfloor-dictation')) customElements.define('shopfloor-dictation', ShopfloorDictation);
}
