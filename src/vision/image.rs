//! Frames as the browser hands them over (RGBA8, row-major, like `ImageData`) and the resampling
//! every pipeline needs: antialiased resize of a source rectangle, and an affine warp for crops.

use crate::{Error, Result};

/// An RGBA8 image; the browser's `ImageData` layout, so frames cross the wasm boundary as one copy.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbaImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Frames larger than this are refused (a 16K × 16K frame is 1 GiB of RGBA).
pub const MAX_SIDE: usize = 16384;

impl RgbaImage {
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidArgument(format!(
                "the image is {width}×{height}: a video that is not playing yet has no frame; wait for \
                 `loadeddata` (or check videoWidth/videoHeight) before passing it"
            )));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::ResourceLimit(format!(
                "the image is {width}×{height}, over the {MAX_SIDE}-pixel side this SDK accepts: downscale it first"
            )));
        }
        if data.len() != width * height * 4 {
            return Err(Error::InvalidArgument(format!(
                "RGBA data has {} bytes, expected {width}×{height}×4 = {}",
                data.len(),
                width * height * 4
            )));
        }
        Ok(RgbaImage { width, height, data })
    }

    /// From packed RGB8 (decoders and tests).
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Result<Self> {
        if rgb.len() != width * height * 3 {
            return Err(Error::InvalidArgument(format!(
                "RGB data has {} bytes, expected {}",
                rgb.len(),
                width * height * 3
            )));
        }
        let mut data = Vec::with_capacity(width * height * 4);
        for p in rgb.chunks_exact(3) {
            data.extend_from_slice(&[p[0], p[1], p[2], 255]);
        }
        Self::new(width, height, data)
    }

    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 4] {
        let i = (y * self.width + x) * 4;
        [self.data[i], self.data[i + 1], self.data[i + 2], self.data[i + 3]]
    }
}

/// A rectangle in source pixels (floating point: crops and letterboxes need not be integral).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// Separable triangle-filter weights (PIL's antialiased bilinear): when shrinking, the filter
/// widens with the scale so every source pixel contributes, instead of aliasing like a 2-tap lerp.
struct Taps {
    /// Per output index: first source index and the weights from there.
    spans: Vec<(usize, Vec<f32>)>,
}

impl Taps {
    fn new(src_start: f32, src_len: f32, out_len: usize, limit: usize) -> Taps {
        let scale = src_len / out_len as f32;
        let support = scale.max(1.0);
        let spans = (0..out_len)
            .map(|o| {
                let center = src_start + (o as f32 + 0.5) * scale;
                let lo = ((center - support).floor().max(0.0)) as usize;
                let hi = ((center + support).ceil() as usize).min(limit);
                let mut w: Vec<f32> =
                    (lo..hi).map(|i| (1.0 - ((i as f32 + 0.5 - center) / support).abs()).max(0.0)).collect();
                let sum: f32 = w.iter().sum();
                if sum > 0.0 {
                    w.iter_mut().for_each(|v| *v /= sum);
                    (lo, w)
                } else {
                    // The rectangle lies outside the image: repeat the nearest edge pixel.
                    let edge = (center.max(0.0) as usize).min(limit - 1);
                    (edge, vec![1.0])
                }
            })
            .collect();
        Taps { spans }
    }
}

/// The source rows [first, end) that resampling `rect` to `out_h` rows reads.
pub fn rows_read(rect: Rect, out_h: usize, src_h: usize) -> (usize, usize) {
    let ty = Taps::new(rect.y, rect.height, out_h, src_h);
    row_span(&ty)
}

fn row_span(ty: &Taps) -> (usize, usize) {
    let lo = ty.spans.iter().map(|s| s.0).min().unwrap_or(0);
    let hi = ty.spans.iter().map(|s| s.0 + s.1.len()).max().unwrap_or(0);
    (lo, hi)
}

