//! Dynamic evaluation (Mikolov 2010; Krause et al. 2018): score a chunk of a document with the
//! current weights, then take SGD step(s) on that chunk's loss, and go on to the next chunk.
//! The weights go back to the trained ones at every document boundary (each document starts
//! from a fresh copy), so one document's adaptation never leaks into another's scores.

use burn::module::{Module, ParamId, list_param_ids};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::data::{TokDoc, doc_windows};
use super::model::{TransformerLm, int_tensor, token_losses};
use crate::error::LabError;
use crate::nn::to_vec;

/// Which weights dynamic evaluation adapts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every weight.
    #[default]
    All,
    /// The last block and everything after it.
    Last,
    /// Only the output head (what follows the body).
    Head,
}

impl Scope {
    /// The names presets use.
    pub const CHOICES: &'static [&'static str] = &["all", "last", "head"];
}

/// A model dynamic evaluation can adapt.
pub trait Adaptable: Module + Clone {
    /// Per-token losses `[B, T]` (nats) of `inputs` against `targets`.
    fn losses(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>) -> Tensor<2>;
    /// The parameters in `scope`.
    fn scope_ids(&self, scope: Scope) -> Vec<ParamId>;
}

impl Adaptable for TransformerLm {
    fn losses(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>) -> Tensor<2> {
        token_losses(self.logits(inputs), targets)
    }
    fn scope_ids(&self, scope: Scope) -> Vec<ParamId> {
        let mut ids = list_param_ids(&self.ln_f);
        if let Some(h) = &self.head {
            ids.extend(list_param_ids(h));
        } else {
            ids.extend(list_param_ids(&self.tok));
        }
        match scope {
            Scope::All => list_param_ids(self),
            Scope::Head => ids,
            Scope::Last => {
                if let Some(b) = self.blocks.last() {
                    ids.extend(list_param_ids(b));
                }
                ids
            }
        }
    }
}

/// Dynamic evaluation's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DynEval {
    /// SGD learning rate.
    pub lr: f64,
    /// SGD steps on each chunk after scoring it.
    pub steps: usize,
    /// Which weights adapt.
    pub scope: Scope,
}

/// The per-token losses (nats, in document order) of the first `max_tokens` targets of `doc`,
/// scored in consecutive chunks of `chunk` tokens, each chunk scored before the model takes
/// its SGD step(s) on it. `model` must live on an autodiff `device`; it is not changed (the
/// adaptation happens on a copy, dropped at the end of the document).
pub fn dyneval_doc<M: Adaptable>(
    model: &M,
    doc: &TokDoc,
    chunk: usize,
    max_tokens: usize,
    settings: &DynEval,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let mut m = model.clone();
    let ids = m.scope_ids(settings.scope);
    let mut opt = SgdConfig::new().init();
    let mut out = Vec::new();
    for (x, y) in doc_windows(doc, chunk, max_tokens) {
        let xt = int_tensor(&x, 1, chunk, device);
        let yt = int_tensor(&y, 1, chunk, device);
        let first = m.losses(xt.clone(), yt.clone());
        out.extend(to_vec(first.clone().detach())?);
        let mut losses = Some(first);
        for _ in 0..settings.steps {
            let l = match losses.take() {
                Some(l) => l,
                None => m.losses(xt.clone(), yt.clone()),
            };
            let mut grads = l.mean().backward();
            let gp = GradientsParams::from_params(&mut grads, &m, &ids);
            m = opt.step(settings.lr, m, gp);
        }
    }
    Ok(out)
}

/// The per-token losses of the same chunks with the weights fixed (the baseline), on any
/// device.
pub fn static_doc<M: Adaptable>(
    model: &M,
    doc: &TokDoc,
    chunk: usize,
    max_tokens: usize,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let windows = doc_windows(doc, chunk, max_tokens);
    let mut out = Vec::new();
    // Batches of 16 chunks: the baseline's chunks are independent.
    for group in windows.chunks(16) {
        let b = group.len();
        let x: Vec<u32> = group.iter().flat_map(|w| w.0.iter().copied()).collect();
        let y: Vec<u32> = group.iter().flat_map(|w| w.1.iter().copied()).collect();
        let l = model.losses(
            int_tensor(&x, b, chunk, device),
            int_tensor(&y, b, chunk, device),
        );
        out.extend(to_vec(l)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::lm::model::LmShape;
    use crate::rng::Rng;

    fn tiny() -> (TransformerLm, Device) {
        let device = Backend::cpu().device;
        let shape = LmShape {
            vocab: 7,
            d_model: 16,
            layers: 1,
            heads: 2,
            context: 8,
            tied: true,
        };
        (TransformerLm::new(shape, &mut Rng::new(4), &device), device)
    }

    fn doc(ids: Vec<u32>) -> TokDoc {
        TokDoc {
            index: 0,
            title: "d".into(),
            ids,
        }
    }

    #[test]
    fn adapts_within_a_document_and_resets_at_its_boundary() {
        let (model, device) = tiny();
        let a = doc((0..41).map(|i| (i % 3) as u32).collect());
        let b = doc((0..41).map(|i| 3 + (i % 4) as u32).collect());
        let de = DynEval {
            lr: 0.5,
            steps: 1,
            scope: Scope::All,
        };
        let fixed = static_doc(&model, &a, 8, 40, &device).expect("static");
        let adapted = dyneval_doc(&model, &a, 8, 40, &de, &device).expect("dyneval");
        assert_eq!(fixed.len(), 40);
        // The first chunk is scored before any step: the same as the fixed model.
        for (f, d) in fixed[..8].iter().zip(&adapted[..8]) {
            assert!((f - d).abs() < 1e-5, "{f} vs {d}");
        }
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!(
            mean(&adapted[32..]) < mean(&fixed[32..]) - 0.1,
            "adaptation helps later chunks"
        );
        // Reset: document b scores the same whether or not a came first.
        let b_alone = dyneval_doc(&model, &b, 8, 40, &de, &device).expect("b");
        let _ = dyneval_doc(&model, &a, 8, 40, &de, &device).expect("a again");
        let b_after = dyneval_doc(&model, &b, 8, 40, &de, &device).expect("b after a");
        assert_eq!(b_alone, b_after);
        // Scope: adapting only the head changes less than adapting everything.
        let head = DynEval {
            scope: Scope::Head,
            ..de
        };
        let h = dyneval_doc(&model, &a, 8, 40, &head, &device).expect("head");
        assert!(mean(&h[32..]) < mean(&fixed[32..]));
        assert!(model.scope_ids(Scope::Head).len() < model.scope_ids(Scope::Last).len());
        assert!(model.scope_ids(Scope::Last).len() < model.scope_ids(Scope::All).len());
    }
}
