//! A decoder-only transformer in burn: token and position embeddings, pre-norm blocks of causal
//! multi-head self-attention and a GELU MLP, a final layer norm and a tied or untied
//! unembedding (GPT-2 / nanoGPT layout). Weights are drawn from our seeded [`Rng`] (normal,
//! std 0.02; residual projections scaled by 1/√(2·layers), as GPT-2 does), so a model depends
//! only on its config and seed.

use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// The shape of a [`TransformerLm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LmShape {
    /// Vocabulary size.
    pub vocab: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Number of transformer blocks.
    pub layers: usize,
    /// Attention heads per block (must divide `d_model`).
    pub heads: usize,
    /// Longest sequence the position embedding covers (the context window).
    pub context: usize,
    /// Share the token embedding with the unembedding (nanoGPT does).
    pub tied: bool,
}

impl LmShape {
    /// Multiply-adds per token of one forward pass (weights only, plus attention over a full
    /// window of `context` tokens); the unit of the labs' deterministic cost figures.
    pub fn macs_per_token(&self) -> f64 {
        let d = self.d_model as f64;
        let per_block = 12.0 * d * d + 2.0 * self.context as f64 * d;
        self.layers as f64 * per_block + d * self.vocab as f64
    }
}

/// A `[d_in, d_out]` linear layer with normal(0, `std`) weights and zero bias, from our RNG.
pub fn normal_linear(
    d_in: usize,
    d_out: usize,
    std: f64,
    rng: &mut Rng,
    device: &Device,
) -> Linear {
    let w: Vec<f32> = (0..d_in * d_out)
        .map(|_| (rng.normal() * std) as f32)
        .collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
    }
}

/// An `[n, d]` embedding with normal(0, `std`) weights from our RNG.
pub fn normal_embedding(n: usize, d: usize, std: f64, rng: &mut Rng, device: &Device) -> Embedding {
    let w: Vec<f32> = (0..n * d).map(|_| (rng.normal() * std) as f32).collect();
    Embedding {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [n, d]), device)),
    }
}

/// `[1, 1, t, t]`: 0 where a query may attend (key position ≤ query position), −1e9 elsewhere.
pub fn causal_bias(t: usize, device: &Device) -> Tensor<4> {
    let mut m = vec![0f32; t * t];
    for q in 0..t {
        for k in q + 1..t {
            m[q * t + k] = -1.0e9;
        }
    }
    Tensor::from_data(TensorData::new(m, [1, 1, t, t]), device)
}

/// One pre-norm transformer block.
#[derive(Module, Debug)]
pub struct Block {
    /// Norm before attention.
    pub ln1: LayerNorm,
    /// Query, key and value projections in one `[d, 3d]` layer.
    pub qkv: Linear,
    /// Attention output projection.
    pub proj: Linear,
    /// Norm before the MLP.
    pub ln2: LayerNorm,
    /// MLP up-projection `[d, 4d]`.
    pub fc: Linear,
    /// MLP down-projection `[4d, d]`.
    pub out: Linear,
    /// Attention heads.
    #[module(skip)]
    pub heads: usize,
}

impl Block {
    fn new(shape: &LmShape, rng: &mut Rng, device: &Device) -> Block {
        let d = shape.d_model;
        let resid = 0.02 / (2.0 * shape.layers as f64).sqrt();
        Block {
            ln1: LayerNormConfig::new(d).init(device),
            qkv: normal_linear(d, 3 * d, 0.02, rng, device),
            proj: normal_linear(d, d, resid, rng, device),
            ln2: LayerNormConfig::new(d).init(device),
            fc: normal_linear(d, 4 * d, 0.02, rng, device),
            out: normal_linear(4 * d, d, resid, rng, device),
            heads: shape.heads,
        }
    }

    /// `x + attn(ln1(x))`, then `+ mlp(ln2(·))`; `bias` is [`causal_bias`] for `x`'s length.
    pub fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        self.feed_forward(self.attend(x, bias))
    }

    /// The block's first half, `x + attn(ln1(x))` (a RETRO block puts its chunked
    /// cross-attention between the halves).
    pub fn attend(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.heads;
        let hd = d / h;
        let qkv = self.qkv.forward(self.ln1.forward(x.clone()));
        let split = |i: usize| {
            qkv.clone()
                .narrow(2, i * d, d)
                .reshape([b, t, h, hd])
                .swap_dims(1, 2)
        };
        let (q, k, v) = (split(0), split(1), split(2));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((hd as f64).sqrt());
        let att = softmax(scores + bias.expand([b, h, t, t]), 3);
        let y = att.matmul(v).swap_dims(1, 2).reshape([b, t, d]);
        x + self.proj.forward(y)
    }

    /// The block's second half, `x + mlp(ln2(x))`.
    pub fn feed_forward(&self, x: Tensor<3>) -> Tensor<3> {
        let m = self
            .out
            .forward(gelu(self.fc.forward(self.ln2.forward(x.clone()))));
        x + m
    }
}

