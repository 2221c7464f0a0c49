//! The Forward-Forward network and its backprop twin.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu, softplus};
use burn::tensor::{Device, Tensor};

use crate::nn::{init_linear, init_linear_he, rms_normalize};
use crate::rng::Rng;

use super::config::Goodness;

/// Fully connected ReLU layers trained by Forward-Forward: every layer has its own objective and
/// receives the length-normalised, gradient-stopped activities of the layer below.
#[derive(Module, Debug)]
pub struct FfNet {
    /// Hidden layers, input first.
    pub layers: Vec<Linear>,
}

impl FfNet {
    /// A net with the given input width and hidden widths.
    pub fn new(d_in: usize, widths: &[usize], rng: &mut Rng, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(widths.len());
        let mut prev = d_in;
        for &w in widths {
            layers.push(init_linear_he(prev, w, rng, device));
            prev = w;
        }
        FfNet { layers }
    }

    /// Goodness of every layer for each row of `x`: a `[n]` tensor per layer. No gradient flows
    /// from one layer into the layer below it.
    ///
    /// With `straight_through`, the ReLU passes gradient as if it were the identity (its output
    /// is unchanged). Units that went silent can then recover, which plain ReLU never allows
    /// under a goodness objective; loeweX's reference implementation does the same.
    ///
    /// The image itself enters the first layer as it is unless `normalize_input` is set; every
    /// later layer sees the length-normalised activities of the one below.
    pub fn goodness(
        &self,
        x: Tensor<2>,
        kind: Goodness,
        straight_through: bool,
        normalize_input: bool,
    ) -> Vec<Tensor<1>> {
        let mut h = if normalize_input { rms_normalize(x) } else { x };
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let input = if i == 0 { h } else { rms_normalize(h) };
            let a = layer.forward(input);
            let y = if straight_through {
                a.clone() + (relu(a.clone()) - a).detach()
            } else {
                relu(a)
            };
            let sq = y.clone().square();
            let g = match kind {
                Goodness::Mean => sq.mean_dim(1),
                Goodness::Sum => sq.sum_dim(1),
            };
            out.push(g.flatten(0, 1));
            h = y.detach();
        }
        out
    }
}

/// The per-layer Forward-Forward loss: softplus(θ − G⁺) + softplus(G⁻ − θ), averaged over the
/// batch. `g` holds the positive rows first, then the same number of negative rows.
pub fn ff_layer_loss(g: Tensor<1>, batch: usize, threshold: f64) -> Tensor<1> {
    let pos = g.clone().narrow(0, 0, batch);
    let neg = g.narrow(0, batch, batch);
    let lp = softplus(pos.neg().add_scalar(threshold), 1.0).mean();
    let ln = softplus(neg.sub_scalar(threshold), 1.0).mean();
    lp + ln
}

/// The backprop baseline: the same hidden layers with a softmax head.
#[derive(Module, Debug)]
pub struct BpNet {
    /// Hidden layers, input first.
    pub layers: Vec<Linear>,
    /// Linear read-out to the class logits.
    pub head: Linear,
}

impl BpNet {
    /// A net with the given input width, hidden widths and number of classes.
    pub fn new(
        d_in: usize,
        widths: &[usize],
        classes: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let mut layers = Vec::with_capacity(widths.len());
        let mut prev = d_in;
        for &w in widths {
            layers.push(init_linear(prev, w, rng, device));
            prev = w;
        }
        BpNet {
            layers,
            head: init_linear(prev, classes, rng, device),
        }
    }

    /// Class logits `[n, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for layer in &self.layers {
            h = relu(layer.forward(h));
        }
        self.head.forward(h)
    }

    /// Mean cross-entropy against one-hot targets `[n, classes]`.
    pub fn loss(&self, x: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
        let lp = log_softmax(self.forward(x), 1);
        (lp * one_hot).sum_dim(1).mean().neg()
    }
}
