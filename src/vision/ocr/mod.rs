//! Reading text (serial numbers, lot codes): PP-OCR's detector → DB boxes → crop each line
//! upright → optional 0°/180° classifier → recogniser → CTC greedy decoding with per-character
//! confidences.

mod ctc;
mod db;
pub mod geometry;

pub use ctc::{ctc_greedy, CharScore};
pub use db::{boxes_from_map, round_side, DbParams, LimitType};

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::image::{warp_affine, RgbaImage};
use super::model_ref::{ModelRef, Provenance};
use super::preprocess::{Fit, InputSpec};
use super::run::{forward, forward_frame, input_name, take};
use crate::model::peek;
use crate::{BackendChoice, Error, HostTensor, LoadOptions, Model, Result};
use geometry::Pt;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextModels {
    pub detector: ModelRef,
    pub recognizer: ModelRef,
    /// The 0°/180° line classifier; lines are read as they are without it.
    #[serde(default)]
    pub orientation: Option<ModelRef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub models: TextModels,
    #[serde(default)]
    pub detection: DbParams,
    pub recognition: RecParams,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecParams {
    /// Where the character list is: the recogniser's `metadata_props` key (PaddleOCR exports
    /// keep it under `character`), or given inline.
    #[serde(default)]
    pub charset_metadata: Option<String>,
    #[serde(default)]
    pub charset: Option<Vec<String>>,
    /// Lines are padded to at least this width (PP-OCR's 320 for a 48-pixel height).
    #[serde(default = "min_width")]
    pub min_width: usize,
    #[serde(default = "max_width")]
    pub max_width: usize,
    /// Lines read with a lower mean confidence are dropped (RapidOCR's `text_score`).
    #[serde(default = "text_score")]
    pub min_confidence: f32,
    /// The orientation classifier must be this sure before a line is turned 180°.
    #[serde(default = "orientation_threshold")]
    pub orientation_threshold: f32,
}

fn min_width() -> usize {
    320
}
fn max_width() -> usize {
    1600
}
fn text_score() -> f32 {
    0.5
}
fn orientation_threshold() -> f32 {
    0.9
}

/// One line of text in source pixels: corners top-left, top-right, bottom-right, bottom-left.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextLine {
    pub text: String,
    pub confidence: f32,
    #[serde(rename = "box")]
    pub corners: [[f32; 2]; 4],
    pub chars: Vec<CharScore>,
    /// Whether the orientation classifier turned the line 180° before reading it.
    pub rotated: bool,
}

pub struct TextReader {
    det: Model,
    rec: Recognizer,
    cls: Option<Model>,
    manifest: TextManifest,
    names: [String; 3],
    charset: Vec<String>,
}

/// The recogniser: on the CPU one model reads any line width (a plan per width bucket, cached);
/// a GPU plan has one shape, so on WebGPU there is one model per width bucket, each loaded the
/// first time a line needs that width (the bytes stay in memory for it).
pub enum Recognizer {
    AnyWidth(Box<Model>),
    PerWidth { bytes: Vec<u8>, opts: LoadOptions, input: String, height: usize, models: BTreeMap<usize, Model> },
}

impl Recognizer {
    /// A WebGPU recogniser whose first model is `model`, loaded with `opts` pinning its input to
    /// `[1, 3, height, width]`.
    pub fn per_width(bytes: Vec<u8>, opts: LoadOptions, height: usize, width: usize, model: Model) -> Self {
        let input = opts.input_shapes.first().map(|(name, _)| name.clone()).unwrap_or_default();
        // The bytes were checked against the manifest's hash by the first load.
        let opts = LoadOptions { sha256: None, ..opts };
        Recognizer::PerWidth { bytes, opts, input, height, models: BTreeMap::from([(width, model)]) }
    }

    fn any(&self) -> Result<&Model> {
        match self {
            Recognizer::AnyWidth(m) => Ok(m),
            Recognizer::PerWidth { models, .. } => {
                models.values().next().ok_or_else(|| Error::InvalidArgument("the recogniser has no model".into()))
            }
        }
    }

    async fn for_width(&mut self, width: usize) -> Result<&mut Model> {
        match self {
            Recognizer::AnyWidth(m) => Ok(m),
            Recognizer::PerWidth { bytes, opts, input, height, models } => match models.entry(width) {
                Entry::Occupied(e) => Ok(e.into_mut()),
                Entry::Vacant(e) => {
                    let pinned = |backend| LoadOptions {
                        backend,
                        input_shapes: vec![(input.clone(), vec![1, 3, *height, width])],
                        ..opts.clone()
                    };
                    // A device that has gone away since the reader was made: the new width is
                    // read on the CPU, like the models already loaded after a device loss.
                    let m = match Model::load_async(&bytes[..], &pinned(opts.backend)).await {
                        Err(Error::BackendUnavailable { .. }) => {
                            Model::load_async(&bytes[..], &pinned(BackendChoice::Cpu)).await?
                        }
                        r => r?,
                    };
                    Ok(e.insert(m))
                }
            },
        }
    }
}

