//! The RETRO model: the LM core's decoder ([`TransformerLm`]) with RETRO blocks, and the
//! neighbour encoder.
//!
//! A RETRO block is a decoder block with chunked cross-attention (CCA) between its attention
//! and its MLP: `Ffw(Cca(Attn(H), E))`. The retrieval parts live in [`RetroParts`], apart from
//! the decoder, so that
//! - the baseline is the same decoder with no parts (a plain [`TransformerLm`]),
//! - retrieval off skips the CCA residuals and runs exactly the decoder's own operations (a
//!   retrofitted model with retrieval off is bit-identical to its frozen baseline),
//! - retrofitting trains only the parts.
//!
//! Positions: the decoder keeps the LM core's learned absolute positions; the encoder has its
//! own learned positions over the r = 2m tokens of a neighbour and its continuation; each CCA
//! adds learned relative-position logits (a bias per head and offset between the neighbour
//! token and the attending token, [`RelativeBias`]; the paper computes its relative logits
//! from cosine features, we learn the table directly). The encoder's conditioning
//! cross-attention has none.
//!
//! Shapes: a sequence of T = l·m tokens; neighbours `[B, l, k, r]` with r = 2m (chunk plus
//! continuation); the neighbours of chunk u are used by the attending chunk u⁺ (the last token
//! of chunk u and the first m−1 tokens of chunk u+1), the paper's m−1 shift.

use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::lm::model::{LmShape, TransformerLm, causal_bias, normal_embedding, normal_linear};
use crate::rng::Rng;

/// Sizes of the retrieval parts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetroShape {
    /// Chunk length m.
    pub chunk: usize,
    /// Encoder width d′.
    pub d_enc: usize,
    /// Encoder layers.
    pub enc_layers: usize,
    /// Heads of the encoder and the cross-attentions.
    pub heads: usize,
    /// 0-based decoder layers that are RETRO blocks (sorted).
    pub layers: Vec<usize>,
    /// The factor the relative-position logits are stored divided by ([`RelativeBias`]).
    pub rel_scale: f32,
    /// 0 = plain random initialisation; else the CCA starts as a copy path of this gain
    /// ([`RetroParts::copy_path`]).
    pub copy_init: f32,
    /// The relative-position logit every head starts with at the aligned continuation offset
    /// (neighbour position m + i for attending position i); 0 = all zero.
    pub align_init: f32,
    /// How many heads (the first ones) start with `align_init`; 0 = all.
    pub align_heads: usize,
    /// The match gate's starting weight on the match share ([`MatchGate`]); with `sink_init`
    /// both 0 = no gate (the paper's CCA).
    pub match_gate: f32,
    /// The match gate's starting logit of the null slot.
    pub sink_init: f32,
}

impl RetroShape {
    /// The paper's placement scaled down: every third layer from the middle of `n` (1-based
    /// ⌈n/2⌉, ⌈n/2⌉+3, …), as 0-based indices.
    pub fn every_third_from_middle(n: usize) -> Vec<usize> {
        let first = n.div_ceil(2).max(1) - 1;
        (first..n).step_by(3).collect()
    }
}

/// Multi-head attention of `q` `[N, tq, d]` over `k`, `v` `[N, tk, d]` (already projected),
/// with an optional additive `bias` `[N, heads, tq, tk]` and an optional null slot: `sink`
/// `[N, heads, tq, 1]`, the logit of one more key whose value is zero (attending to it adds
/// nothing, so a head can attend to nothing).
pub fn attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    heads: usize,
    bias: Option<Tensor<4>>,
    sink: Option<Tensor<4>>,
) -> Tensor<3> {
    let [n, tq, d] = q.dims();
    let tk = k.dims()[1];
    let hd = d / heads;
    let split = |x: Tensor<3>, t: usize| x.reshape([n, t, heads, hd]).swap_dims(1, 2);
    let (q, k, v) = (split(q, tq), split(k, tk), split(v, tk));
    let mut s = q.matmul(k.swap_dims(2, 3)).div_scalar((hd as f64).sqrt());
    if let Some(b) = bias {
        s = s + b;
    }
    let p = match sink {
        Some(z) => softmax(Tensor::cat(vec![s, z], 3), 3).narrow(3, 0, tk),
        None => softmax(s, 3),
    };
    p.matmul(v).swap_dims(1, 2).reshape([n, tq, d])
}

