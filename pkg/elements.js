// Custom elements for pages the SDK's authors never see (factory portals): one script tag
// (`<script type="module" src=".../shopfloor/elements.js">`) defines
//   <shopfloor-camera model="manifest.json" task="classify|faces|text">
//   <shopfloor-voice model="manifest.json" commands="stop, line two">
//   <shopfloor-dictation model="whisper-tiny-en/manifest.json" prompt="bracket KX-4471">
// They fire DOM events with results, expose CSS parts for styling, and need nothing a strict
// Content-Security-Policy forbids (styles go through constructable stylesheets, not <style>).
import { FaceDetector, ImageClassifier, TextReader } from './vision.js';
import { MicrophoneStream, VoiceCommands } from './speech.js';
import { Transcriber } from './transcribe.js';

const TASKS = { classify: ImageClassifier, faces: FaceDetector, text: TextReader };

function sheet(css) {
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

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  if (props.part) e.setAttribute('part', props.part);
  e.append(...children);
  return e;
}

function errorDetail(e) {
  return { code: e?.code ?? 'INTERNAL', message: e?.message ?? String(e) };
}

// Importable where there is no DOM (a worker, a server render): the elements are then not defined.
const Element = globalThis.HTMLElement ?? class {};

/** Shared: status line, start/stop button, `error` events, the `backend` and `worker` attributes. */
class Base extends Element {
  running = false;
  constructor(css) {
    super();
    this.attachShadow({ mode: 'open' }).adoptedStyleSheets = [css];
    this.button = el('button', { type: 'button', part: 'button', textContent: 'Start' });
    this.statusLine = el('p', { part: 'status', role: 'status' });
    this.button.addEventListener('click', () => (this.running ? this.stop() : this.start()));
  }
  get backend() {
    return this.getAttribute('backend') ?? 'auto';
  }
  /** Models run in the SDK's worker unless the element says `worker="false"`. */
  get inWorker() {
    return this.getAttribute('worker') !== 'false';
  }
  status(text) {
    this.statusLine.textContent = text;
  }
  fail(e) {
    this.status(`${e?.code ?? 'ERROR'}: ${e?.message ?? e}`);
    this.dispatchEvent(new CustomEvent('error', { detail: errorDetail(e), bubbles: true, composed: true }));
  }
  connectedCallback() {
    if (this.hasAttribute('autostart') && !this.running) this.start();
  }
  disconnectedCallback() {
    this.stop();
  }
}

/**
 * `<shopfloor-camera model task backend worker autostart top-k>`: the webcam through a vision
 * pipeline. Events: `result` ({ task, results, latencyMs }), `error` ({ code, message }).
 * Parts: video, overlay, results, status, button.
 */
