//! Small numeric helpers the task decoders share.

pub fn softmax(x: &[f32]) -> Vec<f32> {
    let mut v = x.to_vec();
    softmax_in_place(&mut v);
    v
}

pub fn softmax_in_place(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    v.iter_mut().for_each(|x| *x = (*x - max).exp());
    let s: f32 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
}
