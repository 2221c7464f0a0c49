//! The message-passing GNN (after Shen et al.'s IGConv / WCGCN) on dense `K × K` tensors, its
//! over-the-air variant for the Com4GNN corner, and the plain-MLP baseline.
//!
//! One layer, applied `layers` times with the same weights: every link i has the state
//! x_i = (direct-gain feature, current power fraction), starting from full power. Neighbour j
//! sends i the message m_ij = MLP₁(x_j, e_ij) with e_ij the features of the cross gains both
//! ways; i combines its neighbours' messages by an element-wise max (or mean, for the
//! over-the-air twin) and sets its power to sigmoid(MLP₂(x_i, aggregate)). Nothing in the layer
//! depends on K or on how links are numbered, so the same weights apply to any network and
//! permuting the links permutes the powers.

use burn::module::Module;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

use crate::nn::Mlp;
use crate::rng::Rng;

use super::data::GraphBatch;

/// How a link combines its neighbours' messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// Element-wise maximum (Shen's choice).
    Max,
    /// Element-wise mean: what a superposition over the air computes.
    Mean,
}

/// The over-the-air channel of the messages: every neighbour transmits its message vector on
/// one shared resource, each through its own Rayleigh fading amplitude (normalised to mean 1,
/// so the receiver's scaled sum is unbiased), and the receiver adds Gaussian noise whose power
/// is the mean message power over `snr` (linear).
pub struct AirChannel<'a> {
    /// Linear SNR of one message entry against the receiver noise.
    pub snr: f64,
    /// Source of the fading and noise draws (our own, for determinism).
    pub rng: &'a mut Rng,
}

/// Rayleigh amplitude with mean 1: |h| / E|h| for h ~ CN(0, 1).
fn rayleigh_unit_mean(rng: &mut Rng) -> f32 {
    let (x, y) = (rng.normal(), rng.normal());
    ((x * x + y * y) / 2.0).sqrt() as f32 / (std::f64::consts::PI.sqrt() / 2.0) as f32
}

/// The GNN's weights (shared by every link and every layer).
#[derive(Module, Debug)]
pub struct Gnn {
    /// Message MLP: (sender state 2, edge features 2) → hidden → hidden, ReLU after both.
    pub msg: Mlp,
    /// Update MLP: (own state 2, aggregate hidden) → hidden → 1, then a sigmoid.
    pub upd: Mlp,
    /// How messages are combined.
    #[module(skip)]
    pub aggregation: Aggregation,
}

impl Gnn {
    /// A GNN of width `hidden` with weights drawn from `rng`.
    pub fn new(hidden: usize, aggregation: Aggregation, rng: &mut Rng, device: &Device) -> Gnn {
        Gnn {
            msg: Mlp::uniform(&[4, hidden, hidden], rng, device),
            upd: Mlp::uniform(&[2 + hidden, hidden, 1], rng, device),
            aggregation,
        }
    }

    /// Number of trainable weights (the same for every K).
    pub fn params(&self) -> usize {
        self.num_params()
    }

    /// Power fractions `[B, K]` after `layers` applications of the shared layer; with `air`,
    /// every layer's aggregation goes over the noisy channel (mean aggregation only: the air
    /// adds, it cannot take a maximum).
    pub fn powers(
        &self,
        g: &GraphBatch,
        layers: usize,
        mut air: Option<AirChannel<'_>>,
    ) -> Tensor<2> {
        let (b, k) = (g.b, g.k);
        let device = g.direct.device();
        let mut p: Tensor<3> = Tensor::ones([b, k, 1], &device);
        for _ in 0..layers {
            let x = Tensor::cat(vec![g.direct.clone(), p], 2);
            let sender = x.clone().reshape([b, 1, k, 2]).expand([b, k, k, 2]);
            let m = relu(
                self.msg
                    .forward(Tensor::cat(vec![sender, g.edges.clone()], 3)),
            );
            let h = m.dims()[3];
            // Messages are ≥ 0 (ReLU), so zeroing non-neighbours leaves the max of the rest.
            let m = m * g.mask.clone();
            let aggr: Tensor<3> = match (self.aggregation, air.as_mut()) {
                (Aggregation::Max, _) => m.max_dim(2).reshape([b, k, h]),
                (Aggregation::Mean, None) => m.sum_dim(2).reshape([b, k, h]) / g.degree.clone(),
                (Aggregation::Mean, Some(ch)) => {
                    over_the_air(m, g, ch, [b, k, h], &device) / g.degree.clone()
                }
            };
            p = sigmoid(self.upd.forward(Tensor::cat(vec![x, aggr], 2)));
        }
        p.reshape([b, k])
    }
}

/// The receivers' superposed messages `[B, K, H]`: Σ_j a_ij m_ij + noise, with the fading
/// amplitudes a and the noise drawn fresh for this exchange.
fn over_the_air(
    m: Tensor<4>,
    g: &GraphBatch,
    ch: &mut AirChannel<'_>,
    [b, k, h]: [usize; 3],
    device: &Device,
) -> Tensor<3> {
    let fading: Vec<f32> = (0..b * k * k).map(|_| rayleigh_unit_mean(ch.rng)).collect();
    let fading = Tensor::from_data(TensorData::new(fading, [b, k, k, 1]), device);
    // Mean power of one message entry over each network's edges sets its noise level; the
    // channel is not something to differentiate through, hence detach.
    let edges = g
        .mask
        .clone()
        .sum_dim(2)
        .sum_dim(1)
        .reshape([b, 1])
        .clamp_min(1.0);
    let power = m
        .clone()
        .detach()
        .square()
        .sum_dim(3)
        .sum_dim(2)
        .sum_dim(1)
        .reshape([b, 1])
        / edges.mul_scalar(h as f64);
    let sd = power.div_scalar(ch.snr).sqrt().reshape([b, 1, 1]);
    let noise: Vec<f32> = (0..b * k * h).map(|_| ch.rng.normal() as f32).collect();
    let noise = Tensor::<3>::from_data(TensorData::new(noise, [b, k, h]), device);
    (m * fading).sum_dim(2).reshape([b, k, h]) + noise * sd
}

/// The unstructured baseline: an MLP from the flattened `K × K` gain features to K power
/// fractions. Its input width fixes K, so it cannot be applied to another network size.
#[derive(Module, Debug)]
pub struct MlpPower {
    /// (K·K) → hidden → hidden → K, ReLU between, sigmoid after.
    pub net: Mlp,
    /// The network size it was built for.
    #[module(skip)]
    pub k: usize,
}

impl MlpPower {
    /// An MLP baseline for `k` links.
    pub fn new(k: usize, hidden: usize, rng: &mut Rng, device: &Device) -> MlpPower {
        MlpPower {
            net: Mlp::uniform(&[k * k, hidden, hidden, k], rng, device),
            k,
        }
    }

    /// Power fractions `[B, K]`; `None` when the batch's K is not the one it was built for.
    pub fn powers(&self, g: &GraphBatch) -> Option<Tensor<2>> {
        (g.k == self.k).then(|| sigmoid(self.net.forward(g.flat.clone())))
    }
}
