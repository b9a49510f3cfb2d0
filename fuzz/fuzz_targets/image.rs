//! Pre-processing of frames of any size under any manifest input spec: resize, crop, letterbox,
//! layout, colour order, normalisation (zero std, NaN mean included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shopfloor::vision::image::RgbaImage;
use shopfloor::vision::preprocess::{ColourOrder, Fit, InputSpec, Layout};

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (head, pixels) = data.split_at(12);
    let spec = InputSpec {
        name: None,
        width: head[0] as usize * 2,
        height: head[1] as usize * 2,
        layout: if head[2] % 2 == 0 { Layout::Nchw } else { Layout::Nhwc },
        colour: if head[3] % 2 == 0 { ColourOrder::Rgb } else { ColourOrder::Bgr },
        mean: [head[4] as f32, 127.5, if head[5] == 0 { f32::NAN } else { 0.0 }],
        std: [head[6] as f32, 1.0, 58.0],
        fit: match head[7] % 3 {
            0 => Fit::Stretch,
            1 => Fit::CenterCrop { fraction: head[8] as f32 / 128.0 },
            _ => Fit::Letterbox,
        },
    };
    let (w, h) = (head[9] as usize + 1, head[10] as usize % 64 + 1);
    let mut rgba = pixels.to_vec();
    rgba.resize(w * h * 4, head[11]);
    let Ok(img) = RgbaImage::new(w, h, rgba) else { return };
    if spec.validate().is_ok() {
        let _ = spec.apply(&img);
    }
});
