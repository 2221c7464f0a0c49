//! Re-initialising burn's own layers from our [`Rng`].
//!
//! burn's layer configs (`LinearConfig`, `EmbeddingConfig`, `LayerNormConfig`,
//! `MultiHeadAttentionConfig`, ...) draw their initial weights from burn's global generator,
//! which a lab cannot own: two runs racing side by side would disturb each other, and a run's
//! numbers would depend on what ran before it. [`reinit`] walks a module built that way and
//! replaces every float parameter with values drawn from the lab's own [`Rng`], so the layers can
//! be used while initial weights depend only on the seed.
//!
//! The rules, by the parameter's field name and the layer that owns it:
//!
//! | parameter                               | values                                  |
//! |-----------------------------------------|-----------------------------------------|
//! | `bias`, `beta` (any rank)               | zeros                                   |
//! | `gamma` (norm scales)                   | ones                                    |
//! | `weight` of an `Embedding`              | normal, mean 0, std [`Init::embedding_std`] |
//! | any other matrix `[fan_in, fan_out]`    | [`Init::weights`]: Kaiming or Xavier uniform |
//!
//! Matrices are read in burn's `Linear` layout, `[d_input, d_output]`. Any other parameter
//! (a vector with another name, a convolution kernel) is an error rather than a guess.
//!
//! Parameters are visited in field order (the order of the struct's declaration, `Vec` items in
//! index order) and each is filled row-major, so the draws are fixed by the module's structure
//! and the seed alone.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};

use crate::error::LabError;
use crate::rng::Rng;

/// How weight matrices are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightInit {
    /// He/Kaiming uniform, U(±√(6 / fan_in)): keeps the activation scale through ReLU layers.
    KaimingUniform,
    /// Glorot/Xavier uniform, U(±√(6 / (fan_in + fan_out))): for linear, tanh and attention
    /// projections, where both directions of the signal should keep their scale.
    XavierUniform,
}

/// What [`reinit`] draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Init {
    /// The rule for weight matrices.
    pub weights: WeightInit,
    /// Standard deviation of embedding tables (burn's own default is 1; transformers often
    /// use 0.02).
    pub embedding_std: f64,
}

impl Default for Init {
    /// Xavier-uniform matrices and unit-variance embeddings.
    fn default() -> Self {
        Init {
            weights: WeightInit::XavierUniform,
            embedding_std: 1.0,
        }
    }
}

/// Returns `module` with every float parameter redrawn from `rng` by the rules of [`Init`] (see
/// the module documentation). Parameter ids, and whether each requires a gradient, are kept, so
/// an optimiser created afterwards sees an ordinary module.
///
/// burn may still run its own (lazy) initialiser once while the parameter is taken apart; its
/// values are discarded, so burn's global generator has no influence on the result.
pub fn reinit<M: Module>(module: M, rng: &mut Rng, init: Init) -> Result<M, LabError> {
    let mut mapper = Reinit {
        rng,
        init,
        path: Vec::new(),
        error: None,
    };
    let module = module.map(&mut mapper);
    match mapper.error {
        Some(e) => Err(e),
        None => Ok(module),
    }
}

struct Reinit<'a> {
    rng: &'a mut Rng,
    init: Init,
    /// (field name, container type) from the root to the current parameter.
    path: Vec<(String, String)>,
    error: Option<LabError>,
}

impl Reinit<'_> {
    fn path_text(&self) -> String {
        let names: Vec<&str> = self.path.iter().map(|(n, _)| n.as_str()).collect();
        names.join(".")
    }

    /// The values for a parameter of shape `dims` at the current path.
    fn values(&mut self, dims: &[usize]) -> Result<Vec<f32>, LabError> {
        let count: usize = dims.iter().product();
        let (name, owner) = self
            .path
            .last()
            .map(|(n, o)| (n.as_str(), o.as_str()))
            .unwrap_or(("", ""));
        match (name, dims.len()) {
            ("bias" | "beta", _) => Ok(vec![0.0; count]),
            ("gamma", _) => Ok(vec![1.0; count]),
            ("weight", 2) if owner == "Struct:Embedding" => {
                let std = self.init.embedding_std;
                Ok((0..count)
                    .map(|_| (self.rng.normal() * std) as f32)
                    .collect())
            }
            (_, 2) => {
                let (fan_in, fan_out) = (dims[0] as f32, dims[1] as f32);
                let bound = match self.init.weights {
                    WeightInit::KaimingUniform => (6.0 / fan_in.max(1.0)).sqrt(),
                    WeightInit::XavierUniform => (6.0 / (fan_in + fan_out).max(1.0)).sqrt(),
                };
                Ok((0..count)
                    .map(|_| self.rng.range_f32(-bound, bound))
                    .collect())
            }
            _ => Err(LabError::compute(format!(
                "reinit: no rule for parameter `{}` of shape {dims:?} (in {owner})",
                self.path_text()
            ))),
        }
    }
}

