//! `classify`, `faces`, `read-text`: the browser pipelines over image files, printing one JSON
//! document each.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use shopfloor::vision::manifest::Manifest;
use shopfloor::vision::{load, RgbaImage};
use shopfloor::{BackendChoice, Error, LoadOptions, Result};

pub struct VisionArgs {
    image: PathBuf,
    manifest: Option<PathBuf>,
    backend: BackendChoice,
    top: usize,
    runs: usize,
    /// read-text: the detector's fixed input side.
    side: Option<usize>,
}

pub fn parse(args: &[String]) -> Result<VisionArgs> {
    let bad = |m: String| Error::InvalidArgument(m);
    let mut a =
        VisionArgs { image: PathBuf::new(), manifest: None, backend: BackendChoice::Auto, top: 5, runs: 1, side: None };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| bad(format!("{arg} needs a value")));
        match arg.as_str() {
            "--backend" => a.backend = value()?.parse()?,
            "--model" => a.manifest = Some(value()?.into()),
            "--runs" => {
                a.runs = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad("--runs takes a positive integer".into()))?
            }
            "--top" => {
                a.top = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad("--top takes a positive integer".into()))?
            }
            "--side" => {
                a.side = Some(value()?.parse().map_err(|_| bad("--side takes the detector's side in pixels".into()))?)
            }
            s if s.starts_with("--") => return Err(bad(format!("unknown option {s}"))),
            s if a.image.as_os_str().is_empty() => a.image = s.into(),
            s => return Err(bad(format!("unexpected argument {s}"))),
        }
    }
    if a.image.as_os_str().is_empty() {
        return Err(bad("no image given".into()));
    }
    Ok(a)
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
