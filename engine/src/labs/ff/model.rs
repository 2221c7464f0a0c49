//! The Forward-Forward network and its backprop twin.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{log_softmax, relu, softplus};
use burn::tensor::{Device, Tensor};

use crate::nn::{Mlp, init_linear, init_linear_he, rms_normalize};
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

    /// Goodness of every layer for each row of `x` (a `[n]` tensor per layer) and each layer's
    /// activities, detached. No gradient flows from one layer into the layer below it.
    ///
    /// With `straight_through`, the ReLU passes gradient as if it were the identity (its output
    /// is unchanged). Units that went silent can then recover, which plain ReLU never allows
    /// under a goodness objective; loeweX's reference implementation does the same.
    ///
    /// The image itself enters the first layer as it is unless `normalize_input` is set; every
    /// later layer sees the length-normalised activities of the one below, unless
    /// `normalize_layers` is off (the ablation).
    pub fn pass(&self, x: Tensor<2>, opts: &PassOpts) -> (Vec<Tensor<1>>, Vec<Tensor<2>>) {
        let mut h = if opts.normalize_input {
            rms_normalize(x)
        } else {
            x
        };
        let mut goodness = Vec::with_capacity(self.layers.len());
        let mut acts = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let input = if i > 0 && opts.normalize_layers {
                rms_normalize(h)
            } else {
                h
            };
            let a = layer.forward(input);
            let y = activate(a, opts.straight_through);
            goodness.push(layer_goodness(y.clone(), opts.kind));
            h = y.detach();
            acts.push(h.clone());
        }
        (goodness, acts)
    }

    /// Goodness of every layer for each of `n` images under each of `labels` candidate labels
    /// (a one-hot of value 1 in the first `labels` input columns), in one batched pass: per
    /// layer a `[labels·n]` tensor, label-major (row `c·n + r` is image `r` with label `c`).
    /// Equal, up to float rounding, to [`FfNet::pass`] on each labelled copy.
    ///
    /// `x` (`[n, d_in]`) holds the images with their first `labels` columns zero. The first
    /// layer is linear, and the one-hot adds the same squared length (1) to every copy, so
    /// the input normalisation divides all copies of a row by the same RMS: the first layer's
    /// pre-activation for label `c` is `(x·W + W[c]) / rms + b`. One `[n, d_in]` product
    /// replaces `labels` of them, and the later layers take all copies in one product each.
    pub fn label_sweep(&self, x: Tensor<2>, labels: usize, opts: &PassOpts) -> Vec<Tensor<1>> {
        let [n, d_in] = x.dims();
        let mut goodness = Vec::with_capacity(self.layers.len());
        let Some(first) = self.layers.first() else {
            return goodness;
        };
        let w = first.weight.val();
        let d1 = w.dims()[1];
        let z = x.clone().matmul(w.clone()).unsqueeze_dim::<3>(0); // [1, n, d1]
        let label_rows = w.narrow(0, 0, labels).unsqueeze_dim::<3>(1); // [labels, 1, d1]
        let mut a = z + label_rows; // [labels, n, d1]
        if opts.normalize_input {
            // As `rms_normalize` of each labelled copy: mean over all d_in columns of the
            // squares, the label's 1² included.
            let rms = x
                .square()
                .sum_dim(1)
                .add_scalar(1.0)
                .div_scalar(d_in as f64)
                .sqrt()
                .add_scalar(1e-8)
                .unsqueeze_dim::<3>(0); // [1, n, 1]
            a = a / rms;
        }
        if let Some(b) = &first.bias {
            a = a + b.val().unsqueeze_dims::<3>(&[0, 1]);
        }
        let mut h = relu(a.reshape([labels * n, d1]));
        goodness.push(layer_goodness(h.clone(), opts.kind));
        for layer in &self.layers[1..] {
            let input = if opts.normalize_layers {
                rms_normalize(h)
            } else {
                h
            };
            h = relu(layer.forward(input));
            goodness.push(layer_goodness(h.clone(), opts.kind));
        }
        goodness
    }
}

/// How a forward pass is run: the goodness form and the normalisation choices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassOpts {
    /// Goodness function.
    pub kind: Goodness,
    /// ReLU with identity gradient.
    pub straight_through: bool,
    /// Length-normalise the input image.
    pub normalize_input: bool,
    /// Length-normalise activities between layers.
    pub normalize_layers: bool,
}

