//! `classify`, `faces`, `read-text`: the browser pipelines over image files, printing one JSON
//! document each.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use shopfloor::vision::manifest::Manifest;
use shopfloor::vision::{load, RgbaImage};
use shopfloor::{BackendChoice, Error, LoadOptions, Result};

use crate::parse::{positive, side};

#[derive(clap::Args)]
pub struct VisionArgs {
    /// A PNG or JPEG file.
    #[arg(value_name = "IMAGE")]
    image: PathBuf,
    /// The pipeline's manifest (default: the model the setup fetched for the task).
    #[arg(long = "model", value_name = "MANIFEST.json")]
    manifest: Option<PathBuf>,
    /// auto, cpu or webgpu.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// classify: how many labels.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    top: usize,
    /// Repeats the pipeline; latencyMs gives the first and the median.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    runs: usize,
    /// read-text: letterboxes the image into one N×N detector input (webgpu: default 960).
    #[arg(long, value_name = "N", value_parser = side)]
    side: Option<usize>,
}

/// The default manifest: `models/cache/<dir>/manifest.json` under the current directory, else
/// under the source tree the binary was built from.
fn manifest_path(a: &VisionArgs, dir: &str) -> PathBuf {
    if let Some(m) = &a.manifest {
        return m.clone();
    }
    let rel = Path::new("models/cache").join(dir).join("manifest.json");
    if rel.exists() {
        rel
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::InvalidArgument(format!("reading {}: {e}", path.display())))
}

fn manifest(path: &Path) -> Result<(Manifest, PathBuf)> {
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8 JSON", path.display())))?;
    Ok((Manifest::parse(&text)?, path.parent().unwrap_or(Path::new(".")).to_path_buf()))
}

pub fn decode_image(path: &Path) -> Result<RgbaImage> {
    let img = image::open(path).map_err(|e| Error::InvalidArgument(format!("decoding {}: {e}", path.display())))?;
    let rgba = img.to_rgba8();
    RgbaImage::new(rgba.width() as usize, rgba.height() as usize, rgba.into_raw())
}

fn opts(a: &VisionArgs) -> LoadOptions {
    LoadOptions { backend: a.backend, ..Default::default() }
}

/// Latencies of repeated runs: the first (plans compile on it) and the median.
#[derive(Default)]
struct Times(Vec<f64>);

impl Times {
    fn record(&mut self, t0: Instant) {
        self.0.push(t0.elapsed().as_secs_f64() * 1e3);
    }

    fn summary(mut self) -> serde_json::Value {
        let first = self.0.first().copied().unwrap_or(0.0);
        self.0.sort_by(f64::total_cmp);
        json!({ "first": first, "median": self.0.get(self.0.len() / 2), "runs": self.0.len() })
    }
}

fn print(v: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

pub fn classify(a: &VisionArgs) -> Result<()> {
    let (m, dir) = manifest(&manifest_path(a, "efficientnet"))?;
    let Manifest::Classification(m) = m else { return m.expect_task("classification") };
    let bytes = read(&dir.join(&m.model.file))?;
    let img = decode_image(&a.image)?;
    pollster::block_on(async {
        let mut c = load::classifier(m, &bytes, &opts(a)).await?;
        let mut times = Times::default();
        let mut classes = Vec::new();
        for _ in 0..a.runs {
            let t0 = Instant::now();
            classes = c.classify(&img, a.top).await?;
            times.record(t0);
        }
        let ms = times.summary();
        print(json!({
            "image": a.image, "width": img.width, "height": img.height,
            "backend": c.model().info().backend, "latencyMs": ms, "classes": classes,
        }));
        Ok(())
    })
}

pub fn faces(a: &VisionArgs) -> Result<()> {
    let (m, dir) = manifest(&manifest_path(a, "blazeface"))?;
    let Manifest::FaceDetection(m) = m else { return m.expect_task("face-detection") };
    let bytes = read(&dir.join(&m.model.file))?;
    let img = decode_image(&a.image)?;
    pollster::block_on(async {
        let mut d = load::face_detector(m, &bytes, &opts(a)).await?;
        let mut times = Times::default();
        let mut faces = Vec::new();
        for _ in 0..a.runs {
            let t0 = Instant::now();
            faces = d.detect(&img).await?;
            times.record(t0);
        }
        let ms = times.summary();
        print(json!({
            "image": a.image, "width": img.width, "height": img.height,
            "backend": d.model().info().backend, "latencyMs": ms, "faces": faces,
        }));
        Ok(())
    })
}

pub fn read_text(a: &VisionArgs) -> Result<()> {
    let (m, dir) = manifest(&manifest_path(a, "ppocr"))?;
    let Manifest::TextReading(mut m) = m else { return m.expect_task("text-reading") };
    if a.side.is_some() {
        m.detection.fixed_side = a.side;
    }
    let files = m.models.detector.file.clone();
    let mut bytes = vec![read(&dir.join(files))?, read(&dir.join(&m.models.recognizer.file))?];
    if let Some(o) = &m.models.orientation {
        bytes.push(read(&dir.join(&o.file))?);
    }
    let img = decode_image(&a.image)?;
    pollster::block_on(async {
        let mut r = load::text_reader(m, &bytes, &opts(a)).await?;
        let mut times = Times::default();
        let mut lines = Vec::new();
        for _ in 0..a.runs {
            let t0 = Instant::now();
            lines = r.read(&img).await?;
            times.record(t0);
        }
        let ms = times.summary();
        print(json!({
            "image": a.image, "width": img.width, "height": img.height,
            "backend": r.models()[0].info().backend, "latencyMs": ms, "lines": lines,
        }));
        Ok(())
    })
}