/// A pre-norm attention sublayer: `x + o(attn(ln(x) q, ln_kv(y) k, v))`.
#[derive(Module, Debug)]
pub struct CrossAttention {
    ln: LayerNorm,
    q: Linear,
    kv: Linear,
    o: Linear,
    #[module(skip)]
    heads: usize,
}

impl CrossAttention {
    fn new(
        d_q: usize,
        d_kv: usize,
        heads: usize,
        resid: f64,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        CrossAttention {
            ln: LayerNormConfig::new(d_q).init(device),
            q: normal_linear(d_q, d_q, 0.02, rng, device),
            kv: normal_linear(d_kv, 2 * d_q, 0.02, rng, device),
            o: normal_linear(d_q, d_q, resid, rng, device),
            heads,
        }
    }

    /// The residual update (without `x` added): `o(attn(q(ln x), k(y), v(y)))`.
    fn update(
        &self,
        x: Tensor<3>,
        y: Tensor<3>,
        bias: Option<Tensor<4>>,
        sink: Option<Tensor<4>>,
    ) -> Tensor<3> {
        let d = x.dims()[2];
        let q = self.q.forward(self.ln.forward(x));
        let kv = self.kv.forward(y);
        let k = kv.clone().narrow(2, 0, d);
        let v = kv.narrow(2, d, d);
        self.o.forward(attention(q, k, v, self.heads, bias, sink))
    }
}

/// One encoder layer: bidirectional self-attention over the neighbour, cross-attention to the
/// retrieving chunk's decoder activations, MLP.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    selfatt: CrossAttention,
    cond: CrossAttention,
    ln: LayerNorm,
    fc: Linear,
    out: Linear,
}

/// The relative-position logits of one CCA: a learned bias per head and offset between a
/// neighbour token (position p of the r = 2m in neighbour + continuation) and an attending
/// token (position i of the m in the attending chunk), offset p − i ∈ [−(m−1), r−1]. Zero at
/// the start, except `align_init` on the aligned offset m when set. With it a head can read
/// the continuation token aligned with its own position (copying); by content alone that takes
/// long.
#[derive(Module, Debug)]
pub struct RelativeBias {
    /// `[heads, r + m − 1]`, the logits divided by `scale`.
    pub table: Param<Tensor<2>>,
    /// The logits are `scale · table`. Adam moves each entry by about the learning rate a step
    /// whatever its gradient's size, so a table entry alone (one number per head and offset)
    /// could rise by only ~1 in 400 steps at lr 3·10⁻³: too slow to single out one of k · 2m
    /// neighbour tokens. Storing it scaled gives it `scale` times the learning rate (the
    /// paper's cosine features times learned weights give many parameters per logit instead).
    #[module(skip)]
    pub scale: f32,
}

impl RelativeBias {
    fn new(
        heads: usize,
        m: usize,
        scale: f32,
        (align, align_heads): (f32, usize),
        device: &Device,
    ) -> Self {
        // Offset p − i = m (the continuation token aligned with the attending position) is
        // column (p − i) + m − 1 = 2m − 1.
        let cols = 3 * m - 1;
        let mut t = vec![0f32; heads * cols];
        if align != 0.0 && scale != 0.0 {
            let n = if align_heads == 0 {
                heads
            } else {
                align_heads.min(heads)
            };
            for h in 0..n {
                t[h * cols + 2 * m - 1] = align / scale;
            }
        }
        RelativeBias {
            table: Param::from_tensor(Tensor::from_data(TensorData::new(t, [heads, cols]), device)),
            scale,
        }
    }

    /// The bias `[n, heads, m, k·r]` for `n` attending chunks over k neighbours.
    fn bias(&self, n: usize, m: usize, k: usize) -> Tensor<4> {
        let [heads, _] = self.table.dims();
        let r = 2 * m;
        let device = self.table.device();
        let idx: Vec<i64> = (0..m)
            .flat_map(|i| (0..k * r).map(move |j| ((j % r) + m - 1 - i) as i64))
            .collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [m * k * r]), &device);
        self.table
            .val()
            .mul_scalar(self.scale)
            .select(1, idx)
            .reshape([1, heads, m, k * r])
            .expand([n, heads, m, k * r])
    }
}