/// The decoder: embeddings, blocks, final norm and unembedding.
#[derive(Module, Debug)]
pub struct TransformerLm {
    /// Token embedding `[vocab, d]`.
    pub tok: Embedding,
    /// Learned position embedding `[context, d]`.
    pub pos: Embedding,
    /// The blocks, input first.
    pub blocks: Vec<Block>,
    /// Final layer norm.
    pub ln_f: LayerNorm,
    /// Untied unembedding `[d, vocab]`; `None` when tied to `tok`.
    pub head: Option<Linear>,
    /// The shape it was built with.
    #[module(skip)]
    pub shape: LmShape,
}

impl TransformerLm {
    /// A freshly initialised model, every weight drawn from `rng` in a fixed order.
    pub fn new(shape: LmShape, rng: &mut Rng, device: &Device) -> TransformerLm {
        let tok = normal_embedding(shape.vocab, shape.d_model, 0.02, rng, device);
        let pos = normal_embedding(shape.context, shape.d_model, 0.02, rng, device);
        let blocks = (0..shape.layers)
            .map(|_| Block::new(&shape, rng, device))
            .collect();
        let head =
            (!shape.tied).then(|| normal_linear(shape.d_model, shape.vocab, 0.02, rng, device));
        TransformerLm {
            tok,
            pos,
            blocks,
            ln_f: LayerNormConfig::new(shape.d_model).init(device),
            head,
            shape,
        }
    }

    /// The final hidden states `[B, T, d]` (after the last layer norm) of `tokens` `[B, T]`,
    /// `T ≤ context`. Position t sees only tokens ≤ t.
    pub fn hidden(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let t = tokens.dims()[1];
        let device = tokens.device();
        let mut x = self.embed(tokens);
        let bias = causal_bias(t, &device);
        for block in &self.blocks {
            x = block.forward(x, bias.clone());
        }
        self.ln_f.forward(x)
    }

    /// Token plus position embeddings `[B, T, d]` of `tokens` `[B, T]`.
    pub fn embed(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = tokens.dims();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &tokens.device())
            .reshape([1, t])
            .expand([b, t]);
        self.tok.forward(tokens) + self.pos.forward(positions)
    }

    /// Logits `[B, T, vocab]` from hidden states.
    pub fn unembed(&self, h: Tensor<3>) -> Tensor<3> {
        match &self.head {
            Some(head) => head.forward(h),
            None => {
                let [b, t, d] = h.dims();
                let w = self.tok.weight.val();
                let v = w.dims()[0];
                h.reshape([b * t, d])
                    .matmul(w.transpose())
                    .reshape([b, t, v])
            }
        }
    }

    /// Logits `[B, T, vocab]` of `tokens` `[B, T]`.
    pub fn logits(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.unembed(self.hidden(tokens))
    }
}

/// Per-token cross-entropy `[B, T]` (nats) of `logits` `[B, T, V]` against `targets` `[B, T]`.
pub fn token_losses(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    let [b, t, _] = logits.dims();
    log_softmax(logits, 2)
        .gather(2, targets.reshape([b, t, 1]))
        .reshape([b, t])
        .neg()
}

/// A `[B, T]` integer tensor from row-major token ids.
pub fn int_tensor(ids: &[u32], b: usize, t: usize, device: &Device) -> Tensor<2, Int> {
    let data: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [b, t]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::nn::to_vec;

    fn shape(tied: bool) -> LmShape {
        LmShape {
            vocab: 11,
            d_model: 16,
            layers: 2,
            heads: 4,
            context: 8,
            tied,
        }
    }

    #[test]
    fn changing_a_later_token_never_changes_earlier_logits() {
        let device = Backend::cpu().device.without_autodiff();
        for tied in [true, false] {
            let m = TransformerLm::new(shape(tied), &mut Rng::new(5), &device);
            let a: Vec<u32> = vec![1, 2, 3, 4, 5, 6, 7, 8];
            for t in 0..7 {
                let mut b = a.clone();
                b[t + 1] = 10;
                let la = to_vec(m.logits(int_tensor(&a, 1, 8, &device))).expect("a");
                let lb = to_vec(m.logits(int_tensor(&b, 1, 8, &device))).expect("b");
                let v = 11;
                assert_eq!(
                    la[..(t + 1) * v],
                    lb[..(t + 1) * v],
                    "position ≤ {t} changed"
                );
                assert_ne!(
                    la[(t + 1) * v..],
                    lb[(t + 1) * v..],
                    "position {} must change",
                    t + 1
                );
            }
        }
    }

    #[test]
    fn same_seed_same_weights_and_logits() {
        let device = Backend::cpu().device.without_autodiff();
        let x = int_tensor(&[3, 1, 4, 1, 5], 1, 5, &device);
        let run = |seed| {
            let m = TransformerLm::new(shape(false), &mut Rng::new(seed), &device);
            to_vec(m.logits(x.clone())).expect("logits")
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
        let m = TransformerLm::new(shape(true), &mut Rng::new(1), &device);
        let y = int_tensor(&[1, 4, 1, 5, 9], 1, 5, &device);
        let l = to_vec(token_losses(m.logits(x), y)).expect("losses");
        // An untrained model is close to uniform: about ln(11) nats per token.
        for v in l {
            assert!((v - 11f32.ln()).abs() < 0.3, "{v}");
        }
    }
}
