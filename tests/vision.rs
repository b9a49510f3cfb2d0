//! Vision pipelines on real photos with real labels: EfficientNet-Lite0 top-5 ImageNet labels,
//! BlazeFace on the astronaut, PP-OCRv4 on scikit-image's page scan (character error rate), the
//! SVM head against scikit-learn, and class activation maps on a two-object collage.

mod common;

use std::path::Path;
use std::time::Instant;

use common::cached;
use shopfloor::vision::manifest::{ClassifierManifest, Manifest};
use shopfloor::vision::svm::{LinearSvm, SvmOptions};
use shopfloor::vision::{load, ImageClassifier, RgbaImage};
use shopfloor::{BackendChoice, ErrorCode, LoadOptions};

fn image(rel: &str) -> Option<RgbaImage> {
    let p = cached(rel)?;
    let img = image::open(p).unwrap().to_rgba8();
    Some(RgbaImage::new(img.width() as usize, img.height() as usize, img.into_raw()).unwrap())
}

fn manifest(dir: &str) -> Option<(Manifest, std::path::PathBuf)> {
    let p = cached(&format!("{dir}/manifest.json"))?;
    let m = Manifest::parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
    Some((m, p.parent().unwrap().to_path_buf()))
}

fn cpu() -> LoadOptions {
    LoadOptions { backend: BackendChoice::Cpu, ..Default::default() }
}

fn classifier(opts: &LoadOptions) -> Option<ImageClassifier> {
    let (Manifest::Classification(m), dir) = manifest("efficientnet")? else { panic!("not a classifier manifest") };
    let bytes = std::fs::read(dir.join(&m.model.file)).unwrap();
    Some(pollster::block_on(load::classifier(m, &bytes, opts)).unwrap())
}

#[test]
fn imagenet_labels_of_real_photos() {
    let Some(mut c) = classifier(&cpu()) else { return };
    // (image, labels of which one must be top-1, labels of which one must be in the top 5)
    let cases: [(&str, &[&str], &[&str]); 5] = [
        ("images/coffee.png", &["espresso"], &["cup", "coffee mug"]),
        (
            "images/chelsea.png",
            &["tabby", "tiger cat", "Egyptian cat"],
            &["tabby", "tiger cat", "Egyptian cat", "lynx"],
        ),
        ("images/rocket.jpg", &["missile", "projectile", "space shuttle"], &["space shuttle", "missile"]),
        ("images/china.jpg", &["palace", "monastery", "bell cote"], &["palace", "monastery"]),
        ("images/flower.jpg", &["daisy"], &["daisy"]),
    ];
    for (path, top1, top5) in cases {
        let Some(img) = image(path) else { return };
        let t0 = Instant::now();
        let got = pollster::block_on(c.classify(&img, 5)).unwrap();
        let labels: Vec<&str> = got.iter().map(|g| g.label.as_str()).collect();
        println!("{path}: {labels:?} top-1 {:.3} in {:.1} ms", got[0].score, t0.elapsed().as_secs_f64() * 1e3);
        assert!(top1.contains(&labels[0]), "{path}: top-1 {labels:?}");
        assert!(labels.iter().any(|l| top5.contains(l)), "{path}: top-5 {labels:?}");
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(got[0].score > 0.1 && got[0].score <= 1.0);
    }
}

