//! Gradients written out by hand for the CPU: the training steps that run thousands of times
//! a minute (the Forward-Forward lab's backprop twin) without burn's autodiff graph.
//!
//! The matrix products still go through burn (its CPU backend's `gemm` kernels, on both
//! cores); everything between them (bias, ReLU, softmax, the loss and its gradient, the bias
//! gradients) is one fused host pass per layer from `trainscope_kernels`, instead of a dozen
//! tensor passes each with its own allocation and autodiff bookkeeping. The result is the
//! gradient autodiff computes, up to float rounding (a test below checks it), registered under
//! the same parameter ids, so the same optimiser applies it.

use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use trainscope_kernels::{bias_act, col_sums, relu_backward, softmax_xent};

use super::mlp::{Activation, Mlp};
use super::{matrix, to_vec};
use crate::error::LabError;

/// A `[n]` tensor on `device` from host data.
pub fn vector(data: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = data.len();
    Tensor::from_data(TensorData::new(data, [n]), device)
}

/// One layer's weight and bias as untracked tensors, and their ids.
pub struct LayerRefs {
    /// `[d_in, d_out]`.
    pub weight: Tensor<2>,
    /// The bias on the host.
    pub bias: Vec<f32>,
    /// The weight's parameter id.
    pub weight_id: ParamId,
    /// The bias's parameter id.
    pub bias_id: ParamId,
}

impl LayerRefs {
    /// The weight and bias of `layer` without autodiff tracking; `None` without a bias.
    pub fn of(layer: &burn::nn::Linear) -> Result<Option<LayerRefs>, LabError> {
        let Some(bias) = &layer.bias else {
            return Ok(None);
        };
        Ok(Some(LayerRefs {
            weight: layer.weight.val().inner(),
            bias: to_vec(bias.val().inner())?,
            weight_id: layer.weight.id,
            bias_id: bias.id,
        }))
    }
}

/// Whether [`relu_mlp_xent_grads`] covers `mlp`: a ReLU MLP with at least one layer, every
/// layer with a bias. Otherwise the caller uses autodiff.
pub fn relu_mlp_covers(mlp: &Mlp) -> bool {
    mlp.activation == Activation::Relu
        && !mlp.layers.is_empty()
        && mlp.layers.iter().all(|l| l.bias.is_some())
}

/// The gradients of the mean cross-entropy of a ReLU [`Mlp`]'s logits for the input rows `x`
/// (`[n, d_in]` on a device without autodiff) against the class indices `labels`, and the loss
/// (see [`relu_mlp_covers`] for the MLPs it takes).
pub fn relu_mlp_xent_grads(
    mlp: &Mlp,
    x: Tensor<2>,
    labels: &[usize],
) -> Result<(GradientsParams, f64), LabError> {
    if !relu_mlp_covers(mlp) {
        return Err(LabError::compute(
            "the hand-written backprop step needs a ReLU MLP whose layers all have biases",
        ));
    }
    let mut refs = Vec::with_capacity(mlp.layers.len());
    for layer in &mlp.layers {
        if let Some(r) = LayerRefs::of(layer)? {
            refs.push(r);
        }
    }
    let device = x.device();
    let n = x.dims()[0];
    let last = refs.len() - 1;
    // Forward: the input of every layer as a tensor, the hidden activities also on the host
    // (for the ReLU's backward).
    let mut inputs = vec![x];
    let mut hidden: Vec<Vec<f32>> = Vec::with_capacity(last);
    let mut logits = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let cols = r.bias.len();
        let input = inputs
            .last()
            .cloned()
            .ok_or_else(|| LabError::compute("no input"))?;
        let mut z = to_vec(input.matmul(r.weight.clone()))?;
        bias_act(&mut z, &r.bias, i < last);
        if i < last {
            inputs.push(matrix(z.clone(), n, cols, &device));
            hidden.push(z);
        } else {
            logits = z;
        }
    }
    let classes = refs[last].bias.len();
    let loss = softmax_xent(&mut logits, labels, classes)
        .ok_or_else(|| LabError::compute("a class label is out of range for the logits"))?;
    // Backward, top layer first: `d` is the gradient at the current layer's pre-activation.
    let mut grads = GradientsParams::new();
    let mut d = logits;
    for i in (0..refs.len()).rev() {
        let r = &refs[i];
        let cols = r.bias.len();
        grads.register(r.bias_id, vector(col_sums(&d, cols), &device));
        let dt = matrix(d, n, cols, &device);
        grads.register(
            r.weight_id,
            inputs[i].clone().transpose().matmul(dt.clone()),
        );
        if i == 0 {
            break;
        }
        let mut dh = to_vec(dt.matmul(r.weight.clone().transpose()))?;
        relu_backward(&mut dh, &hidden[i - 1]);
        d = dh;
    }
    Ok((grads, loss))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::nn::autodiff_device;
    use crate::rng::Rng;
    use burn::tensor::activation::log_softmax;

    /// The hand-written gradients equal autodiff's on a small ReLU MLP, and so does the loss.
    #[test]
    fn relu_mlp_gradients_match_autodiff() {
        let device = autodiff_device(&Backend::cpu().device);
        let inner = device.clone().without_autodiff();
        let mut rng = Rng::new(3);
        let mlp = Mlp::uniform(&[7, 12, 9, 4], &mut rng, &device);
        let (n, d_in, classes) = (6, 7, 4);
        let xs: Vec<f32> = (0..n * d_in).map(|i| (i as f32 * 0.73).sin()).collect();
        let labels = [0usize, 3, 1, 2, 3, 0];
        let one_hot: Vec<f32> = labels
            .iter()
            .flat_map(|&l| (0..classes).map(move |c| if c == l { 1.0 } else { 0.0 }))
            .collect();
        let lp = log_softmax(mlp.forward(matrix(xs.clone(), n, d_in, &device)), 1);
        let auto_loss = (lp * matrix(one_hot, n, classes, &device))
            .sum_dim(1)
            .mean()
            .neg();
        let auto_value = to_vec(auto_loss.clone()).expect("loss")[0] as f64;
        let mut auto = GradientsParams::from_grads(auto_loss.backward(), &mlp);
        let (mut host, value) = relu_mlp_xent_grads(&mlp, matrix(xs, n, d_in, &inner), &labels)
            .expect("host gradients");
        assert!((value - auto_value).abs() < 1e-5, "{value} vs {auto_value}");
        assert!(relu_mlp_covers(&mlp));
        for layer in &mlp.layers {
            let bias = layer.bias.as_ref().expect("bias");
            let pairs = [
                (
                    to_vec(host.remove::<2>(layer.weight.id).expect("w")).expect("w"),
                    to_vec(auto.remove::<2>(layer.weight.id).expect("w")).expect("w"),
                ),
                (
                    to_vec(host.remove::<1>(bias.id).expect("b")).expect("b"),
                    to_vec(auto.remove::<1>(bias.id).expect("b")).expect("b"),
                ),
            ];
            for (h, a) in pairs {
                assert_eq!(h.len(), a.len());
                let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                for (p, q) in h.iter().zip(&a) {
                    assert!((p - q).abs() <= 1e-5 * scale.max(1.0), "{p} vs {q}");
                }
            }
        }
    }

    #[test]
    fn a_label_out_of_range_is_an_error_not_a_panic() {
        let device = Backend::cpu().device;
        let mlp = Mlp::uniform(&[3, 4, 2], &mut Rng::new(1), &device);
        let x = matrix(vec![0.5; 6], 2, 3, &device);
        assert!(relu_mlp_xent_grads(&mlp, x, &[0, 2]).is_err());
    }
}
