// What `Transcriber` answers and emits.
import type { VadEvent } from '../speech/result.js';

/** One token of a segment and the decoder's probability for it. */
export interface TranscriptToken {
  text: string;
  probability: number;
}

/** A stretch of text with its times (seconds from the start of the audio or stream). */
export interface TranscriptSegment {
  text: string;
  start: number;
  end: number;
  /** Geometric mean of the token probabilities (0-1). */
  confidence: number;
  /** The temperature its window was decoded at: 0, unless the temperature fallback had to retry it. */
  temperature: number;
  /** The language it was decoded in (`"en"`, `"de"`, …; always `"en"` for English-only models). */
  language: string;
  tokens: TranscriptToken[];
}

export interface Transcript {
  /** The whole text (segments joined by spaces). Not normalised: casing, digits, punctuation as the model writes them. */
  text: string;
  segments: TranscriptSegment[];
  /** Seconds of audio. */
  duration: number;
  /** The language it was decoded in (set or detected); absent when nothing was decoded (silence). */
  language?: string;
}

/** An utterance of live dictation, transcribed when it ended. */
export interface SegmentEvent extends TranscriptSegment {
  type: 'segment';
  /** Milliseconds its transcription took (transcription starts after 0.25 s of quiet, so the text arrives about that long after the words ended, plus 0.25 s). */
  decodeMs: number;
}

/** The text so far of an utterance still going on (`partials: true`); later partials and then its segments replace it. */
export interface PartialEvent {
  type: 'partial';
  text: string;
  /** Stream seconds the utterance began, and how far it was heard. */
  start: number;
  end: number;
  decodeMs: number;
}

/** What live dictation's `feed` and `finish` resolve to (each also emitted to its listeners). */
export type DictationEvent = SegmentEvent | PartialEvent | VadEvent;
