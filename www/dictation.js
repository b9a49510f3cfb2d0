// The dictation panel: the microphone through Silero VAD and Whisper (tiny.en for English, base
// for other languages), one line per utterance with its times, how long the text took after the
// speech ended, and the backend.
import { MicrophoneStream, Transcriber } from '../pkg/index.js';

const $ = (id) => document.getElementById(id);
const MODELS = {
  english: { url: new URL('../models/cache/whisper-tiny-en/manifest.json', import.meta.url), name: 'Whisper tiny.en', mb: 78 },
  multilingual: { url: new URL('../models/cache/whisper-base/manifest.json', import.meta.url), name: 'Whisper base', mb: 145 },
};

let mic = null;
let stt = null;
let stopListening = null;
let stopCounting = null;
/** Seconds of audio the microphone has given: the stream's clock, to time the text against. */
let heard = 0;

function status(text) {
  $('dictation-status').textContent = text;
}

function addSegment(e, waitedMs = (heard - e.end) * 1000) {
  const li = document.createElement('li');
  li.dataset.start = e.start.toFixed(2);
  li.lang = e.language;
  li.textContent = `${e.text} — ${e.start.toFixed(1)}-${e.end.toFixed(1)} s, ${e.language}, confidence ${(e.confidence * 100).toFixed(0)} %`;
  $('transcript').append(li);
  $('dictation-latency').textContent = `text ${Math.max(0, waitedMs).toFixed(0)} ms after the words ended (transcribed after 0.25 s of quiet, final at 0.5 s; transcription ${e.decodeMs.toFixed(0)} ms)`;
}

async function start() {
  $('dictation-start').disabled = true;
  try {
    const language = $('dictation-language').value;
    const model = language === 'en' ? MODELS.english : MODELS.multilingual;
    status(`Loading ${model.name} (${model.mb} MB the first time, then from the cache)…`);
    const prompt = $('dictation-prompt').value.trim() || undefined;
    // Partial results show the sentence while it is spoken (each is a transcription of it so far).
    stt = await Transcriber.create({ model: model.url, backend: $('dictation-backend').value, prompt, language, partials: true });
    stt.on('partial', (e) => ($('dictation-partial').textContent = `${e.text} …`));
    const info = stt.info();
    $('dictation-backend-used').textContent = `encoder: ${info.models[0].backend}, decoder: ${info.models[1].backend}`;
    stt.on('vad', (e) => status(e.type === 'speechStart' ? 'Hearing speech…' : 'Transcribing…'));
    stt.on('segment', (e) => {
      $('dictation-partial').textContent = '';
      addSegment(e);
      status('Listening: speak, then pause; each sentence appears when you stop.');
    });
    stt.on('error', (e) => status(`${e.code}: ${e.message}`));
    mic = await MicrophoneStream.open();
    heard = 0;
    stopCounting = mic.on('data', (chunk) => (heard += chunk.length / mic.sampleRate));
    stopListening = stt.listen(mic);
    $('dictation').dataset.running = 'true';
    $('dictation-start').textContent = 'Stop dictation';
    status('Listening: speak, then pause; each sentence appears when you stop.');
  } catch (e) {
    await stop();
    status(`${e.code ?? 'ERROR'}: ${e.message}`);
  } finally {
    $('dictation-start').disabled = false;
  }
}

async function stop() {
  stopListening?.();
  stopCounting?.();
  stopListening = stopCounting = null;
  $('dictation-start').disabled = true;
  // The microphone goes off at once; what it heard before is still transcribed, after any
  // sentences queued while the machine ran behind real time.
  await mic?.close();
  mic = null;
  if (stt) {
    status('Finishing: writing down what was said before you stopped…');
    const rest = await stt.finish().catch(() => []);
    for (const e of rest) if (e.type === 'segment') addSegment(e);
  }
  stt?.free();
  stt = null;
  $('dictation').dataset.running = 'false';
  $('dictation-start').textContent = 'Start dictation';
  $('dictation-start').disabled = false;
  status('The microphone is off.');
}

export function setupDictation() {
  $('dictation-start').addEventListener('click', () => ($('dictation').dataset.running === 'true' ? stop() : start()));
}
