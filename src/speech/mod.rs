//! Speech tasks over `audio/`: voice activity (Silero VAD), word posteriors from the speech
//! embeddings (`spotter`), commands decoded by an HMM grammar (`grammar`, `hmm`), custom commands
//! enrolled from a few recordings (`enrol`), the utterance gate, the whole voice-command pipeline
//! (`commands`), and speech to text (`whisper/`). Everything streams: events come out as soon as
//! they are settled.

pub mod commands;
pub mod enrol;
pub mod grammar;
pub mod hmm;
pub mod load;
pub mod manifest;
pub mod spotter;
pub mod utterance;
pub mod vad;
pub mod whisper;

pub use commands::{SpeechEvent, VoiceCommands, VoiceOptions};
pub use enrol::EnrolledCommand;
pub use grammar::Detection;
pub use manifest::SpeechManifest;
pub use spotter::{KeywordSpotter, WordFrame};
pub use utterance::PauseOptions;
pub use vad::{Vad, VadEvent, VadOptions};