#[test]
fn the_astronauts_face() {
    let (Some((Manifest::FaceDetection(m), dir)), Some(img)) = (manifest("blazeface"), image("images/astronaut.png"))
    else {
        return;
    };
    let bytes = std::fs::read(dir.join(&m.model.file)).unwrap();
    let mut d = pollster::block_on(load::face_detector(m, &bytes, &cpu())).unwrap();
    let faces = pollster::block_on(d.detect(&img)).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = &faces[0];
    // Eileen Collins' face in the 512×512 photo spans about x 180–270, y 80–180.
    let (cx, cy) = (f.bbox.x + f.bbox.width / 2.0, f.bbox.y + f.bbox.height / 2.0);
    assert!((200.0..250.0).contains(&cx) && (105.0..150.0).contains(&cy), "{f:?}");
    assert!((70.0..130.0).contains(&f.bbox.width), "{f:?}");
    assert!(f.score > 0.75);
    // Eyes above the mouth, right eye (subject's) left of the left eye in the image.
    let [re, le, _, mouth, ..] = f.keypoints[..] else { panic!("6 keypoints expected") };
    assert!(re[0] < le[0] && re[1] < mouth[1] && le[1] < mouth[1]);
    // No face in a cup of coffee.
    let coffee = image("images/coffee.png").unwrap();
    assert!(pollster::block_on(d.detect(&coffee)).unwrap().is_empty());
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + (ca != cb) as usize).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[test]
fn text_lines_of_a_page_scan() {
    let (Some((Manifest::TextReading(m), dir)), Some(img)) = (manifest("ppocr"), image("images/page.png")) else {
        return;
    };
    let files: Vec<Vec<u8>> = [&m.models.detector, &m.models.recognizer]
        .into_iter()
        .chain(&m.models.orientation)
        .map(|r| std::fs::read(dir.join(&r.file)).unwrap())
        .collect();
    let mut r = pollster::block_on(load::text_reader(m, &files, &cpu())).unwrap();
    let t0 = Instant::now();
    let lines = pollster::block_on(r.read(&img)).unwrap();
    let first_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t0 = Instant::now();
    let again = pollster::block_on(r.read(&img)).unwrap();
    let warm_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert_eq!(lines, again);
    let truth = [
        "Region-based segmentation",
        "Let us first determine markers of the coins and the",
        "background. These markers are pixels that we can label",
        "unambiguously as either object or background. Here,",
        "the markers are found at the two extreme parts of the",
        "histogram of grey values:",
        ">>> markers = np.zeros_like(coins)",
    ];
    let got: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let want: Vec<char> = truth.join("\n").chars().collect();
    let have: Vec<char> = got.join("\n").chars().collect();
    let cer = levenshtein(&have, &want) as f64 / want.len() as f64;
    println!(
        "page.png: {} lines, CER {cer:.3}, first read {first_ms:.0} ms, warm {warm_ms:.0} ms\n{got:#?}",
        lines.len()
    );
    assert_eq!(got[0], truth[0]);
    // One of the seven lines (low contrast, between two others) is missed by PP-OCRv4 at this
    // scale, as by RapidOCR itself; everything else reads nearly verbatim.
    assert!(cer < 0.25, "CER {cer:.3}");
    for l in &lines {
        assert!(l.confidence >= 0.5 && l.confidence <= 1.0);
        assert_eq!(l.chars.len(), l.text.chars().count());
        // Boxes lie in the 384×191 frame, top-left first.
        assert!(l.corners.iter().all(|p| (0.0..=384.0).contains(&p[0]) && (0.0..=191.0).contains(&p[1])));
        assert!(l.corners[0][0] < l.corners[1][0] && l.corners[0][1] < l.corners[3][1]);
    }
    assert!(lines.windows(2).all(|w| w[0].corners[0][1] <= w[1].corners[0][1] + 10.0));
}

