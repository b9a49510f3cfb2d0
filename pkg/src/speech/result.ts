// What the speech pipelines answer and emit.

/** A detected command; times in seconds since the stream began. */
export interface CommandEvent {
  type: 'command';
  command: string;
  /** Mean posterior of the command's words over the frames Viterbi gave them (0-1). */
  confidence: number;
  start: number;
  end: number;
  /** Stream time at which it was decided: `decidedAt - end` is the latency. */
  decidedAt: number;
}

export type VadEvent = { type: 'speechStart'; time: number } | { type: 'speechEnd'; start: number; end: number };

/** A custom command as `enrol` returns it: store it and pass it to `addEnrolled` later. */
export interface EnrolledCommand {
  name: string;
  hmm: { start: number[]; trans: number[][]; states: { mean: number[]; var: number[] }[] };
  background: { mean: number[]; var: number[] };
  threshold: number;
  recordings: number;
}

/** One 80 ms frame of the keyword spotter. */
export interface WordFrame {
  index: number;
  /** End of the frame, seconds since the stream began. */
  time: number;
  /** P(word ended within the last ~0.4 s) for each of `labels` (vocabulary, then "filler"). */
  posteriors: number[];
}

/** Feature frames, time-major: `data[t * bins + b]` (librosa returns the transpose, `(bins, frames)`). */
export interface AudioFeatureFrames {
  frames: number;
  bins: number;
  data: Float32Array;
}
