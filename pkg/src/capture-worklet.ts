// The microphone capture worklet (an AudioWorkletProcessor, loaded by MicrophoneStream from
// this file so that pages with a strict Content-Security-Policy need no blob: URLs): mixes to
// mono and posts fixed-size chunks (transferred, not copied).

// The AudioWorkletGlobalScope's names (lib.dom describes the page, not the worklet).
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}
declare function registerProcessor(name: string, processor: new (options: { processorOptions: { chunkSize: number } }) => AudioWorkletProcessor): void;

class ShopfloorCapture extends AudioWorkletProcessor {
  size: number;
  buf: Float32Array;
  n = 0;
  stopped = false;
  constructor(options: { processorOptions: { chunkSize: number } }) {
    super();
    this.size = options.processorOptions.chunkSize;
    this.buf = new Float32Array(this.size);
    this.port.onmessage = (e) => {
      if (e.data === 'stop') this.stopped = true;
    };
  }
  process(inputs: Float32Array[][]): boolean {
    const input = inputs[0];
    if (this.stopped) return false;
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < input.length; c++) s += input[c][i];
      this.buf[this.n++] = s / input.length;
      if (this.n === this.size) {
        this.port.postMessage(this.buf, [this.buf.buffer]);
        this.buf = new Float32Array(this.size);
        this.n = 0;
      }
    }
    return true;
  }
}
registerProcessor('shopfloor-capture', ShopfloorCapture);
export {};