export class ShopfloorCamera extends Base {
  static observedAttributes = ['model', 'task', 'backend', 'worker'];
  #pipeline = null;
  #stream = null;
  constructor() {
    super(CAMERA_CSS);
    this.video = el('video', { part: 'video', muted: true, playsInline: true });
    this.overlay = el('canvas', { part: 'overlay' });
    this.results = el('ol', { part: 'results' });
    this.button.textContent = 'Start camera';
    this.shadowRoot.append(el('div', { className: 'stage' }, this.video, this.overlay), this.button, this.statusLine, this.results);
    this.status('The camera is off. Frames are processed on this device and never uploaded.');
  }
  get task() {
    return this.getAttribute('task') ?? 'classify';
  }
  attributeChangedCallback(_name, old, value) {
    if (old === value || !this.#pipeline) return;
    // A different model, task or backend: the next frame loads it.
    this.#pipeline.then((p) => p.free()).catch(() => {});
    this.#pipeline = null;
  }
  async start() {
    if (this.running) return;
    const Make = TASKS[this.task];
    if (!Make) return this.fail({ code: 'INVALID_ARGUMENT', message: `task="${this.task}": use classify, faces or text` });
    if (!this.getAttribute('model')) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of a manifest.json' });
    this.running = true;
    this.button.textContent = 'Stop camera';
    try {
      this.status('Opening the camera…');
      this.#stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      this.video.srcObject = this.#stream;
      await this.video.play();
      this.#loop();
    } catch (e) {
      this.stop();
      this.fail(e?.name === 'NotAllowedError' ? { code: 'PERMISSION_DENIED', message: 'camera access was refused: allow it for this page' } : e);
    }
  }
  stop() {
    this.running = false;
    this.button.textContent = 'Start camera';
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#stream = null;
  }
  async #loop() {
    while (this.running && this.isConnected) {
      try {
        if (!this.#pipeline) {
          this.status(`Loading the ${this.task} model…`);
          const Make = TASKS[this.task];
          const options = { model: this.getAttribute('model'), backend: this.backend, worker: this.inWorker };
          // On WebGPU the text detector takes one input size: the camera's longer side.
          if (this.task === 'text' && this.backend === 'webgpu') options.fixedSide = Math.max(this.video.videoWidth, this.video.videoHeight, 32);
          this.#pipeline = Make.create(options);
        }
        const p = await this.#pipeline;
        const t0 = performance.now();
        const task = this.task;
        const results = task === 'classify' ? await p.classify(this.video, { topK: Number(this.getAttribute('top-k')) || 3 }) : task === 'faces' ? await p.detect(this.video) : await p.read(this.video);
        const latencyMs = performance.now() - t0;
        this.#draw(task, results);
        this.status(`Running (${latencyMs.toFixed(0)} ms per frame). Frames never leave this device.`);
        this.dispatchEvent(new CustomEvent('result', { detail: { task, results, latencyMs }, bubbles: true, composed: true }));
      } catch (e) {
        this.#pipeline = null;
        this.fail(e);
        await new Promise((r) => setTimeout(r, 1000));
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }
  #draw(task, results) {
    const ctx = this.overlay.getContext('2d');
    [this.overlay.width, this.overlay.height] = [this.video.videoWidth, this.video.videoHeight];
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    ctx.lineWidth = Math.max(2, this.overlay.width / 300);
    ctx.strokeStyle = getComputedStyle(this).getPropertyValue('--shopfloor-box-color').trim() || '#2ee66b';
    const items = [];
    if (task === 'classify') {
      for (const c of results) items.push(`${c.label} ${(c.score * 100).toFixed(1)}%`);
    } else if (task === 'faces') {
      for (const f of results) {
        ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
        items.push(`face ${(f.score * 100).toFixed(0)}%`);
      }
    } else {
      for (const l of results) {
        ctx.beginPath();
        l.box.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath();
        ctx.stroke();
        items.push(l.text);
      }
    }
    this.results.replaceChildren(...items.map((t) => el('li', { part: 'result', textContent: t })));
  }
}

/**
 * `<shopfloor-voice model commands backend worker autostart>`: voice commands from the
 * microphone. Events: `command` (CommandEvent), `vad` (VadEvent), `error` ({ code, message }).
 * Parts: button, status, vad, commands, command.
 */
export class ShopfloorVoice extends Base {
  #cmds = null;
  #mic = null;
  #stop = null;
  constructor() {
    super(VOICE_CSS);
    this.meter = el('meter', { part: 'vad', min: 0, max: 1, value: 0 });
    this.list = el('ol', { part: 'commands' });
    this.button.textContent = 'Start microphone';
    this.shadowRoot.append(this.button, this.meter, this.statusLine, this.list);
    this.status('The microphone is off. Audio is processed on this device and never uploaded.');
  }
  async start() {
    if (this.running) return;
    if (!this.getAttribute('model')) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of the voice-command manifest.json' });
    this.running = true;
    this.button.textContent = 'Stop microphone';
    try {
      this.status('Loading the speech models…');
      const commands = this.getAttribute('commands')?.split(',').map((c) => c.trim()).filter(Boolean);
      this.#cmds = await VoiceCommands.create({ model: this.getAttribute('model'), backend: this.backend, commands, worker: this.inWorker });
      this.#cmds.on('command', (e) => {
        this.list.prepend(el('li', { part: 'command', textContent: `${e.command} (${Math.round(e.confidence * 100)}%)` }));
        this.dispatchEvent(new CustomEvent('command', { detail: e, bubbles: true, composed: true }));
      });
      this.#cmds.on('vad', (e) => this.dispatchEvent(new CustomEvent('vad', { detail: e, bubbles: true, composed: true })));
      this.#cmds.on('error', (e) => this.fail(e));
      this.#mic = await MicrophoneStream.open();
      const stopFeeding = this.#cmds.listen(this.#mic);
      const meter = this.#mic.on('data', () => (this.meter.value = this.#cmds?.vadProbability ?? 0));
      this.#stop = () => {
        stopFeeding();
        meter();
      };
      this.status(`Listening for: ${this.#cmds.commands.join(', ')}.`);
    } catch (e) {
      this.stop();
      this.fail(e);
    }
  }
  stop() {
    this.running = false;
    this.button.textContent = 'Start microphone';
    this.#stop?.();
    this.#stop = null;
    this.#mic?.close();
    this.#mic = null;
    this.#cmds?.free();
    this.#cmds = null;
  }
}

