// What the streaming speech pipelines share: listen() on a microphone, and the voice manifest's files.
import { ShopfloorError } from '../errors.js';
import { fileRefs, type ManifestJson } from '../manifest.js';
import { MicrophoneStream } from './microphone.js';

/** Streams audio into `pipeline.feed` from a MicrophoneStream; returns a function that stops it. */
export function attach(pipeline: { feed(samples: Float32Array, sampleRate: number): Promise<unknown> }, mic: MicrophoneStream, onError: (e: unknown) => void): () => void {
  if (!(mic instanceof MicrophoneStream)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'listen() takes a MicrophoneStream (MicrophoneStream.open())');
  }
  return mic.on('data', (samples) => {
    pipeline.feed(samples, mic.sampleRate).catch(onError);
  });
}

/** The voice-command manifest's files, in the order the core takes them. */
export function voiceFiles(manifest: ManifestJson) {
  const frontend = manifest.frontend as Record<string, unknown> | undefined;
  return fileRefs([frontend?.melspectrogram, frontend?.embedding, manifest.head, manifest.vad], 'the manifest must name frontend.melspectrogram, frontend.embedding, head and vad files');
}
