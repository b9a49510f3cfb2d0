//! Local response normalisation across channels (ONNX `LRN`: AlexNet, GoogLeNet, ZFNet). tract's
//! op indexes every tap through a dynamic-rank index and raises each value to `beta` with `powf`:
//! two LRN layers were two thirds of GoogLeNet's time in wasm. Here a channel plane's window
//! sums are whole-plane passes in the same order as tract's sum, and the usual exponents take
//! square roots instead of `powf`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx_opl::lrn::Lrn;

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelLrn {
    /// `alpha / size`, as tract computes it.
    scale: f32,
    bias: f32,
    power: Power,
    /// Channels before and after a channel in its window.
    before: usize,
    after: usize,
}

impl Eq for ChannelLrn {}

impl std::hash::Hash for ChannelLrn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.scale.to_bits(), self.bias.to_bits(), self.before, self.after).hash(state);
        self.power.hash(state);
    }
}

/// `d^beta`: the exponents real models use by roots (within a few ulps of `powf`), any other by
/// `powf`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Power {
    One,
    Half,
    ThreeQuarters,
    Other(f32),
}

impl std::hash::Hash for Power {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Power::Other(b) => b.to_bits().hash(state),
            other => std::mem::discriminant(other).hash(state),
        }
    }
}

impl Power {
    fn of(beta: f32) -> Power {
        match beta {
            1.0 => Power::One,
            0.5 => Power::Half,
            0.75 => Power::ThreeQuarters,
            b => Power::Other(b),
        }
    }

    #[inline(always)]
    fn raise(self, d: f32) -> f32 {
        match self {
            Power::One => d,
            Power::Half => d.sqrt(),
            Power::ThreeQuarters => {
                let root = d.sqrt();
                root * root.sqrt()
            }
            Power::Other(b) => d.powf(b),
        }
    }
}

impl ChannelLrn {
    /// The kernel for `node` if it is tract's f32 `Lrn` over a tensor of rank 2 or more.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<ChannelLrn>> {
        let Some(op) = node.op_as::<Lrn>() else { return Ok(None) };
        let fact = model.outlet_fact(node.inputs[0])?;
        if fact.datum_type != f32::datum_type() || fact.rank() < 2 || op.size == 0 {
            return Ok(None);
        }
        Ok(Some(ChannelLrn {
            scale: op.alpha / op.size as f32,
            bias: op.bias,
            power: Power::of(op.beta),
            before: (op.size - 1) / 2,
            after: (op.size - 1).div_ceil(2),
        }))
    }

    /// One channel plane of the output: the window's sum of squares, then `x / (bias + scale·sum)^beta`.
    fn plane(&self, src: &[f32], channels: usize, inner: usize, c: usize, out: &mut [f32]) {
        let lo = c.saturating_sub(self.before);
        let hi = (c + self.after).min(channels - 1);
        out.fill(0.0);
        // Channel by channel, in tract's order: the same sums to the bit.
        for k in lo..=hi {
            for (o, &v) in out.iter_mut().zip(&src[k * inner..][..inner]) {
                *o += v * v;
            }
        }
        let (scale, bias, power) = (self.scale, self.bias, self.power);
        let xs = &src[c * inner..][..inner];
        // Separate loops per exponent so that each compiles to SIMD.
        match power {
            Power::One => apply(out, xs, |d| d, scale, bias),
            Power::Half => apply(out, xs, f32::sqrt, scale, bias),
            Power::ThreeQuarters => apply(out, xs, |d| Power::ThreeQuarters.raise(d), scale, bias),
            Power::Other(_) => apply(out, xs, |d| power.raise(d), scale, bias),
        }
    }
}

#[inline(always)]
fn apply(out: &mut [f32], xs: &[f32], raise: impl Fn(f32) -> f32, scale: f32, bias: f32) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = x / raise(bias + scale * *o);
    }
}

impl Op for ChannelLrn {
    fn name(&self) -> StaticName {
        "ChannelLrn".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("window -{}..+{}, {:?}", self.before, self.after, self.power)])
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelLrn {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape().to_vec();
        let (batch, channels) = (shape[0], shape[1]);
        let inner: usize = shape[2..].iter().product();
        // Every plane is written whole below.
        let mut output = unsafe { Tensor::uninitialized::<f32>(&shape)? };
        if batch * channels * inner == 0 {
            return Ok(tvec!(output.into_tvalue()));
        }
        let src_view = input.try_as_plain_ram()?;
        let src = src_view.as_slice::<f32>()?;
        let mut dst_view = output.try_as_plain_ram_mut()?;
        let dst = dst_view.as_slice_mut::<f32>()?;
        let image = channels * inner;
        let work = dst.len() * (self.before + self.after + 4);
        tract_linalg::multithread::par_chunks_mut(dst, inner, work, |first, planes| {
            for (i, out) in planes.chunks_exact_mut(inner).enumerate() {
                let (n, c) = ((first + i) / channels, (first + i) % channels);
                self.plane(&src[n * image..][..image], channels, inner, c, out);
            }
            Ok(())
        })?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for ChannelLrn {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}