/// The match gate of one CCA, an addition of ours (the paper has none): each head gets a null
/// slot (a key of zero value, [`attention`]) with a learned logit, and every token of
/// neighbour j a learned logit `w · a_j`, where a_j is the match share of that neighbour
/// ([`match_shares`]). A head can then attend to nothing when no neighbour matches, and to a
/// neighbour's continuation when it does: without it every head must spread its weight over
/// the k · 2m neighbour tokens whatever they hold, so retrieval that finds nothing useful adds
/// noise (on clean text RETRO with retrieval on scored worse than with it off).
#[derive(Module, Debug)]
pub struct MatchGate {
    /// `[heads, 2]`, the logits divided by `scale`: column 0 the null slot's logit, column 1
    /// the weight of the match share.
    pub table: Param<Tensor<2>>,
    /// As [`RelativeBias::scale`] (the presets share `rel_scale`).
    #[module(skip)]
    pub scale: f32,
}

impl MatchGate {
    fn new(heads: usize, sink: f32, weight: f32, scale: f32, device: &Device) -> Self {
        let t: Vec<f32> = (0..heads)
            .flat_map(|_| [sink / scale, weight / scale])
            .collect();
        MatchGate {
            table: Param::from_tensor(Tensor::from_data(TensorData::new(t, [heads, 2]), device)),
            scale,
        }
    }

    /// From match shares `a` `[n, k]`: the null slot's logits `[n, heads, m, 1]` and the match
    /// logits `[n, heads, m, k·r]` (the same on every token of a neighbour).
    fn logits(&self, a: Tensor<2>, m: usize, r: usize) -> (Tensor<4>, Tensor<4>) {
        let [n, k] = a.dims();
        let [heads, _] = self.table.dims();
        let t = self.table.val().mul_scalar(self.scale);
        let sink = t
            .clone()
            .narrow(1, 0, 1)
            .reshape([1, heads, 1, 1])
            .expand([n, heads, m, 1]);
        let w = t
            .narrow(1, 1, 1)
            .reshape([1, heads, 1, 1])
            .expand([n, heads, m, k * r]);
        let a = a
            .reshape([n, k, 1])
            .expand([n, k, r])
            .reshape([n, 1, 1, k * r])
            .expand([n, heads, m, k * r]);
        (sink, w * a)
    }
}

/// The match share of each neighbour: for tokens `[B, l·m]` and neighbours `[B, l, k, r]`,
/// the share of chunk u's m positions where neighbour j's token equals the chunk's own token
/// at the same position, `[B·l, k]`. It reads only chunk u, which the m−1 shift lets every
/// position that attends to chunk u's neighbours see, so it keeps the CCA causal.
pub fn match_shares(tokens: Tensor<2, Int>, neighbours: Tensor<4, Int>, m: usize) -> Tensor<2> {
    let [b, l, k, _] = neighbours.dims();
    let own = tokens.reshape([b, l, 1, m]).expand([b, l, k, m]);
    neighbours
        .narrow(3, 0, m)
        .equal(own)
        .float()
        .mean_dim(3)
        .reshape([b * l, k])
}

/// Encoder and chunked cross-attentions: everything retrieval adds to the decoder.
#[derive(Module, Debug)]
pub struct RetroParts {
    /// The encoder reads the decoder's token embedding (shared, as the paper allows: "does not
    /// affect performance"), projected to its width `[d, d′]`; sharing lets a copied token's
    /// identity reach the tied unembedding through a few linear maps.
    pub tok_in: Linear,
    /// Positions within neighbour + continuation `[2m, d′]`.
    pub pos: Embedding,
    /// Encoder layers.
    pub enc: Vec<EncoderLayer>,
    /// Final encoder norm.
    pub ln_enc: LayerNorm,
    /// One CCA per RETRO block (queries in the decoder's width, keys from the encoder's).
    pub cca: Vec<CrossAttention>,
    /// The relative-position logits of each CCA.
    pub rel: Vec<RelativeBias>,
    /// The match gate of each CCA; empty without one ([`RetroShape::match_gate`]).
    pub gate: Vec<MatchGate>,
    /// Sizes.
    #[module(skip)]
    pub shape: RetroShape,
}

