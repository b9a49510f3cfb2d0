//! Speech to text on the device with Whisper (converted to ONNX by `scripts/export/whisper.py`):
//! the log-mel front end, the tokenizer, the decoding rules and the windowing are here; the
//! encoder and the one-token decoder are ordinary models on the SDK's backends.

pub mod decoder;
pub mod fallback;
pub mod language;
pub mod manifest;
pub mod mel;
pub mod rules;
pub mod stream;
pub mod tokenizer;
pub mod transcriber;
pub mod transcript;
pub mod wer;

pub use manifest::TranscriberManifest;
pub use stream::{DictationEvent, PartialEvent, SegmentEvent};
pub use transcriber::{TranscribeOptions, Transcriber};
pub use transcript::{Segment, TokenProb, Transcript};