/**
 * `<shopfloor-dictation model prompt backend worker partials autostart>`: live dictation from the
 * microphone, one line per utterance with its time (with `partials`, the utterance's text also
 * shows while it is spoken). Events: `segment` (SegmentEvent), `partial` (PartialEvent), `vad`
 * (VadEvent), `error` ({ code, message }). Parts: button, status, segments, segment, partial; the
 * whole text so far is the `text` property.
 */
export class ShopfloorDictation extends Base {
  #stt = null;
  #mic = null;
  #stop = null;
  #text = [];
  constructor() {
    super(VOICE_CSS);
    this.list = el('ol', { part: 'segments' });
    this.partial = el('p', { part: 'partial' });
    this.button.textContent = 'Start dictation';
    this.shadowRoot.append(this.button, this.statusLine, this.list, this.partial);
    this.status('The microphone is off. Audio is transcribed on this device and never uploaded.');
  }
  /** Everything transcribed since the element started. */
  get text() {
    return this.#text.join(' ');
  }
  async start() {
    if (this.running) return;
    if (!this.getAttribute('model')) return this.fail({ code: 'INVALID_ARGUMENT', message: 'set the model attribute to the URL of the speech-to-text manifest.json' });
    this.running = true;
    this.button.textContent = 'Stop dictation';
    try {
      this.status('Loading the speech-to-text model…');
      const prompt = this.getAttribute('prompt') ?? undefined;
      const partials = this.hasAttribute('partials');
      this.#stt = await Transcriber.create({ model: this.getAttribute('model'), backend: this.backend, prompt, partials, worker: this.inWorker });
      if (partials) {
        this.#stt.on('partial', (e) => {
          this.partial.textContent = `${e.text} …`;
          this.dispatchEvent(new CustomEvent('partial', { detail: e, bubbles: true, composed: true }));
        });
      }
      this.#stt.on('segment', (e) => {
        this.partial.textContent = '';
        this.#text.push(e.text);
        const at = `${e.start.toFixed(1)}–${e.end.toFixed(1)} s`;
        this.list.append(el('li', { part: 'segment', textContent: `${e.text} (${at})` }));
        this.dispatchEvent(new CustomEvent('segment', { detail: e, bubbles: true, composed: true }));
      });
      this.#stt.on('vad', (e) => {
        if (e.type === 'speechStart') this.status('Hearing speech…');
        else this.status('Transcribing…');
        this.dispatchEvent(new CustomEvent('vad', { detail: e, bubbles: true, composed: true }));
      });
      this.#stt.on('error', (e) => this.fail(e));
      this.#mic = await MicrophoneStream.open();
      this.#stop = this.#stt.listen(this.#mic);
      this.status('Listening: speak, then pause; each sentence appears when you stop.');
    } catch (e) {
      this.stop();
      this.fail(e);
    }
  }
  stop() {
    this.running = false;
    this.button.textContent = 'Start dictation';
    this.#stop?.();
    this.#stop = null;
    this.#mic?.close();
    this.#mic = null;
    this.#stt?.free();
    this.#stt = null;
  }
}

if (typeof customElements !== 'undefined') {
  if (!customElements.get('shopfloor-camera')) customElements.define('shopfloor-camera', ShopfloorCamera);
  if (!customElements.get('shopfloor-voice')) customElements.define('shopfloor-voice', ShopfloorVoice);
  if (!customElements.get('shopfloor-dictation')) customElements.define('shopfloor-dictation', ShopfloorDictation);
}
