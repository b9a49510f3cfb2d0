/**
 * shopfloor: image (CNN) and speech models inside the browser, on the GPU through WebGPU or on
 * the CPU through WebAssembly SIMD. Camera frames and audio never leave the device.
 *
 * This file only re-exports: each part of the API lives in its own module.
 * @module
 */
export { ShopfloorError, type ErrorCode } from './errors.js';
export type { Backends, CpuBackendInfo, GpuAdapterInfo, GpuBackendStatus, InitOptions, MemoryStats, WasmSource } from './runtime.js';
export { backends, init, memoryStats, version } from './runtime-impl.js';
export type { BackendChoice, DType, DTypeArrays, FetchOptions, GpuPlanInfo, IoInfo, LoadOptions, LoadProgress, ModelInfo, OpInfo, Tensor } from './model/model.js';
export { Model, tensor, type ModelSource } from './model/model-impl.js';
export { modelCache, type CachedModel } from './model/cache.js';
export type { InWorker, Remote } from './remote/remote.js';

export { readFrame, type FrameSource } from './vision/frames.js';
export type { Manifest, PipelineOptions, TextReaderOptions } from './vision/options.js';
export type { Box, Classification, Detection, Explanation, Face, SvmPrediction, SvmTrainReport, TextLine } from './vision/result.js';
export { ImageClassifier } from './vision/image-classifier.js';
export { FaceDetector } from './vision/face-detector.js';
export { ObjectDetector } from './vision/object-detector.js';
export { TextReader } from './vision/text-reader.js';
export { Embedder } from './vision/embedder.js';
export { LinearSvm, type SvmOptions } from './vision/linear-svm.js';
export { blurFaces } from './vision/blur-faces.js';

export type { AudioFeatureOptions, KeywordSpotterOptions, MicrophoneOptions, VadCreateOptions, VadOptions, VoiceCommandsOptions } from './speech/options.js';
export type { AudioFeatureFrames, CommandEvent, EnrolledCommand, VadEvent, WordFrame } from './speech/result.js';
export type { ChunkSource, Recording } from './speech/samples.js';
export { VoiceCommands } from './speech/voice-commands.js';
export { KeywordSpotter } from './speech/keyword-spotter.js';
export { Vad } from './speech/vad.js';
export { AudioFeatures } from './speech/audio-features.js';
export { MicrophoneStream } from './speech/microphone.js';

export type { TranscriberOptions } from './transcribe/options.js';
export type { DictationEvent, PartialEvent, SegmentEvent, Transcript, TranscriptSegment, TranscriptToken } from './transcribe/result.js';
export { Transcriber } from './transcribe/transcriber.js';
