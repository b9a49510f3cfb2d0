// The microphone panel: live spectrogram, VAD meter, detected commands with confidence and
// latency, and the enrol flow (record a phrase 3 times, then say it). Audio stays in this tab.
import { MicrophoneStream, VoiceCommands } from '../pkg/index.js';

const $ = (id) => document.getElementById(id);
const MANIFEST = new URL('../models/speech/manifest.json', import.meta.url);
const TAKES = 3;
const TAKE_SECONDS = 2.5;
const DB_NAME = 'shopfloor-voice';

let mic = null;
let cmds = null;
let stopListening = null;
let raf = 0;

function status(text) {
  $('mic-status').textContent = text;
}

function store(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('voice');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('voice', mode);
      const req = fn(tx.objectStore('voice'));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
    };
  });
}

function drawSpectrogram(analyser, canvas) {
  const ctx = canvas.getContext('2d');
  const bins = new Uint8Array(analyser.frequencyBinCount);
  const draw = () => {
    analyser.getByteFrequencyData(bins);
    const { width, height } = canvas;
    ctx.drawImage(canvas, -1, 0); // scroll left one pixel
    // Show 0-8 kHz (what the models hear), low frequencies at the bottom.
    const top = Math.floor((bins.length * 8000) / (analyser.context.sampleRate / 2));
    for (let y = 0; y < height; y++) {
      const v = bins[Math.floor(((height - 1 - y) / height) * top)];
      ctx.fillStyle = `hsl(${240 - v * 0.9}, 90%, ${8 + v / 4}%)`;
      ctx.fillRect(width - 1, y, 1, 1);
    }
    $('vad-meter').value = cmds ? cmds.vadProbability : 0;
    raf = requestAnimationFrame(draw);
  };
  draw();
}

function addDetection(e) {
  const li = document.createElement('li');
  li.dataset.command = e.command;
  const latency = Math.max(0, (e.decidedAt - e.end) * 1000);
  li.textContent = `${e.command} — confidence ${(e.confidence * 100).toFixed(0)} %, ${e.start.toFixed(2)}-${e.end.toFixed(2)} s, decided ${latency.toFixed(0)} ms after the end`;
  $('commands').prepend(li);
  while ($('commands').children.length > 20) $('commands').lastChild.remove();
}

async function start() {
  $('mic-start').disabled = true;
  try {
    status('Loading the speech models…');
    const t0 = performance.now();
    const worker = $('worker').checked;
    cmds = await VoiceCommands.create({ model: MANIFEST, backend: $('mic-backend').value, worker });
    const saved = (await store('readonly', (s) => s.get('enrolled')).catch(() => null)) ?? [];
    for (const c of saved) {
      try {
        await cmds.addEnrolled(c);
      } catch (e) {
        console.warn('dropping a saved command', e);
      }
    }
    const info = await cmds.info();
    $('mic-backend-used').textContent = [...new Set(info.models.map((m) => m.backend))].join(' + ') + (worker ? ' · in a Web Worker' : '');
    $('mic-vocab').textContent = cmds.commands.join(', ');
    cmds.on('command', addDetection);
    cmds.on('vad', (e) => {
      $('mic-speech').textContent = e.type === 'speechStart' ? 'speaking' : 'silence';
    });
    cmds.on('error', (e) => status(`${e.code}: ${e.message}`));
    mic = await MicrophoneStream.open();
    stopListening = cmds.listen(mic);
    const analyser = mic.context.createAnalyser();
    analyser.fftSize = 1024;
    mic.source.connect(analyser);
    drawSpectrogram(analyser, $('spectrogram'));
    $('mic').dataset.running = 'true';
    $('enrol-record').disabled = false;
    status(`Listening (${mic.sampleRate} Hz → 16 kHz, models loaded in ${Math.round(performance.now() - t0)} ms). Say a command on its own, with a short pause before it.`);
  } catch (e) {
    status(`${e.code ?? 'ERROR'}: ${e.message}`);
    $('mic-start').disabled = false;
  }
}

async function enrol() {
  const name = $('enrol-name').value.trim();
  if (!name) {
    $('enrol-status').textContent = 'Type a name for the command first.';
    return;
  }
  $('enrol-record').disabled = true;
  try {
    const takes = [];
    for (let i = 0; i < TAKES; i++) {
      $('enrol-status').textContent = `Take ${i + 1} of ${TAKES}: say “${name}” now…`;
      takes.push(await mic.record(TAKE_SECONDS));
    }
    $('enrol-status').textContent = 'Training…';
    await cmds.enrol(name, takes);
    await store('readwrite', (s) => s.put(cmds.enrolled, 'enrolled'));
    $('mic-vocab').textContent = cmds.commands.join(', ');
    $('enrol-status').textContent = `“${name}” enrolled. Say it to test.`;
  } catch (e) {
    $('enrol-status').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
  } finally {
    $('enrol-record').disabled = false;
  }
}

export function setupMicrophone() {
  $('mic-start').addEventListener('click', start);
  $('enrol-record').addEventListener('click', enrol);
  addEventListener('pagehide', () => {
    cancelAnimationFrame(raf);
    stopListening?.();
    mic?.close();
  });
}
