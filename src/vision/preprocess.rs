//! Frame → input tensor, as a model's manifest describes it (size, fit, colour order,
//! normalisation, layout), plus the map back from model pixels to source pixels so that every
//! box a pipeline returns is in the coordinates of the frame it was given.

use serde::{Deserialize, Serialize};

use super::image::{resize_rect, rows_read, Rect, RgbaImage};
use crate::frame::FrameTransform;
use crate::{Error, HostTensor, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColourOrder {
    #[default]
    Rgb,
    Bgr,
}

/// How the frame's aspect ratio meets the model's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Fit {
    /// Whole frame, aspect ratio not kept.
    #[default]
    Stretch,
    /// Central square-ish region holding `fraction` of the shorter side (ImageNet's 0.875).
    CenterCrop { fraction: f32 },
    /// Whole frame, aspect ratio kept, padded with black (MediaPipe's detectors).
    Letterbox,
}

/// The input half of a manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSpec {
    /// The model's input name; the first input when absent.
    #[serde(default)]
    pub name: Option<String>,
    pub width: usize,
    pub height: usize,
    #[serde(default)]
    pub layout: Layout,
    #[serde(default)]
    pub colour: ColourOrder,
    /// Per channel, in the model's channel order, in 0..255 units: `(pixel - mean) / std`.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    #[serde(default)]
    pub fit: Fit,
}

/// Model-input pixel → source pixel: `src = input * scale + offset`, per axis.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ToSource {
    pub scale_x: f32,
    pub scale_y: f32,
    pub offset_x: f32,
    pub offset_y: f32,
    /// The region of the model input that holds image (not padding), in input pixels.
    pub content: Rect,
}

/// What `InputSpec::geometry` decides for one frame size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// The source rectangle that is resampled.
    pub source: Rect,
    /// The input pixels it fills: x, y, width, height.
    pub content: (usize, usize, usize, usize),
    pub to_source: ToSource,
}

impl ToSource {
    pub fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (x * self.scale_x + self.offset_x, y * self.scale_y + self.offset_y)
    }
}

impl InputSpec {
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 || self.width > 8192 || self.height > 8192 {
            return Err(Error::InvalidArgument(format!(
                "manifest input size {}×{} is out of range (1..=8192)",
                self.width, self.height
            )));
        }
        if self.std.iter().any(|s| !s.is_finite() || *s == 0.0) || self.mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::InvalidArgument("manifest mean/std must be finite and std non-zero".into()));
        }
        if let Fit::CenterCrop { fraction } = self.fit {
            if !(fraction > 0.0 && fraction <= 1.0) {
                return Err(Error::InvalidArgument(format!("center-crop fraction {fraction} must be in (0, 1]")));
            }
        }
        Ok(())
    }

    /// Where a `iw × ih` frame goes in the input: the source rectangle, the input rectangle it
    /// fills (the rest is zero before normalisation), and the map back. One definition for the
    /// CPU and the GPU paths.
    pub fn geometry(&self, iw: usize, ih: usize) -> Geometry {
        let (w, h) = (self.width, self.height);
        let (iw, ih) = (iw as f32, ih as f32);
        let whole = Rect { x: 0.0, y: 0.0, width: iw, height: ih };
        match self.fit {
            Fit::Stretch => Geometry { source: whole, content: (0, 0, w, h), to_source: stretch_map(whole, w, h) },
            Fit::CenterCrop { fraction } => {
                // The crop has the model's aspect ratio and `fraction` of the frame's matching side.
                let target = w as f32 / h as f32;
                let (cw, ch) = if iw / ih > target { (ih * target, ih) } else { (iw, iw / target) };
                let (cw, ch) = (cw * fraction, ch * fraction);
                let rect = Rect { x: (iw - cw) / 2.0, y: (ih - ch) / 2.0, width: cw, height: ch };
                Geometry { source: rect, content: (0, 0, w, h), to_source: stretch_map(rect, w, h) }
            }
            Fit::Letterbox => {
                let scale = (w as f32 / iw).min(h as f32 / ih);
                let cw = ((iw * scale).round() as usize).clamp(1, w);
                let ch = ((ih * scale).round() as usize).clamp(1, h);
                let (px, py) = ((w - cw) / 2, (h - ch) / 2);
                let (sx, sy) = (iw / cw as f32, ih / ch as f32);
                let to_source = ToSource {
                    scale_x: sx,
                    scale_y: sy,
                    offset_x: -(px as f32) * sx,
                    offset_y: -(py as f32) * sy,
                    content: Rect { x: px as f32, y: py as f32, width: cw as f32, height: ch as f32 },
                };
                Geometry { source: whole, content: (px, py, cw, ch), to_source }
            }
        }
    }

    /// The input tensor for `img` and the map back to its pixels.
    pub fn apply(&self, img: &RgbaImage) -> Result<(HostTensor, ToSource)> {
        let (w, h) = (self.width, self.height);
        let g = self.geometry(img.width, img.height);
        let (px, py, cw, ch) = g.content;
        let inner = resize_rect(img, g.source, cw, ch);
        let rgb = if (cw, ch) == (w, h) {
            inner
        } else {
            let mut rgb = vec![0f32; w * h * 3];
            for y in 0..ch {
                rgb[((y + py) * w + px) * 3..((y + py) * w + px + cw) * 3]
                    .copy_from_slice(&inner[y * cw * 3..(y + 1) * cw * 3]);
            }
            rgb
        };
        Ok((self.to_tensor(&rgb, w, h)?, g.to_source))
    }

    /// The same pre-processing as `apply`, described for the GPU (backend/gpu/frame.rs).
    pub fn frame_transform(&self, g: &Geometry, src_h: usize) -> FrameTransform {
        let (px, py, cw, ch) = g.content;
        let (lo, hi) = rows_read(g.source, ch, src_h);
        let order = match self.colour {
            ColourOrder::Rgb => [0, 1, 2],
            ColourOrder::Bgr => [2, 1, 0],
        };
        let r = g.source;
        FrameTransform {
            width: self.width as u32,
            height: self.height as u32,
            content: [px, py, cw, ch].map(|v| v as u32),
            rect: [r.x, r.y, r.width, r.height],
            rows: [lo as u32, hi as u32],
            nhwc: self.layout == Layout::Nhwc,
            order,
            mean: self.mean,
            scale: self.std.map(|s| 1.0 / s),
        }
    }

    /// Interleaved RGB (0..255) of `w × h` → the normalised tensor in the manifest's layout.
    pub fn to_tensor(&self, rgb: &[f32], w: usize, h: usize) -> Result<HostTensor> {
        let order = match self.colour {
            ColourOrder::Rgb => [0, 1, 2],
            ColourOrder::Bgr => [2, 1, 0],
        };
        let n = w * h;
        let mut data = vec![0f32; n * 3];
        let scale = self.std.map(|s| 1.0 / s);
        match self.layout {
            Layout::Nchw => {
                for (c, &src_c) in order.iter().enumerate() {
                    let plane = &mut data[c * n..(c + 1) * n];
                    for (i, v) in plane.iter_mut().enumerate() {
                        *v = (rgb[i * 3 + src_c] - self.mean[c]) * scale[c];
                    }
                }
            }
            Layout::Nhwc => {
                for i in 0..n {
                    for (c, &src_c) in order.iter().enumerate() {
                        data[i * 3 + c] = (rgb[i * 3 + src_c] - self.mean[c]) * scale[c];
                    }
                }
            }
        }
        let dims = match self.layout {
            Layout::Nchw => vec![1, 3, h, w],
            Layout::Nhwc => vec![1, h, w, 3],
        };
        HostTensor::f32(dims, data)
    }
}