/// ReLU, optionally with the identity's gradient (see [`FfNet::pass`]).
pub fn activate(a: Tensor<2>, straight_through: bool) -> Tensor<2> {
    if straight_through {
        a.clone() + (relu(a.clone()) - a).detach()
    } else {
        relu(a)
    }
}

/// A layer's goodness for each row of its activities `y`: `[n]`.
pub fn layer_goodness(y: Tensor<2>, kind: Goodness) -> Tensor<1> {
    let sq = y.square();
    let g = match kind {
        Goodness::Mean => sq.mean_dim(1),
        Goodness::Sum => sq.sum_dim(1),
        Goodness::NegSum => sq.sum_dim(1).neg(),
    };
    g.flatten(0, 1)
}

/// A linear softmax read-out on the concatenated, length-normalised activities of some layers:
/// the one-pass readout of supervised FF and the classifier of unsupervised FF. Its input is
/// always detached, so it never changes the FF net.
#[derive(Module, Debug)]
pub struct SoftmaxReadout {
    /// Features to class logits.
    pub head: Linear,
}

impl SoftmaxReadout {
    /// A read-out for `d_in` features.
    pub fn new(d_in: usize, classes: usize, rng: &mut Rng, device: &Device) -> Self {
        SoftmaxReadout {
            head: init_linear(d_in, classes, rng, device),
        }
    }

    /// The features: each chosen layer's activities, length-normalised, side by side.
    pub fn features(acts: &[Tensor<2>], layers: &[usize]) -> Tensor<2> {
        let parts: Vec<Tensor<2>> = layers
            .iter()
            .map(|&l| rms_normalize(acts[l].clone()))
            .collect();
        Tensor::cat(parts, 1).detach()
    }

    /// Class logits `[n, classes]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.head.forward(features)
    }

    /// Mean cross-entropy against one-hot targets.
    pub fn loss(&self, features: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
        let lp = log_softmax(self.forward(features), 1);
        (lp * one_hot).sum_dim(1).mean().neg()
    }
}

/// Below this argument softplus counts as zero and passes no gradient (see [`ff_layer_loss`]).
pub const SOFTPLUS_FLOOR: f64 = -20.0;

/// The per-layer Forward-Forward loss: softplus(θ − G⁺) + softplus(G⁻ − θ), averaged over the
/// batch. `g` holds the positive rows first, then the same number of negative rows.
///
/// Each softplus argument is first clamped at [`SOFTPLUS_FLOOR`]: with sum goodness, margins of
/// 90–100 are common, and softplus's gradient there (e^-90) is a subnormal float, which every
/// later multiplication (the backward matmuls, Adam) computes many times slower. Clamped, those
/// examples pass exactly zero gradient instead; what is lost is below e^-20 ≈ 2e-9 of a
/// gradient per example, and the loss value changes by less than that.
pub fn ff_layer_loss(g: Tensor<1>, batch: usize, threshold: f64) -> Tensor<1> {
    let pos = g.clone().narrow(0, 0, batch);
    let neg = g.narrow(0, batch, batch);
    let floored = |x: Tensor<1>| softplus(x.clamp_min(SOFTPLUS_FLOOR), 1.0).mean();
    floored(pos.neg().add_scalar(threshold)) + floored(neg.sub_scalar(threshold))
}

/// The backprop baseline: the same hidden layers with a softmax head.
#[derive(Module, Debug)]
pub struct BpNet {
    /// Hidden ReLU layers, input first, then the linear read-out to the class logits.
    pub mlp: Mlp,
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
        let sizes: Vec<usize> = std::iter::once(d_in)
            .chain(widths.iter().copied())
            .chain(std::iter::once(classes))
            .collect();
        BpNet {
            mlp: Mlp::uniform(&sizes, rng, device),
        }
    }

    /// Class logits `[n, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.mlp.forward(x)
    }

    /// Mean cross-entropy against one-hot targets `[n, classes]`.
    pub fn loss(&self, x: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
        let lp = log_softmax(self.forward(x), 1);
        (lp * one_hot).sum_dim(1).mean().neg()
    }
}