impl RetroParts {
    /// Fresh parts for a decoder of `lm`, from `rng` in a fixed order.
    pub fn new(lm: &LmShape, shape: RetroShape, rng: &mut Rng, device: &Device) -> RetroParts {
        let (d, de) = (lm.d_model, shape.d_enc);
        let resid = 0.02 / (2.0 * (lm.layers + shape.enc_layers) as f64).sqrt();
        let tok_in = normal_linear(d, de, 1.0 / (d as f64).sqrt(), rng, device);
        let pos = normal_embedding(2 * shape.chunk, de, 0.02, rng, device);
        let enc = (0..shape.enc_layers)
            .map(|_| EncoderLayer {
                selfatt: CrossAttention::new(de, de, shape.heads, resid, rng, device),
                cond: CrossAttention::new(de, d, shape.heads, resid, rng, device),
                ln: LayerNormConfig::new(de).init(device),
                fc: normal_linear(de, 4 * de, 0.02, rng, device),
                out: normal_linear(4 * de, de, resid, rng, device),
            })
            .collect();
        let cca = shape
            .layers
            .iter()
            .map(|_| CrossAttention::new(d, de, shape.heads, resid, rng, device))
            .collect();
        let rel = shape
            .layers
            .iter()
            .map(|_| {
                RelativeBias::new(
                    shape.heads,
                    shape.chunk,
                    shape.rel_scale,
                    (shape.align_init, shape.align_heads),
                    device,
                )
            })
            .collect();
        let gate = if shape.match_gate != 0.0 || shape.sink_init != 0.0 {
            shape
                .layers
                .iter()
                .map(|_| {
                    MatchGate::new(
                        shape.heads,
                        shape.sink_init,
                        shape.match_gate,
                        shape.rel_scale,
                        device,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let copy_init = shape.copy_init;
        let parts = RetroParts {
            tok_in,
            pos,
            enc,
            ln_enc: LayerNormConfig::new(de).init(device),
            cca,
            rel,
            gate,
            shape,
        };
        if copy_init > 0.0 {
            parts.copy_path(d, copy_init, device)
        } else {
            parts
        }
    }

    /// Starts the retrieval path as a copy of token identity: the encoder's input projection
    /// keeps the first d′ coordinates of the (shared) token embedding, each CCA's values read
    /// those coordinates back into the decoder's width, and its output is `gain` times the
    /// identity. The encoder layers start near the identity anyway (small residual outputs),
    /// so an attended neighbour token adds (the d′-coordinate projection of) its own embedding
    /// to the decoder's residual stream, which the tied unembedding reads as that token's
    /// logit. Random init has to discover this path through four random maps while attention
    /// is still spread over k · 2m tokens; at our scale it never does (the copy task). The
    /// attention itself (queries, keys, relative logits) starts as before, and the random
    /// draws are the same, so the run differs from plain init only in these three weights.
    fn copy_path(mut self, d: usize, gain: f32, device: &Device) -> Self {
        let de = self.shape.d_enc;
        let eye = |rows: usize, cols: usize, scale: f32| {
            let mut w = vec![0f32; rows * cols];
            for i in 0..rows.min(cols) {
                w[i * cols + i] = scale;
            }
            Tensor::<2>::from_data(TensorData::new(w, [rows, cols]), device)
        };
        // [d, d′]: row i, column i for i < min(d, d′).
        self.tok_in.weight = Param::from_tensor(eye(d, de, 1.0));
        for cca in &mut self.cca {
            // [d′, 2d]: keep the key half, replace the value half by the embedding of d′ in d.
            let w = cca.kv.weight.val();
            let key = w.detach().narrow(1, 0, d);
            let value = eye(de, d, 1.0);
            cca.kv.weight = Param::from_tensor(Tensor::cat(vec![key, value], 1).detach());
            cca.o.weight = Param::from_tensor(eye(d, d, gain));
        }
        self
    }

    /// Encodes neighbours `[B, l, k, r]` (through the decoder's token embedding `tok`)
    /// conditioned on the decoder's activations `h`
    /// `[B, l·m, d]` (those of chunk u condition chunk u's neighbours): `[B·l, k·r, d′]`.
    pub fn encode(&self, neighbours: Tensor<4, Int>, h: Tensor<3>, tok: &Embedding) -> Tensor<3> {
        let [b, l, k, r] = neighbours.dims();
        let d = h.dims()[2];
        let m = self.shape.chunk;
        let device = neighbours.device();
        let n = b * l * k;
        let positions = Tensor::<1, Int>::arange(0..r as i64, &device)
            .reshape([1, r])
            .expand([n, r]);
        let mut e = self.tok_in.forward(tok.forward(neighbours.reshape([n, r])))
            + self.pos.forward(positions);
        // Chunk u's activations, repeated for each of its k neighbours: [B·l·k, m, d].
        let cond = h
            .reshape([b * l, 1, m, d])
            .expand([b * l, k, m, d])
            .reshape([n, m, d]);
        for layer in &self.enc {
            e = e.clone()
                + layer
                    .selfatt
                    .update(e.clone(), layer.selfatt.ln.forward(e), None, None);
            e = e.clone() + layer.cond.update(e, cond.clone(), None, None);
            let f = layer
                .out
                .forward(gelu(layer.fc.forward(layer.ln.forward(e.clone()))));
            e = e + f;
        }
        let de = self.shape.d_enc;
        self.ln_enc.forward(e).reshape([b * l, k * r, de])
    }

    /// Chunked cross-attention of RETRO block `i` on `x` `[B, T, d]` with encoded neighbours
    /// `e` `[B·l, k·r, d′]` and, for the match gate, their match shares `a` `[B·l, k]`
    /// ([`match_shares`]): the residual update `[B, T, d]`, zero on the first m−1 tokens.
    pub fn cca(&self, i: usize, x: Tensor<3>, e: Tensor<3>, a: Option<Tensor<2>>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let m = self.shape.chunk;
        let l = t / m;
        // Attending chunks: drop the first m−1 positions, pad m−1 at the end, cut into l chunks
        // of m: chunk u holds positions u·m+m−1 … u·m+2m−2 (the last of chunk u and the first
        // m−1 of chunk u+1) and attends to chunk u's neighbours.
        let device = x.device();
        let pad = Tensor::<3>::zeros([b, m - 1, d], &device);
        let shifted = Tensor::cat(vec![x.narrow(1, m - 1, t - (m - 1)), pad.clone()], 1).reshape([
            b * l,
            m,
            d,
        ]);
        let k = e.dims()[1] / (2 * m);
        let mut bias = self.rel[i].bias(b * l, m, k);
        let sink = match (self.gate.get(i), a) {
            (Some(g), Some(a)) => {
                let (sink, matched) = g.logits(a, m, 2 * m);
                bias = bias + matched;
                Some(sink)
            }
            _ => None,
        };
        let y = self.cca[i]
            .update(shifted, e, Some(bias), sink)
            .reshape([b, t, d]);
        // Shift back: the first m−1 positions get no update.
        Tensor::cat(vec![pad, y.narrow(1, 0, t - (m - 1))], 1)
    }
}

/// The decoder's hidden states `[B, T, d]` (after its final norm), with retrieval when `parts`
/// and `neighbours` `[B, l, k, r]` are both given, else exactly [`TransformerLm::hidden`].
pub fn hidden(
    lm: &TransformerLm,
    parts: Option<&RetroParts>,
    tokens: Tensor<2, Int>,
    neighbours: Option<Tensor<4, Int>>,
) -> Tensor<3> {
    let (parts, neighbours) = match (parts, neighbours) {
        (Some(p), Some(n)) => (p, n),
        _ => return lm.hidden(tokens),
    };
    let t = tokens.dims()[1];
    let bias = causal_bias(t, &tokens.device());
    let shares = (!parts.gate.is_empty())
        .then(|| match_shares(tokens.clone(), neighbours.clone(), parts.shape.chunk));
    let mut x = lm.embed(tokens);
    let mut encoded: Option<Tensor<3>> = None;
    for (j, block) in lm.blocks.iter().enumerate() {
        x = block.attend(x, bias.clone());
        if let Some(i) = parts.shape.layers.iter().position(|&p| p == j) {
            // The encoder is conditioned on the activations just before the first CCA.
            let e = match &encoded {
                Some(e) => e.clone(),
                None => {
                    let e = parts.encode(neighbours.clone(), x.clone(), &lm.tok);
                    encoded = Some(e.clone());
                    e
                }
            };
            x = x.clone() + parts.cca(i, x, e, shares.clone());
        }
        x = block.feed_forward(x);
    }
    lm.ln_f.forward(x)
}

/// Logits `[B, T, vocab]`; see [`hidden`].
pub fn logits(
    lm: &TransformerLm,
    parts: Option<&RetroParts>,
    tokens: Tensor<2, Int>,
    neighbours: Option<Tensor<4, Int>>,
) -> Tensor<3> {
    lm.unembed(hidden(lm, parts, tokens, neighbours))
}

/// A decoder with optional retrieval parts: the unit each racing mode trains.
#[derive(Module, Debug)]
pub struct RetroLm {
    /// The decoder.
    pub lm: TransformerLm,
    /// The retrieval parts (`None` for the baseline).
    pub parts: Option<RetroParts>,
}

impl RetroLm {
    /// Logits with retrieval when the model has parts and `neighbours` is given.
    pub fn logits(&self, tokens: Tensor<2, Int>, neighbours: Option<Tensor<4, Int>>) -> Tensor<3> {
        logits(&self.lm, self.parts.as_ref(), tokens, neighbours)
    }
}