impl TextReader {
    /// `rec_bytes` are the recogniser's bytes (its character list may live in its metadata).
    pub fn new(
        det: Model,
        rec: Recognizer,
        cls: Option<Model>,
        manifest: TextManifest,
        rec_bytes: &[u8],
    ) -> Result<Self> {
        for m in
            [&manifest.models.detector, &manifest.models.recognizer].into_iter().chain(&manifest.models.orientation)
        {
            m.input.validate()?;
        }
        if manifest.models.orientation.is_some() != cls.is_some() {
            return Err(Error::InvalidArgument("the manifest's orientation model and the one given disagree".into()));
        }
        let r = &manifest.recognition;
        let mut charset = vec!["".to_string()]; // index 0: the CTC blank
        match (&r.charset, &r.charset_metadata) {
            (Some(list), _) => charset.extend(list.iter().cloned()),
            (None, Some(key)) => {
                let text = peek::metadata(rec_bytes, key).ok_or_else(|| {
                    Error::ModelInvalid(format!("the recogniser has no \"{key}\" metadata (the character list)"))
                })?;
                charset.extend(text.split('\n').map(str::to_string));
            }
            (None, None) => {
                return Err(Error::InvalidArgument("the manifest gives no charset for the recogniser".into()))
            }
        }
        charset.push(" ".into()); // PP-OCR's `use_space_char`
        let names = [
            input_name(&det, &manifest.models.detector.input.name)?,
            input_name(rec.any()?, &manifest.models.recognizer.input.name)?,
            match (&cls, &manifest.models.orientation) {
                (Some(c), Some(m)) => input_name(c, &m.input.name)?,
                _ => String::new(),
            },
        ];
        Ok(TextReader { det, rec, cls, manifest, names, charset })
    }

    pub fn models(&self) -> Vec<&Model> {
        let mut v = vec![&self.det];
        match &self.rec {
            Recognizer::AnyWidth(m) => v.push(m),
            Recognizer::PerWidth { models, .. } => v.extend(models.values()),
        }
        v.extend(self.cls.as_ref());
        v
    }

    pub fn params_mut(&mut self) -> &mut DbParams {
        &mut self.manifest.detection
    }

    /// Text lines, top to bottom then left to right.
    pub async fn read(&mut self, img: &RgbaImage) -> Result<Vec<TextLine>> {
        let quads = self.detect(img).await?;
        let mut lines = Vec::with_capacity(quads.len());
        for q in quads {
            if let Some(line) = self.read_line(img, q).await? {
                lines.push(line);
            }
        }
        Ok(lines)
    }

    /// Line quadrilaterals in source pixels.
    pub async fn detect(&mut self, img: &RgbaImage) -> Result<Vec<[Pt; 4]>> {
        let p = self.manifest.detection.clone();
        let (w, h) = p.input_size(img.width, img.height);
        // A fixed side keeps the frame's aspect ratio (padding the rest); otherwise the size
        // already follows the frame's.
        let fit = if p.fixed_side.is_some() { Fit::Letterbox } else { Fit::Stretch };
        let spec = InputSpec { width: w, height: h, fit, ..self.manifest.models.detector.input.clone() };
        let (mut outs, to_source) = forward_frame(&mut self.det, &self.names[0], &spec, img).await?;
        let (dims, prob) = outs
            .drain()
            .next()
            .map(|(_, v)| v)
            .ok_or_else(|| Error::ModelInvalid("the detector has no output".into()))?;
        if prob.len() != w * h {
            return Err(Error::ModelInvalid(format!("the detector's output is {dims:?}, expected a {h}×{w} map")));
        }
        let mut quads: Vec<[Pt; 4]> = boxes_from_map(&prob, w, h, &p)
            .into_iter()
            .map(|(r, _)| r.corners().map(|(x, y)| to_source.point(x + 0.5, y + 0.5)))
            .map(|q| q.map(|(x, y)| (x.clamp(0.0, img.width as f32), y.clamp(0.0, img.height as f32))))
            .filter(|q| dist(q[0], q[1]) > 3.0 && dist(q[0], q[3]) > 3.0)
            .collect();
        // Reading order: by top edge, then left to right among lines whose tops are within 10 px.
        quads.sort_by(|a, b| a[0].1.total_cmp(&b[0].1).then(a[0].0.total_cmp(&b[0].0)));
        for i in 0..quads.len().saturating_sub(1) {
            let mut j = i;
            while j < quads.len() - 1
                && (quads[j + 1][0].1 - quads[j][0].1).abs() < 10.0
                && quads[j + 1][0].0 < quads[j][0].0
            {
                quads.swap(j, j + 1);
                if j == 0 {
                    break;
                }
                j -= 1;
            }
        }
        Ok(quads)
    }

