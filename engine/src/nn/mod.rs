//! Small burn building blocks shared by several labs: layer initialisation from our own RNG,
//! an MLP and its training step, and the host-side helpers every lab needs (reading tensors
//! back, argmax, ROC AUC).

pub mod adam;
pub mod host_grad;
pub mod init;
pub mod metrics;
pub mod mlp;

pub use adam::Adam;
pub use init::{Init, WeightInit, reinit};
pub use metrics::{argmax, argmax_rows, roc_auc};
pub use mlp::{Activation, Mlp, descend, train_step};

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::LabError;
use crate::rng::Rng;

/// `device` with autodiff switched on (the same device if it already has it). Labs train through
/// it and evaluate on `without_autodiff()` copies; the runner may hand either kind of device in.
pub fn autodiff_device(device: &Device) -> Device {
    if device.is_autodiff() {
        device.clone()
    } else {
        device.clone().autodiff()
    }
}

/// A linear layer initialised from our own RNG (uniform ±1/√fan_in, as is customary), so that
/// initial weights depend only on the lab's seed and never on burn's global generator.
pub fn init_linear(d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Linear {
    let k = 1.0 / (d_in as f32).sqrt();
    let w: Vec<f32> = (0..d_in * d_out).map(|_| rng.range_f32(-k, k)).collect();
    let b: Vec<f32> = (0..d_out).map(|_| rng.range_f32(-k, k)).collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(b, [d_out]),
            device,
        ))),
    }
}

/// A linear layer with He-normal weights (std √(2/fan_in)) and zero bias, the usual choice in
/// front of a ReLU, drawn from our own RNG.
pub fn init_linear_he(d_in: usize, d_out: usize, rng: &mut Rng, device: &Device) -> Linear {
    let std = (2.0 / d_in as f64).sqrt();
    let w: Vec<f32> = (0..d_in * d_out)
        .map(|_| (rng.normal() * std) as f32)
        .collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

/// Divides each row by its root-mean-square (no mean subtraction), so only the direction of an
/// activity vector is passed on, as Forward-Forward requires.
pub fn rms_normalize(x: Tensor<2>) -> Tensor<2> {
    let rms = x.clone().square().mean_dim(1).sqrt().add_scalar(1e-8);
    x / rms
}

/// A `[rows, cols]` tensor from row-major host data.
pub fn matrix(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// Reads a tensor back to the host as `f32`s.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, LabError> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| LabError::compute(format!("reading a tensor back: {e:?}")))
}

/// Reads a one-element tensor back as an `f64`.
pub fn scalar(t: Tensor<1>) -> Result<f64, LabError> {
    to_vec(t)?
        .first()
        .map(|&v| v as f64)
        .ok_or_else(|| LabError::compute("empty tensor where a scalar was expected"))
}