/// Resamples `rect` of `src` to `out_w × out_h` RGB floats in 0..255 (alpha dropped), row-major
/// interleaved.
pub fn resize_rect(src: &RgbaImage, rect: Rect, out_w: usize, out_h: usize) -> Vec<f32> {
    let tx = Taps::new(rect.x, rect.width, out_w, src.width);
    let ty = Taps::new(rect.y, rect.height, out_h, src.height);
    // Horizontal pass over only the source rows the vertical pass will read.
    let (row_lo, row_hi) = row_span(&ty);
    let mut tmp = vec![0f32; (row_hi - row_lo) * out_w * 3];
    for y in row_lo..row_hi {
        let row = &src.data[y * src.width * 4..(y + 1) * src.width * 4];
        let dst = &mut tmp[(y - row_lo) * out_w * 3..(y - row_lo + 1) * out_w * 3];
        for (ox, (start, w)) in tx.spans.iter().enumerate() {
            let mut acc = [0f32; 3];
            for (k, wk) in w.iter().enumerate() {
                let p = &row[(start + k) * 4..(start + k) * 4 + 3];
                acc[0] += wk * p[0] as f32;
                acc[1] += wk * p[1] as f32;
                acc[2] += wk * p[2] as f32;
            }
            dst[ox * 3..ox * 3 + 3].copy_from_slice(&acc);
        }
    }
    let mut out = vec![0f32; out_w * out_h * 3];
    for (oy, (start, w)) in ty.spans.iter().enumerate() {
        let dst = &mut out[oy * out_w * 3..(oy + 1) * out_w * 3];
        for (k, wk) in w.iter().enumerate() {
            let src_row = &tmp[(start + k - row_lo) * out_w * 3..(start + k - row_lo + 1) * out_w * 3];
            for (d, s) in dst.iter_mut().zip(src_row) {
                *d += wk * s;
            }
        }
    }
    out
}

/// Samples `src` through an affine map (output pixel centre → source position) with bilinear
/// interpolation and edge clamping: crops of rotated text lines.
pub fn warp_affine(src: &RgbaImage, out_w: usize, out_h: usize, map: impl Fn(f32, f32) -> (f32, f32)) -> Vec<f32> {
    let mut out = Vec::with_capacity(out_w * out_h * 3);
    let (w, h) = (src.width as isize, src.height as isize);
    for oy in 0..out_h {
        for ox in 0..out_w {
            let (sx, sy) = map(ox as f32 + 0.5, oy as f32 + 0.5);
            let (fx, fy) = (sx - 0.5, sy - 0.5);
            let (x0, y0) = (fx.floor(), fy.floor());
            let (ax, ay) = (fx - x0, fy - y0);
            let mut acc = [0f32; 3];
            for (dy, wy) in [(0, 1.0 - ay), (1, ay)] {
                for (dx, wx) in [(0, 1.0 - ax), (1, ax)] {
                    let x = (x0 as isize + dx).clamp(0, w - 1) as usize;
                    let y = (y0 as isize + dy).clamp(0, h - 1) as usize;
                    let p = src.pixel(x, y);
                    let wt = wx * wy;
                    acc[0] += wt * p[0] as f32;
                    acc[1] += wt * p[1] as f32;
                    acc[2] += wt * p[2] as f32;
                }
            }
            out.extend_from_slice(&acc);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_resize_keeps_pixels() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let img = RgbaImage::from_rgb(4, 3, &rgb).unwrap();
        let out = resize_rect(&img, Rect { x: 0.0, y: 0.0, width: 4.0, height: 3.0 }, 4, 3);
        for (a, b) in out.iter().zip(&rgb) {
            assert!((a - *b as f32).abs() < 1e-4);
        }
    }

    #[test]
    fn downscale_averages_every_pixel() {
        // A 1-pixel checkerboard shrunk 4× must be flat grey, not alias into stripes.
        let rgb: Vec<u8> =
            (0..16 * 16).flat_map(|i| if (i % 16 + i / 16) % 2 == 0 { [255; 3] } else { [0; 3] }).collect();
        let img = RgbaImage::from_rgb(16, 16, &rgb).unwrap();
        let out = resize_rect(&img, Rect { x: 0.0, y: 0.0, width: 16.0, height: 16.0 }, 4, 4);
        for v in out {
            assert!((v - 127.5).abs() < 20.0, "{v}");
        }
    }

    #[test]
    fn bad_sizes_are_typed_errors() {
        assert_eq!(RgbaImage::new(0, 10, vec![]).unwrap_err().code(), crate::ErrorCode::InvalidArgument);
        assert_eq!(RgbaImage::new(2, 2, vec![0; 15]).unwrap_err().code(), crate::ErrorCode::InvalidArgument);
        assert_eq!(RgbaImage::new(MAX_SIDE + 1, 1, vec![]).unwrap_err().code(), crate::ErrorCode::ResourceLimit);
    }
}
