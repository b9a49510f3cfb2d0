// What a remote object (`{ worker: true }`) mirrors of its worker-side twin: read after creation
// and after every call, so these stay synchronous properties on the main thread.
export const LIVE_PROPS = {
  Model: ['inputs', 'outputs'],
  ImageClassifier: ['labels', 'embeddingSize'],
  KeywordSpotter: ['labels'],
  VoiceCommands: ['commands', 'words', 'vadProbability', 'enrolled'],
};

/** The methods each kind offers through the worker (all return promises there). */
export const METHODS = {
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
export const FRAME_ARGS = { classify: 0, embed: 0, explain: 0, detect: 0, read: 0 };
