//! The FWL lab's model: the LM core's transformer body (over windows of its context) with the
//! FW block as its output head. The baseline is the same model trained with the fast weights
//! off, so the race differs only in the fast weights.

use burn::module::{Module, ParamId, list_param_ids};
use burn::tensor::{Device, Int, Tensor};

use super::block::FwBlock;
use crate::lm::dyneval::{Adaptable, Scope};
use crate::lm::model::{LmShape, TransformerLm, token_losses};
use crate::rng::Rng;

/// Body + FW block.
#[derive(Module, Debug)]
pub struct FwlModel {
    /// The transformer body (its own unembedding is unused; it is tied, so it adds nothing).
    pub body: TransformerLm,
    /// The FW block, which ends in the unembedding.
    pub block: FwBlock,
}

impl FwlModel {
    /// A fresh model: body of `shape` (tied), FW block of `size` and mixed-chunk `chunk`.
    pub fn new(
        shape: LmShape,
        size: usize,
        chunk: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> FwlModel {
        let body = TransformerLm::new(
            LmShape {
                tied: true,
                ..shape
            },
            rng,
            device,
        );
        let block = FwBlock::new(shape.d_model, size, shape.vocab, chunk, rng, device);
        FwlModel { body, block }
    }

    /// The body's hidden states `[B, L, d]` of `tokens` `[B, L]`, L a multiple of the body's
    /// context: the body reads consecutive windows of its context independently.
    pub fn hidden(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [b, l] = tokens.dims();
        let ctx = self.body.shape.context.min(l).max(1);
        let n = l / ctx;
        let h = self.body.hidden(tokens.reshape([b * n, ctx]));
        let d = h.dims()[2];
        h.reshape([b, l, d])
    }

    /// Logits `[B, L, vocab]`: with fast weights when `fast` (strictly causal in `targets`,
    /// the next tokens), else the slow block's.
    pub fn logits(&self, tokens: Tensor<2, Int>, targets: Tensor<2, Int>, fast: bool) -> Tensor<3> {
        let h = self.hidden(tokens);
        if fast {
            self.block.fast_logits(h, targets)
        } else {
            self.block.slow_logits(h)
        }
    }

    /// Per-token losses `[B, L]`.
    pub fn losses_with(
        &self,
        tokens: Tensor<2, Int>,
        targets: Tensor<2, Int>,
        fast: bool,
    ) -> Tensor<2> {
        token_losses(self.logits(tokens, targets.clone(), fast), targets)
    }
}

impl Adaptable for FwlModel {
    /// The slow model (dynamic evaluation runs on the baseline).
    fn losses(&self, inputs: Tensor<2, Int>, targets: Tensor<2, Int>) -> Tensor<2> {
        self.losses_with(inputs, targets, false)
    }

    fn scope_ids(&self, scope: Scope) -> Vec<ParamId> {
        match scope {
            Scope::All => list_param_ids(self),
            Scope::Head => list_param_ids(&self.block),
            Scope::Last => {
                let mut ids = list_param_ids(&self.block);
                ids.extend(list_param_ids(&self.body.ln_f));
                if let Some(b) = self.body.blocks.last() {
                    ids.extend(list_param_ids(b));
                }
                ids
            }
        }
    }
}