#[test]
fn svm_matches_scikit_learn_linear_svc() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/svm_reference.json"))
        .unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (name, case) in cases.as_object().unwrap() {
        let x: Vec<Vec<f32>> = serde_json::from_value(case["x"].clone()).unwrap();
        let y: Vec<usize> = serde_json::from_value(case["y"].clone()).unwrap();
        let test: Vec<Vec<f32>> = serde_json::from_value(case["test"].clone()).unwrap();
        let want: Vec<Vec<f32>> = serde_json::from_value(case["decision"].clone()).unwrap();
        let mut svm =
            LinearSvm::new(x[0].len(), SvmOptions { tolerance: 1e-6, max_iterations: 100_000, ..Default::default() })
                .unwrap();
        for (xi, yi) in x.iter().zip(&y) {
            svm.add_example(xi, &format!("class{yi}")).unwrap();
        }
        let report = svm.train().unwrap();
        assert!(report.converged, "{name}: {report:?}");
        let mut worst = 0f32;
        for (t, w) in test.iter().zip(&want) {
            let got = svm.decision(t).unwrap();
            for (g, w) in got.iter().zip(w) {
                worst = worst.max((g - w).abs());
            }
        }
        println!("{name}: max |decision − LinearSVC| = {worst:.2e} after {} epochs", report.iterations);
        assert!(worst < 1e-3, "{name}: {worst}");
    }
}

