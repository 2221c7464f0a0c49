//! Adam that keeps the CPU fast over a long run.
//!
//! burn's `AdamConfig` optimiser runs about a dozen element-wise tensor passes per parameter and
//! lets its moments decay into subnormal floats, which the CPU computes many times slower (the
//! Forward-Forward step lost half its speed by step 2,000 that way). [`Adam`] is the same update
//! (same moments, bias correction and epsilon) done on the host in one fused pass by
//! [`trainscope_kernels::adam_update`], which flushes values too small to matter to zero. On
//! a GPU it hands over to burn's optimiser, so nothing is copied back to the host per step.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use trainscope_kernels::{AdamStep, adam_update};

/// burn's defaults for Adam.
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

/// Adam with burn's default settings: fused and subnormal-free on the CPU, burn's own elsewhere.
pub enum Adam {
    /// The fused host update (CPU devices).
    Host(HostAdam),
    /// burn's optimiser (GPU devices: the parameters stay on the device).
    Burn(ModuleOptimizer),
}

impl Adam {
    /// The right Adam for `device`: fused on the host when the device is the CPU backend.
    pub fn for_device(device: &Device) -> Adam {
        if *device == Device::flex() {
            Adam::Host(HostAdam::default())
        } else {
            Adam::Burn(AdamConfig::new().init())
        }
    }

    /// One step of size `lr` on `module` with the gradients `grads`, returning the module.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            Adam::Host(h) => h.step(lr, module, grads),
            Adam::Burn(o) => o.step(lr, module, grads),
        }
    }

    /// Backpropagates `loss` and takes one step on `model` (as [`super::descend`] does).
    pub fn descend<M: Module>(&mut self, model: M, loss: Tensor<1>, lr: f64) -> M {
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.step(lr, model, grads)
    }
}

/// The moments of one parameter tensor.
struct Moments {
    time: i32,
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Adam's state kept on the host, per parameter (by id, like burn's optimiser: a parameter that
/// gets no gradient in a step keeps its moments and its step count).
#[derive(Default)]
pub struct HostAdam {
    state: HashMap<ParamId, Moments>,
}

impl HostAdam {
    /// The step count and moments of one parameter, if it has had a gradient (checkpoints).
    pub(crate) fn moments(&self, id: &ParamId) -> Option<(i32, &[f32], &[f32])> {
        self.state
            .get(id)
            .map(|m| (m.time, m.m.as_slice(), m.v.as_slice()))
    }

    /// Restores one parameter's step count and moments (checkpoints).
    pub(crate) fn set_moments(&mut self, id: ParamId, time: i32, m: Vec<f32>, v: Vec<f32>) {
        self.state.insert(id, Moments { time, m, v });
    }

    /// One step of size `lr` on every parameter of `module` that has a gradient in `grads`.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        module.map(&mut Stepper {
            adam: self,
            grads,
            lr: lr as f32,
        })
    }
}

struct Stepper<'a> {
    adam: &'a mut HostAdam,
    grads: GradientsParams,
    lr: f32,
}

impl ModuleMapper for Stepper<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let inner = tensor.inner();
        let device = inner.device();
        // Both are read in place: when the module was not cloned elsewhere, flex hands over
        // its buffers without copying, and the updated parameter reuses its own buffer.
        let mut data = inner.into_data();
        let grad = grad.into_data();
        let (Ok(p), Ok(g)) = (data.as_mut_slice::<f32>(), grad.as_slice::<f32>()) else {
            // Not f32 data: the parameter is left as it was rather than corrupted.
            let unchanged = Tensor::<D>::from_data(data, &device);
            return Param::from_mapped_value(id, restore(unchanged, require_grad), mapper);
        };
        let n = p.len();
        let st = self.adam.state.entry(id).or_insert_with(|| Moments {
            time: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        });
        st.time += 1;
        adam_update(
            p,
            g,
            &mut st.m,
            &mut st.v,
            AdamStep {
                lr: self.lr,
                beta_1: BETA_1,
                beta_2: BETA_2,
                epsilon: EPSILON,
                time: st.time,
            },
        );
        let updated = Tensor::<D>::from_data(data, &device);
        Param::from_mapped_value(id, restore(updated, require_grad), mapper)
    }
}

/// Back on the autodiff device, tracked again if it was.
fn restore<const D: usize>(inner: Tensor<D>, require_grad: bool) -> Tensor<D> {
    let t = Tensor::from_inner(inner);
    if require_grad { t.require_grad() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::nn::{Mlp, autodiff_device, matrix, to_vec};
    use crate::rng::Rng;

    /// The fused host Adam follows burn's Adam step for step on a small MLP.
    #[test]
    fn host_adam_tracks_burns_adam() {
        let device = autodiff_device(&Backend::cpu().device);
        let net = Mlp::uniform(&[6, 16, 3], &mut Rng::new(5), &device);
        let x = matrix(
            (0..24).map(|i| (i as f32 * 0.37).sin()).collect(),
            4,
            6,
            &device,
        );
        let (mut a, mut b) = (net.clone(), net);
        let mut host = HostAdam::default();
        let mut burn_opt: ModuleOptimizer = AdamConfig::new().init();
        for _ in 0..30 {
            let la = a.forward(x.clone()).square().mean();
            let ga = GradientsParams::from_grads(la.backward(), &a);
            a = host.step(1e-2, a, ga);
            let lb = b.forward(x.clone()).square().mean();
            let gb = GradientsParams::from_grads(lb.backward(), &b);
            b = burn_opt.step(1e-2, b, gb);
        }
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            let wa = to_vec(la.weight.val()).expect("read");
            let wb = to_vec(lb.weight.val()).expect("read");
            let worst = wa
                .iter()
                .zip(&wb)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            assert!(worst < 1e-5, "weights differ by {worst}");
        }
        assert!(a.layers[0].weight.val().is_require_grad());
    }
}
