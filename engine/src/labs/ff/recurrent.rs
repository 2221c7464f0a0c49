//! Recurrent Forward-Forward with top-down connections (Hinton 2022, §4).
//!
//! A static image is treated as a video of identical frames. At each time step every hidden
//! layer is recomputed from the normalised activities, one step earlier, of the layer below and
//! the layer above; the top "layer" is the label, clamped. Updates are synchronous and damped:
//! `new = damping·old + (1 − damping)·computed`. Each layer's goodness at each iteration gets the
//! usual FF loss; the inputs of every update are detached, so learning stays local in both
//! space and time.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};

use crate::data::mnist::CLASSES;
use crate::nn::{init_linear_he, rms_normalize};
use crate::rng::Rng;

use super::model::{PassOpts, activate, layer_goodness};

/// The recurrent net: bottom-up and top-down weights into every hidden layer.
#[derive(Module, Debug)]
pub struct RecurrentNet {
    /// From the layer below (the image for the first) into each hidden layer, with bias.
    pub up: Vec<Linear>,
    /// From the layer above (the label for the last) into each hidden layer, no bias.
    pub down: Vec<Linear>,
}

impl RecurrentNet {
    /// A net over `d_in` input pixels with the given hidden widths and a `CLASSES`-wide top.
    pub fn new(d_in: usize, widths: &[usize], rng: &mut Rng, device: &Device) -> Self {
        let mut up = Vec::with_capacity(widths.len());
        let mut down = Vec::with_capacity(widths.len());
        for (l, &w) in widths.iter().enumerate() {
            let below = if l == 0 { d_in } else { widths[l - 1] };
            let above = widths.get(l + 1).copied().unwrap_or(CLASSES);
            up.push(init_linear_he(below, w, rng, device));
            let mut d = init_linear_he(above, w, rng, device);
            d.bias = None;
            down.push(d);
        }
        RecurrentNet { up, down }
    }

    /// The first layer's bottom-up weights, `[d_in, width]`.
    pub fn first_weights(&self) -> Tensor<2> {
        self.up[0].weight.val()
    }

    /// Runs the net on images `x` (already normalised if wanted) with `label` `[n, CLASSES]`
    /// clamped on top: one bottom-up pass without top-down input, then `iters` damped
    /// iterations. Returns the goodness of every layer at every iteration, `[iter][layer]`
    /// (iteration 0 is the bottom-up pass, which is not trained), with the graph of each
    /// iteration's own update intact.
    pub fn run(
        &self,
        x: Tensor<2>,
        label: Tensor<2>,
        iters: usize,
        damping: f64,
        opts: &PassOpts,
    ) -> Vec<Vec<Tensor<1>>> {
        let norm = |t: Tensor<2>| {
            if opts.normalize_layers {
                rms_normalize(t)
            } else {
                t
            }
        };
        let mut states: Vec<Tensor<2>> = Vec::with_capacity(self.up.len());
        let mut g0 = Vec::with_capacity(self.up.len());
        for (l, up) in self.up.iter().enumerate() {
            let below = if l == 0 {
                x.clone()
            } else {
                norm(states[l - 1].clone())
            };
            let y = activate(up.forward(below), false).detach();
            g0.push(layer_goodness(y.clone(), opts.kind));
            states.push(y);
        }
        let mut out = vec![g0];
        let top = self.up.len();
        for _ in 0..iters {
            let mut next = Vec::with_capacity(top);
            let mut gs = Vec::with_capacity(top);
            for l in 0..top {
                let below = if l == 0 {
                    x.clone()
                } else {
                    norm(states[l - 1].clone())
                };
                // The label is scaled like a normalised layer (RMS 1) so its top-down input is
                // as strong as the bottom-up one.
                let above = if l + 1 == top {
                    label.clone().mul_scalar((CLASSES as f64).sqrt())
                } else {
                    norm(states[l + 1].clone())
                };
                let a = self.up[l].forward(below) + self.down[l].forward(above);
                let y = activate(a, opts.straight_through);
                let h = states[l].clone().mul_scalar(damping) + y.mul_scalar(1.0 - damping);
                gs.push(layer_goodness(h.clone(), opts.kind));
                next.push(h.detach());
            }
            states = next;
            out.push(gs);
        }
        out
    }
}

/// One-hot rows for `labels`, as host data for a `[n, CLASSES]` matrix.
pub fn one_hot(labels: &[usize]) -> Vec<f32> {
    let mut y = vec![0f32; labels.len() * CLASSES];
    for (r, &c) in labels.iter().enumerate() {
        y[r * CLASSES + c] = 1.0;
    }
    y
}