#[test]
fn svm_on_real_embeddings_trains_fast_and_predicts_held_out_photos() {
    let Some(mut c) = classifier(&cpu()) else { return };
    // Two classes from augmented crops of two photos; held-out crops must be told apart.
    let (Some(cat), Some(cup)) = (image("images/chelsea.png"), image("images/coffee.png")) else { return };
    let crop = |img: &RgbaImage, i: usize| {
        let (w, h) = (img.width * 3 / 4, img.height * 3 / 4);
        let (x0, y0) = ((i * 37) % (img.width - w), (i * 53) % (img.height - h));
        let mut data = Vec::with_capacity(w * h * 4);
        for y in y0..y0 + h {
            data.extend_from_slice(&img.data[(y * img.width + x0) * 4..(y * img.width + x0 + w) * 4]);
        }
        RgbaImage::new(w, h, data).unwrap()
    };
    let dim = c.embedding_size().unwrap();
    assert_eq!(dim, 1280);
    let mut svm = LinearSvm::new(dim, SvmOptions::default()).unwrap();
    let mut held_out = vec![];
    for i in 0..8 {
        for (img, label) in [(&cat, "cat"), (&cup, "cup")] {
            let e = pollster::block_on(c.embed(&crop(img, i))).unwrap();
            if i < 6 {
                svm.add_example(&e, label).unwrap();
            } else {
                held_out.push((e, label));
            }
        }
    }
    // 200 examples: the 12 real ones plus noisy copies, the size the issue budgets for.
    let real = svm.examples.clone();
    let mut rng = 1u64;
    while svm.examples.len() < 200 {
        let (x, k) = &real[svm.examples.len() % real.len()];
        let noisy: Vec<f32> = x
            .iter()
            .map(|v| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                v + ((rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.01
            })
            .collect();
        let label = svm.classes[*k].clone();
        svm.add_example(&noisy, &label).unwrap();
    }
    let t0 = Instant::now();
    let report = svm.train().unwrap();
    println!("LinearSvm: 200 × {dim}-d examples trained in {:.1} ms ({report:?})", t0.elapsed().as_secs_f64() * 1e3);
    for (e, label) in &held_out {
        assert_eq!(svm.predict(e).unwrap().label, *label);
    }
    let back = LinearSvm::from_json(&svm.to_json()).unwrap();
    assert_eq!(back.predict(&held_out[0].0).unwrap(), svm.predict(&held_out[0].0).unwrap());
}

#[test]
fn class_activation_maps_point_at_each_object() {
    let Some(mut c) = classifier(&cpu()) else { return };
    let (Some(cat), Some(cup)) = (image("images/chelsea.png"), image("images/coffee.png")) else { return };
    // A 448×448 grey collage: the cat in the left half, the espresso in the right.
    let (w, h) = (448usize, 448usize);
    let mut data = vec![128u8; w * h * 4];
    for (img, x0) in [(&cat, 0usize), (&cup, 224usize)] {
        let small = image::imageops::resize(
            &image::RgbaImage::from_raw(img.width as u32, img.height as u32, img.data.clone()).unwrap(),
            224,
            224,
            image::imageops::FilterType::Triangle,
        );
        for y in 0..224 {
            for x in 0..224 {
                let i = ((y + 112) * w + x0 + x) * 4;
                data[i..i + 4].copy_from_slice(&small.get_pixel(x as u32, y as u32).0);
            }
        }
    }
    let collage = RgbaImage::new(w, h, data).unwrap();
    let labels = c.labels().to_vec();
    let idx = |name: &str| labels.iter().position(|l| l == name).unwrap();
    for (class, left_expected) in [(idx("tabby"), true), (idx("espresso"), false)] {
        let (cls, sal) = pollster::block_on(c.explain(&collage, Some(class))).unwrap();
        assert_eq!((sal.width, sal.height), (w, h));
        assert_eq!(cls.class_index, class);
        let left = sal.mass_in(0, 0, 224, 448);
        println!("{}: {:.0}% of the heat in the left half", cls.label, left * 100.0);
        if left_expected {
            assert!(left > 0.7, "{}: left {left}", cls.label);
        } else {
            assert!(left < 0.3, "{}: left {left}", cls.label);
        }
        assert_eq!(sal.to_rgba().len(), w * h * 4);
    }
    // Out-of-range class: a typed error, not a panic.
    let e = pollster::block_on(c.explain(&collage, Some(5000))).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert_eq!(RgbaImage::new(0, 0, vec![]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(Manifest::parse("{\"task\":\"juggling\"}").unwrap_err().code(), ErrorCode::InvalidArgument);
    let Some((m, dir)) = manifest("efficientnet") else { return };
    assert_eq!(m.expect_task("face-detection").unwrap_err().code(), ErrorCode::InvalidArgument);
    let Manifest::Classification(m) = m else { unreachable!() };
    let bytes = std::fs::read(dir.join(&m.model.file)).unwrap();
    // A manifest naming an output the model lacks fails at creation, not at the first frame.
    let mut broken: ClassifierManifest = m.clone();
    broken.outputs.logits = "scores".into();
    let e = pollster::block_on(load::classifier(broken, &bytes, &cpu())).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("scores"));
    // A manifest whose sha256 does not match the bytes.
    let mut pinned = m.clone();
    pinned.model.sha256 = Some("0".repeat(64));
    let e = pollster::block_on(load::classifier(pinned, &bytes, &cpu())).err().unwrap();
    assert_eq!(e.code(), ErrorCode::IntegrityMismatch);
}

#[test]
fn webgpu_classification_agrees_with_the_cpu() {
    if !common::gpu_expected() {
        return;
    }
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    let (Some(mut gpu), Some(mut cpu_c), Some(img)) =
        (classifier(&opts), classifier(&cpu()), image("images/coffee.png"))
    else {
        return;
    };
    assert_eq!(gpu.model().info().backend, shopfloor::BackendKind::Webgpu);
    let g = pollster::block_on(gpu.classify(&img, 5)).unwrap();
    let c = pollster::block_on(cpu_c.classify(&img, 5)).unwrap();
    assert_eq!(g[0].label, "espresso");
    for (a, b) in g.iter().zip(&c) {
        assert_eq!(a.class_index, b.class_index);
        assert!((a.score - b.score).abs() < 1e-3, "{a:?} vs {b:?}");
    }
}

/// BlazeFace on the WebGPU path, where the frame is pre-processed on the GPU (letterbox, NHWC,
/// [-1, 1]): the same face as the CPU pipeline, within a pixel.
#[test]
fn webgpu_faces_agree_with_the_cpu() {
    if !common::gpu_expected() {
        return;
    }
    let (Some((Manifest::FaceDetection(m), dir)), Some(img)) = (manifest("blazeface"), image("images/astronaut.png"))
    else {
        return;
    };
    let bytes = std::fs::read(dir.join(&m.model.file)).unwrap();
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    let mut gpu = pollster::block_on(load::face_detector(m.clone(), &bytes, &opts)).unwrap();
    let mut cpu_d = pollster::block_on(load::face_detector(m, &bytes, &cpu())).unwrap();
    assert_eq!(gpu.model().info().backend, shopfloor::BackendKind::Webgpu);
    let (g, c) = (pollster::block_on(gpu.detect(&img)).unwrap(), pollster::block_on(cpu_d.detect(&img)).unwrap());
    assert_eq!((g.len(), c.len()), (1, 1), "{g:?} {c:?}");
    let (a, b) = (&g[0].bbox, &c[0].bbox);
    for (x, y) in [(a.x, b.x), (a.y, b.y), (a.width, b.width), (a.height, b.height)] {
        assert!((x - y).abs() < 1.0, "{a:?} vs {b:?}");
    }
    assert!((g[0].score - c[0].score).abs() < 1e-3);
    assert_eq!(gpu.model().info().backend, shopfloor::BackendKind::Webgpu, "{}", gpu.model().info().backend_reason);
}

/// PP-OCR on WebGPU: the detector at one letterboxed size, a recogniser model per line-width
/// bucket, the orientation model at its size, all on the GPU, reading what the CPU reads with
/// the same detector size (the CPU's own default size follows the frame's).
#[test]
fn webgpu_text_reading_agrees_with_the_cpu() {
    let (Some((Manifest::TextReading(mut m), dir)), Some(img)) = (manifest("ppocr"), image("images/page.png")) else {
        return;
    };
    let files: Vec<Vec<u8>> = [&m.models.detector, &m.models.recognizer]
        .into_iter()
        .chain(&m.models.orientation)
        .map(|r| std::fs::read(dir.join(&r.file)).unwrap())
        .collect();
    m.detection.fixed_side = Some(10);
    let e = pollster::block_on(load::text_reader(m.clone(), &files, &cpu())).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.to_string().contains("fixedSide 10"), "{e}");
    if !common::gpu_expected() {
        return;
    }
    // page.png is 384×191: one 384² detector input, letterboxed.
    m.detection.fixed_side = Some(384);
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    let mut gpu = pollster::block_on(load::text_reader(m.clone(), &files, &opts)).unwrap();
    let mut cpu_r = pollster::block_on(load::text_reader(m, &files, &cpu())).unwrap();
    let t0 = Instant::now();
    let g = pollster::block_on(gpu.read(&img)).unwrap();
    let gpu_ms = t0.elapsed().as_secs_f64() * 1e3;
    let c = pollster::block_on(cpu_r.read(&img)).unwrap();
    let infos: Vec<_> = gpu.models().iter().map(|m| m.info()).collect();
    println!(
        "page.png on WebGPU: {} lines in {gpu_ms:.0} ms, {} models: {:?}",
        g.len(),
        infos.len(),
        gpu.models().iter().map(|m| (m.info().backend, m.inputs()[0].shape.clone())).collect::<Vec<_>>()
    );
    for i in &infos {
        assert_eq!(i.backend, shopfloor::BackendKind::Webgpu, "{}", i.backend_reason);
    }
    // Detector, orientation, and recognisers for more than one width: the lines differ in length.
    assert!(infos.len() >= 4, "{infos:?}");
    assert_eq!(g.len(), c.len(), "{g:#?}\n{c:#?}");
    assert_eq!(g[0].text, "Region-based segmentation");
    for (a, b) in g.iter().zip(&c) {
        assert_eq!(a.text, b.text);
        assert_eq!(a.rotated, b.rotated);
        assert!((a.confidence - b.confidence).abs() < 1e-3, "{a:?} vs {b:?}");
        for (p, q) in a.corners.iter().zip(&b.corners) {
            assert!((p[0] - q[0]).abs() <= 1.0 && (p[1] - q[1]).abs() <= 1.0, "{a:?} vs {b:?}");
        }
    }
}