fn stretch_map(rect: Rect, w: usize, h: usize) -> ToSource {
    ToSource {
        scale_x: rect.width / w as f32,
        scale_y: rect.height / h as f32,
        offset_x: rect.x,
        offset_y: rect.y,
        content: Rect { x: 0.0, y: 0.0, width: w as f32, height: h as f32 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fit: Fit, layout: Layout, colour: ColourOrder) -> InputSpec {
        InputSpec { name: None, width: 4, height: 4, layout, colour, mean: [0.0; 3], std: [1.0; 3], fit }
    }

    #[test]
    fn letterbox_maps_back_to_source() {
        // 8×4 frame into 4×4: content 4×2 centred vertically, one row of padding above.
        let img = RgbaImage::from_rgb(8, 4, &[200; 8 * 4 * 3]).unwrap();
        let (t, map) = spec(Fit::Letterbox, Layout::Nhwc, ColourOrder::Rgb).apply(&img).unwrap();
        assert_eq!(t.dims, vec![1, 4, 4, 3]);
        assert_eq!(map.point(0.0, 1.0), (0.0, 0.0));
        assert_eq!(map.point(4.0, 3.0), (8.0, 4.0));
        let crate::TensorData::F32(d) = &t.data else { panic!() };
        assert_eq!(d[0], 0.0); // padding row
        assert!((d[4 * 3] - 200.0).abs() < 1e-3);
    }

    #[test]
    fn bgr_nchw_normalises_per_channel() {
        let img = RgbaImage::from_rgb(1, 1, &[10, 20, 30]).unwrap();
        let mut s = spec(Fit::Stretch, Layout::Nchw, ColourOrder::Bgr);
        (s.width, s.height, s.mean, s.std) = (1, 1, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]);
        let (t, _) = s.apply(&img).unwrap();
        let crate::TensorData::F32(d) = &t.data else { panic!() };
        // B = (30 - 1) / 1, G = (20 - 2) / 2, R = (10 - 3) / 3
        assert_eq!(d[..2], [29.0, 9.0]);
        assert!((d[2] - 7.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn center_crop_keeps_the_middle() {
        let img = RgbaImage::from_rgb(8, 4, &[0; 8 * 4 * 3]).unwrap();
        let (_, map) = spec(Fit::CenterCrop { fraction: 0.5 }, Layout::Nchw, ColourOrder::Rgb).apply(&img).unwrap();
        assert_eq!(map.point(0.0, 0.0), (3.0, 1.0));
        assert_eq!(map.point(4.0, 4.0), (5.0, 3.0));
    }
}