impl ModuleMapper for Reinit<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let dims: [usize; D] = param.lazy_shape().dims();
        match self.values(&dims) {
            Ok(values) => param.map(|old| {
                let fresh = Tensor::<D>::from_data(TensorData::new(values, dims), &old.device());
                fresh.set_require_grad(old.is_require_grad())
            }),
            Err(e) => {
                self.error = Some(e);
                param
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::module::ModuleVisitor;
    use burn::nn::attention::{MultiHeadAttention, MultiHeadAttentionConfig};
    use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
    use burn::tensor::Device;

    use super::*;
    use crate::backend::Backend;
    use crate::nn::{autodiff_device, to_vec};

    #[derive(Module, Debug)]
    struct Block {
        embed: Embedding,
        norm: LayerNorm,
        attn: MultiHeadAttention,
        out: Linear,
    }

    /// A block built with burn's configs, after seeding burn's global generator with `burn_seed`.
    fn block(burn_seed: u64, device: &Device) -> Block {
        device.seed(burn_seed);
        Block {
            embed: EmbeddingConfig::new(11, 8).init(device),
            norm: LayerNormConfig::new(8).init(device),
            attn: MultiHeadAttentionConfig::new(8, 2).init(device),
            out: LinearConfig::new(8, 3).init(device),
        }
    }

    /// Every float parameter, flattened, in visiting order, with its path's last field name.
    #[derive(Default)]
    struct Collect {
        path: Vec<String>,
        params: Vec<(String, Vec<f32>)>,
    }

    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = to_vec(param.val()).expect("read back");
            self.params.push((self.path.join("."), values));
        }
    }

    fn params(m: &Block) -> Vec<(String, Vec<f32>)> {
        let mut c = Collect::default();
        m.visit(&mut c);
        c.params
    }

    #[test]
    fn same_seed_same_params_whatever_burns_generator_did() {
        let device = Backend::cpu().device;
        let init = Init::default();
        let a = reinit(block(1, &device), &mut Rng::new(5), init).expect("reinit");
        let b = reinit(block(2, &device), &mut Rng::new(5), init).expect("reinit");
        let c = reinit(block(1, &device), &mut Rng::new(6), init).expect("reinit");
        let (pa, pb, pc) = (params(&a), params(&b), params(&c));
        assert_eq!(pa, pb, "burn's global seed leaked into the parameters");
        assert_ne!(pa, pc, "a different seed must give different weights");
        // The two raw burn blocks differ, so the test would catch a reinit that did nothing.
        assert_ne!(params(&block(1, &device)), params(&block(2, &device)));
        let names: Vec<&str> = pa.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[..3], ["embed.weight", "norm.gamma", "norm.beta"]);
        for (name, v) in &pa {
            let field = name.rsplit('.').next().unwrap_or("");
            match field {
                "bias" | "beta" => assert!(v.iter().all(|&x| x == 0.0), "{name}"),
                "gamma" => assert!(v.iter().all(|&x| x == 1.0), "{name}"),
                _ if name == "embed.weight" => {
                    let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
                    assert!((0.4..2.0).contains(&var), "{name}: variance {var}");
                }
                _ => {
                    let bound = if name == "out.weight" {
                        (6.0f32 / 11.0).sqrt()
                    } else {
                        (6.0f32 / 16.0).sqrt()
                    };
                    assert!(v.iter().all(|x| x.abs() <= bound), "{name} beyond ±{bound}");
                    assert!(v.iter().any(|x| x.abs() > bound / 2.0), "{name} too small");
                }
            }
        }
    }

    #[test]
    fn kaiming_bound_and_gradients_survive() {
        let device = autodiff_device(&Backend::cpu().device);
        let lin = LinearConfig::new(24, 4).init(&device);
        let init = Init {
            weights: WeightInit::KaimingUniform,
            embedding_std: 0.02,
        };
        let lin = reinit(lin, &mut Rng::new(1), init).expect("reinit");
        let w = to_vec(lin.weight.val()).expect("read");
        let bound = 0.5; // √(6 / 24)
        assert!(w.iter().all(|x| x.abs() <= bound) && w.iter().any(|x| x.abs() > 0.4));
        let x = Tensor::<2>::ones([2, 24], &device);
        let loss = lin.forward(x).sum();
        let grads = loss.backward();
        assert!(
            lin.weight.val().grad(&grads).is_some(),
            "weights must stay trainable"
        );
    }

    #[test]
    fn unknown_parameters_are_an_error() {
        #[derive(Module, Debug)]
        struct Odd {
            scale: Param<Tensor<1>>,
        }
        let device = Backend::cpu().device;
        let odd = Odd {
            scale: Param::from_tensor(Tensor::zeros([3], &device)),
        };
        let err = reinit(odd, &mut Rng::new(1), Init::default()).expect_err("no rule");
        assert!(err.to_string().contains("scale"), "{err}");
    }
}
