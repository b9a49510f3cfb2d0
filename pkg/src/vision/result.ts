// What the vision pipelines answer.

/** A box in source pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Classification {
  label: string;
  /** Probability, 0..1. */
  score: number;
  classIndex: number;
}

export interface Explanation extends Classification {
  /** The class activation map over the source frame: a blue→red overlay whose opacity follows the evidence; draw it over the frame. */
  heatmap: ImageData;
  /** The same map as numbers in 0..1, row-major, `heatmap.width × heatmap.height`. */
  heat: Float32Array;
}

export interface Face {
  box: Box;
  score: number;
  /** Six [x, y] landmarks in source pixels: right eye, left eye, nose tip, mouth, right ear, left ear (the subject's right/left). */
  keypoints: [number, number][];
}

export interface Detection {
  box: Box;
  score: number;
  classIndex: number;
  label: string;
}

export interface TextLine {
  text: string;
  /** Mean of the characters' confidences. */
  confidence: number;
  /** Corners in source pixels: top-left, top-right, bottom-right, bottom-left. */
  box: [[number, number], [number, number], [number, number], [number, number]];
  chars: { char: string; confidence: number }[];
  /** Whether the orientation classifier turned the line 180° before reading it. */
  rotated: boolean;
}

export interface SvmPrediction {
  label: string;
  classIndex: number;
  /** The winning class's decision value `w·x + b` (positive: on its side of the margin). */
  decision: number;
  /** Every class's decision value, best first. */
  scores: { label: string; decision: number }[];
}

export interface SvmTrainReport {
  examples: number;
  classes: number;
  iterations: number;
  converged: boolean;
}