    async fn read_line(&mut self, img: &RgbaImage, q: [Pt; 4]) -> Result<Option<TextLine>> {
        let (tl, tr, br, bl) = (q[0], q[1], q[2], q[3]);
        let cw = dist(tl, tr).max(dist(bl, br)).round().max(1.0);
        let ch = dist(tl, bl).max(dist(tr, br)).round().max(1.0);
        // Source position of a point (u, v) of the upright crop, in crop pixels.
        let mut origin = tl;
        let mut ex = ((tr.0 - tl.0) / cw, (tr.1 - tl.1) / cw);
        let mut ey = ((bl.0 - tl.0) / ch, (bl.1 - tl.1) / ch);
        let (mut cw, mut ch) = (cw, ch);
        if ch / cw >= 1.5 {
            // A tall crop is vertical text: read it turned 90° (PP-OCR does the same).
            origin = bl;
            let (nx, ny) = (((tl.0 - bl.0) / ch, (tl.1 - bl.1) / ch), ex);
            ex = nx;
            ey = ny;
            std::mem::swap(&mut cw, &mut ch);
        }
        let mut rotated = false;
        if let (Some(cls), Some(spec)) = (self.cls.as_mut(), self.manifest.models.orientation.as_ref()) {
            let t = line_tensor(img, origin, ex, ey, cw, ch, spec, spec.input.width)?;
            let mut outs = forward(cls, &self.names[2], t).await?;
            let (_, probs) = outs
                .drain()
                .next()
                .map(|(_, v)| v)
                .ok_or_else(|| Error::ModelInvalid("the orientation model has no output".into()))?;
            if probs.len() >= 2 && probs[1] > probs[0] && probs[1] >= self.manifest.recognition.orientation_threshold {
                rotated = true;
                origin = (origin.0 + ex.0 * cw + ey.0 * ch, origin.1 + ex.1 * cw + ey.1 * ch);
                ex = (-ex.0, -ex.1);
                ey = (-ey.0, -ey.1);
            }
        }
        let r = &self.manifest.recognition;
        let spec = self.manifest.models.recognizer.clone();
        let h = spec.input.height as f32;
        let want = ((h * cw / ch).ceil() as usize).clamp(1, r.max_width);
        // Widths come in a few buckets so the CPU backend's per-shape plans are reused across
        // lines and frames instead of compiled for every line length.
        let bucket =
            WIDTH_BUCKETS.iter().map(|m| m * r.min_width / 2).find(|&b| b >= want).unwrap_or(want.max(r.min_width));
        let t =
            line_tensor(img, origin, ex, ey, cw, ch, &spec, bucket.max(r.min_width).min(r.max_width.max(r.min_width)))?;
        let rec = self.rec.for_width(t.dims[3]).await?;
        let mut outs = forward(rec, &self.names[1], t).await?;
        let name = rec.outputs()[0].name.clone();
        let (dims, probs) = take(&mut outs, &name)?;
        let classes = *dims.last().unwrap_or(&0);
        if classes != self.charset.len() {
            return Err(Error::ModelInvalid(format!(
                "the recogniser scores {classes} classes, the charset has {} (with blank and space)",
                self.charset.len()
            )));
        }
        let (text, chars) = ctc_greedy(&probs, classes, &self.charset);
        if chars.is_empty() {
            return Ok(None);
        }
        let confidence = chars.iter().map(|c| c.confidence).sum::<f32>() / chars.len() as f32;
        if confidence < r.min_confidence {
            return Ok(None);
        }
        Ok(Some(TextLine { text, confidence, corners: q.map(|(x, y)| [x, y]), chars, rotated }))
    }
}

/// Recogniser input widths, in halves of `minWidth`: 320, 480, 640, 960, 1280, 1600 for PP-OCR.
const WIDTH_BUCKETS: [usize; 6] = [2, 3, 4, 6, 8, 10];

fn dist(a: Pt, b: Pt) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The crop spanned by `origin + u·ex + v·ey` (u < cw, v < ch), scaled to the model's height with
/// its aspect ratio kept, normalised, and zero-padded on the right to `width` (PP-OCR's layout).
#[allow(clippy::too_many_arguments)]
fn line_tensor(
    img: &RgbaImage,
    origin: Pt,
    ex: Pt,
    ey: Pt,
    cw: f32,
    ch: f32,
    m: &ModelRef,
    width: usize,
) -> Result<HostTensor> {
    let h = m.input.height;
    let used = ((h as f32 * cw / ch).ceil() as usize).clamp(1, width);
    let (sx, sy) = (cw / used as f32, ch / h as f32);
    let rgb = warp_affine(img, used, h, |u, v| {
        let (u, v) = (u * sx, v * sy);
        (origin.0 + u * ex.0 + v * ey.0, origin.1 + u * ex.1 + v * ey.1)
    });
    let spec = InputSpec { width: used, height: h, fit: Fit::Stretch, ..m.input.clone() };
    let t = spec.to_tensor(&rgb, used, h)?;
    let crate::TensorData::F32(data) = t.data else { unreachable!("to_tensor gives f32") };
    let mut padded = vec![0f32; 3 * h * width];
    for c in 0..3 {
        for y in 0..h {
            let src = &data[(c * h + y) * used..(c * h + y + 1) * used];
            padded[(c * h + y) * width..(c * h + y) * width + used].copy_from_slice(src);
        }
    }
    HostTensor::f32(vec![1, 3, h, width], padded)
}
