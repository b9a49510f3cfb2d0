//! One forward pass of a pipeline's model: the preprocessed frame in, named f32 outputs out.

use std::collections::HashMap;

use super::image::RgbaImage;
use super::preprocess::{InputSpec, ToSource};
use crate::{Error, HostTensor, Model, Result, TensorData};

/// The input name a manifest means: its own, or the model's first input.
pub fn input_name(model: &Model, named: &Option<String>) -> Result<String> {
    match named {
        Some(n) if model.inputs().iter().any(|i| &i.name == n) => Ok(n.clone()),
        Some(n) => Err(Error::InvalidArgument(format!(
            "the manifest names input \"{n}\", the model's inputs are {:?}",
            model.inputs().iter().map(|i| &i.name).collect::<Vec<_>>()
        ))),
        None => model
            .inputs()
            .first()
            .map(|i| i.name.clone())
            .ok_or_else(|| Error::ModelInvalid("the model has no input".into())),
    }
}

/// Checks every output name a manifest relies on exists, at creation rather than first frame.
pub fn check_outputs<'a>(model: &Model, names: impl IntoIterator<Item = &'a String>) -> Result<()> {
    for n in names {
        if !model.outputs().iter().any(|o| &o.name == n) {
            return Err(Error::InvalidArgument(format!(
                "the manifest names output \"{n}\", the model's outputs are {:?}",
                model.outputs().iter().map(|o| &o.name).collect::<Vec<_>>()
            )));
        }
    }
    Ok(())
}

/// An output as (dims, values).
pub type F32Out = (Vec<usize>, Vec<f32>);

pub async fn forward(model: &mut Model, input: &str, tensor: HostTensor) -> Result<HashMap<String, F32Out>> {
    f32_outputs(model.run_async(HashMap::from([(input.to_string(), tensor)])).await?)
}

/// `img` pre-processed as `spec` says and run: on a WebGPU model the pre-processing runs on the
/// GPU in the same submission (the frame's bytes are the only upload), else on the CPU.
pub async fn forward_frame(
    model: &mut Model,
    input: &str,
    spec: &InputSpec,
    img: &RgbaImage,
) -> Result<(HashMap<String, F32Out>, ToSource)> {
    // The GPU description of the frame is built only for a model that can use it: a CPU model's
    // frames pay for one resize, not two sets of filter taps.
    if model.takes_gpu_frames(input) {
        let g = spec.geometry(img.width, img.height);
        let t = spec.frame_transform(&g, img.height);
        let size = (img.width as u32, img.height as u32);
        if let Some(outs) = model.run_frame_async(input, &img.data, size, &t).await? {
            return Ok((f32_outputs(outs)?, g.to_source));
        }
    }
    let (tensor, to_source) = spec.apply(img)?;
    Ok((forward(model, input, tensor).await?, to_source))
}

fn f32_outputs(outs: Vec<(String, HostTensor)>) -> Result<HashMap<String, F32Out>> {
    outs.into_iter()
        .map(|(name, t)| match t.data {
            TensorData::F32(v) => Ok((name, (t.dims, v))),
            other => Err(Error::ModelInvalid(format!(
                "output \"{name}\" is {}, this pipeline reads f32",
                other.dtype().as_str()
            ))),
        })
        .collect()
}

pub fn take(outs: &mut HashMap<String, F32Out>, name: &str) -> Result<F32Out> {
    outs.remove(name).ok_or_else(|| Error::Internal(format!("output \"{name}\" missing from the run")))
}
