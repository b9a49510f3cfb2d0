//! The speech pipeline from its manifest and the bytes of the files it names: each file checked
//! against the manifest's sha256, shapes pinned so every model compiles one plan at load.

use super::commands::{VoiceCommands, VoiceOptions};
use super::manifest::{FileRef, SpeechManifest};
use super::spotter::KeywordSpotter;
use super::vad::{Vad, VadOptions};
use crate::audio::frontend::{Frontend, CHUNK, EMBEDDING_DIMS, MEL_WINDOW};
use crate::{Error, LoadOptions, Model, Result};

async fn model(bytes: &[u8], f: &FileRef, opts: &LoadOptions, shapes: &[(&str, &[usize])]) -> Result<Model> {
    let mut opts = opts.clone();
    if opts.sha256.is_none() {
        opts.sha256.clone_from(&f.sha256);
    }
    opts.input_shapes = shapes.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect();
    Model::load_async(bytes, &opts).await
}

/// The files a manifest needs, in the order `voice_commands` takes them.
pub fn files(m: &SpeechManifest) -> [&FileRef; 4] {
    [&m.frontend.melspectrogram, &m.frontend.embedding, &m.head.file, &m.vad]
}

fn check_count(files: &[Vec<u8>], want: usize, what: &str) -> Result<()> {
    if files.len() != want {
        return Err(Error::InvalidArgument(format!("{what} takes {want} model files, {} given", files.len())));
    }
    Ok(())
}

async fn frontend(m: &SpeechManifest, mel: &[u8], emb: &[u8], opts: &LoadOptions) -> Result<Frontend> {
    let mel_in = [1, CHUNK + 480];
    let emb_in = [1, MEL_WINDOW, 32, 1];
    let mel = model(mel, &m.frontend.melspectrogram, opts, &[("input", &mel_in)]).await?;
    let embed = model(emb, &m.frontend.embedding, opts, &[("input_1", &emb_in)]).await?;
    Frontend::new(mel, embed)
}

async fn head(m: &SpeechManifest, bytes: &[u8], opts: &LoadOptions) -> Result<Model> {
    model(bytes, &m.head.file, opts, &[]).await.and_then(|h| {
        let want = [1, m.head.stack, EMBEDDING_DIMS];
        match h.inputs() {
            [i] if i
                .shape
                .as_ref()
                .and_then(|s| s.iter().map(crate::model::Dim::fixed).collect::<Option<Vec<_>>>())
                .as_deref()
                == Some(&want[..]) =>
            {
                Ok(h)
            }
            _ => Err(Error::ModelInvalid(format!("the command head must take one input of shape {want:?}"))),
        }
    })
}

pub async fn vad(m: &FileRef, bytes: &[u8], vad_opts: VadOptions, opts: &LoadOptions) -> Result<Vad> {
    let input = [1, 64 + super::vad::WINDOW];
    let state = [2, 1, 128];
    Vad::new(model(bytes, m, opts, &[("input", &input), ("state", &state)]).await?, vad_opts)
}

/// `files`: mel spectrogram, embedding, command head, VAD (see `files`).
pub async fn voice_commands(
    m: SpeechManifest,
    files: &[Vec<u8>],
    opts: &LoadOptions,
    vo: VoiceOptions,
) -> Result<VoiceCommands> {
    check_count(files, 4, "voice commands")?;
    let fe = frontend(&m, &files[0], &files[1], opts).await?;
    let h = head(&m, &files[2], opts).await?;
    let v = vad(&m.vad, &files[3], vo.vad.clone(), opts).await?;
    VoiceCommands::new(m, fe, h, v, vo)
}

/// `files`: mel spectrogram, embedding, command head.
pub async fn keyword_spotter(m: &SpeechManifest, files: &[Vec<u8>], opts: &LoadOptions) -> Result<KeywordSpotter> {
    check_count(files, 3, "a keyword spotter")?;
    let fe = frontend(m, &files[0], &files[1], opts).await?;
    let h = head(m, &files[2], opts).await?;
    KeywordSpotter::new(fe, h, m.head.stack, m.words.len() + 1)
}
