//! Value parsers the commands share: each failure says what the option takes.

use std::path::PathBuf;

pub fn positive(v: &str) -> Result<usize, String> {
    v.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("takes a positive integer, not {v}"))
}

pub fn positive_f64(v: &str) -> Result<f64, String> {
    v.parse().ok().filter(|t: &f64| *t > 0.0).ok_or_else(|| format!("takes a positive number, not {v}"))
}

/// `NAME=FILE.npy`
pub fn input_pair(v: &str) -> Result<(String, PathBuf), String> {
    let (name, file) = v.split_once('=').ok_or_else(|| format!("{v}: expected NAME=FILE.npy"))?;
    Ok((name.to_string(), file.into()))
}

/// `NAME=1x3x224x224`
pub fn shape_pair(v: &str) -> Result<(String, Vec<usize>), String> {
    let (name, dims) = v.split_once('=').ok_or_else(|| format!("{v}: expected NAME=1x3x224x224"))?;
    let dims = dims
        .split('x')
        .map(|d| d.parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{v}: dims must be positive integers joined by 'x'"))?;
    Ok((name.to_string(), dims))
}

/// bench's `--warmup`.
pub fn warmup(v: &str) -> Result<usize, String> {
    v.parse().map_err(|_| format!("--warmup takes a whole number of runs, not {v}"))
}

/// read-text's `--side`.
pub fn side(v: &str) -> Result<usize, String> {
    v.parse().map_err(|_| format!("--side takes the detector's side in pixels, not {v}"))
}
