//! A multilayer perceptron of burn [`Linear`] layers, and the training step every lab repeats.

use burn::module::Module;
use burn::nn::Linear;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{gelu, relu, tanh};
use burn::tensor::{Device, Tensor};

use super::{init_linear, init_linear_he, scalar};
use crate::error::LabError;
use crate::rng::Rng;

/// The nonlinearity between an [`Mlp`]'s layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// The Gaussian error linear unit.
    Gelu,
    /// The hyperbolic tangent.
    Tanh,
}

impl Activation {
    /// Applies the nonlinearity element-wise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Gelu => gelu(x),
            Activation::Tanh => tanh(x),
        }
    }
}

/// Fully connected layers with an activation after every layer but the last, whose output is
/// linear (logits, Q-values, a score).
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Linear>,
    /// The nonlinearity between layers.
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// A ReLU MLP through the widths `sizes` (input first, output last), every layer drawn by
    /// [`init_linear`] (uniform ±1/√fan_in for weights and biases), layer by layer in order.
    pub fn uniform(sizes: &[usize], rng: &mut Rng, device: &Device) -> Mlp {
        let layers = sizes
            .windows(2)
            .map(|w| init_linear(w[0], w[1], rng, device))
            .collect();
        Mlp::from_layers(layers, Activation::Relu)
    }

    /// A ReLU MLP through the widths `sizes` with He-normal weights and zero biases
    /// ([`init_linear_he`]), layer by layer in order.
    pub fn he(sizes: &[usize], rng: &mut Rng, device: &Device) -> Mlp {
        let layers = sizes
            .windows(2)
            .map(|w| init_linear_he(w[0], w[1], rng, device))
            .collect();
        Mlp::from_layers(layers, Activation::Relu)
    }

    /// An MLP from layers built elsewhere (say, a zeroed output layer).
    pub fn from_layers(layers: Vec<Linear>, activation: Activation) -> Mlp {
        Mlp { layers, activation }
    }

    /// Input width (0 without layers).
    pub fn d_in(&self) -> usize {
        self.layers.first().map_or(0, |l| l.weight.dims()[0])
    }

    /// Output width (0 without layers).
    pub fn d_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.weight.dims()[1])
    }

    /// The output for `x` (`[..., d_in]` to `[..., d_out]`); without layers, `x` itself.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                h = self.activation.apply(h);
            }
        }
        h
    }
}

/// Backpropagates `loss` and takes one optimiser step of size `lr` on `model` (which must live on
/// an autodiff device), returning the updated model. This is the tail of every training step:
/// the caller builds the loss however it likes, reads what it wants to report, then descends.
pub fn descend<M: Module>(model: M, loss: Tensor<1>, opt: &mut ModuleOptimizer, lr: f64) -> M {
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    opt.step(lr, model, grads)
}

/// One whole training step: `loss_of` runs the forward pass and the loss on `model`, the loss's
/// value is read back, and [`descend`] updates the model. Returns the updated model and the
/// loss before the step.
pub fn train_step<M: Module>(
    model: M,
    opt: &mut ModuleOptimizer,
    lr: f64,
    loss_of: impl FnOnce(&M) -> Result<Tensor<1>, LabError>,
) -> Result<(M, f64), LabError> {
    let loss = loss_of(&model)?;
    let value = scalar(loss.clone().detach())?;
    Ok((descend(model, loss, opt, lr), value))
}

#[cfg(test)]
mod tests {
    use burn::optim::AdamConfig;

    use super::*;
    use crate::backend::Backend;
    use crate::nn::{autodiff_device, matrix, to_vec};

    #[test]
    fn mlp_shapes_and_one_step_lowers_the_loss() {
        let device = autodiff_device(&Backend::cpu().device);
        let mut rng = Rng::new(3);
        let mut net = Mlp::uniform(&[4, 8, 2], &mut rng, &device);
        assert_eq!((net.d_in(), net.d_out(), net.layers.len()), (4, 2, 2));
        let x = matrix((0..12).map(|i| i as f32 * 0.1).collect(), 3, 4, &device);
        assert_eq!(net.forward(x.clone()).dims(), [3, 2]);
        let mut opt: ModuleOptimizer = AdamConfig::new().init();
        let loss_of = |m: &Mlp| Ok(m.forward(x.clone()).square().mean());
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..20 {
            let (next, loss) = train_step(net, &mut opt, 1e-2, loss_of).expect("step");
            net = next;
            first.get_or_insert(loss);
            last = loss;
        }
        assert!(last < first.unwrap_or(0.0), "{first:?} -> {last}");
        let empty = Mlp::from_layers(Vec::new(), Activation::Tanh);
        let y = empty.forward(matrix(vec![1.0, 2.0], 1, 2, &device));
        assert_eq!(to_vec(y).expect("read"), vec![1.0, 2.0]);
    }
}
