//! The Fast Weight Layer block (Clark et al. 2022), between the transformer body and the
//! softmax: `dense(d → 4s)` → squared ReLU → `dense(4s → s)` → layer norm → unembedding.
//!
//! Three passes, as the official code computes them:
//! 1. **slow forward** with the slow weights, caching every layer's input and output;
//! 2. **per-token gradients by hand**: for every position s, the gradient g_s of that token's
//!    loss with respect to each dense layer's output and to the norm's scale and shift
//!    (softmax, unembedding, layer-norm and squared-ReLU backward written out as tensor ops);
//! 3. **fast forward**: position t uses every layer's weights after one SGD step on the
//!    losses of tokens s < t only: `W x_t − η_W Σ_{s<t} (x_t·x_s) g_s − η_b Σ_{s<t} g_s`, which
//!    is strictly causal linear attention (query = the current input, keys = the slow pass's
//!    cached inputs, values = the gradients) plus an exclusive cumulative sum.
//!
//! Everything is ordinary differentiable tensor code, so the outer loss on the fast logits
//! backpropagates *through* the hand-computed gradients (no stop-gradient): the slow weights
//! and the step sizes are meta-learned. The unembedding stays slow.
//!
//! **Normalisation of the inner gradient.** The official code divides every token's gradient
//! by the summed loss weight of the whole batch, which ties the effective step size to the
//! batch size. We divide by the token count of each *sequence* instead (the fast-weight span,
//! fixed by the config), so training batches and one-sequence evaluation see the same step
//! size. The step sizes start at 0.01, one set of six scalars (kernel and bias of each dense
//! layer, scale and shift of the norm).
//!
//! **Mixed-chunk attention** (FLASH): the span is cut into chunks; inside a chunk the masked
//! quadratic form, across chunks an exclusive prefix sum of per-chunk `Kᵀ V` states. The span
//! must be a multiple of the chunk (the config checks it; the official code assumes it).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::lm::model::normal_linear;
use crate::rng::Rng;

/// Number of learned step sizes: kernel and bias of both dense layers, scale and shift.
pub const STEP_SIZES: usize = 6;
/// Names of the step sizes, in order.
pub const STEP_NAMES: [&str; STEP_SIZES] = [
    "dense1 kernel",
    "dense1 bias",
    "dense2 kernel",
    "dense2 bias",
    "norm scale",
    "norm shift",
];
const LN_EPS: f64 = 1e-5;

/// The FW block's weights.
#[derive(Module, Debug)]
pub struct FwBlock {
    /// `[d, 4s]`.
    pub dense1: Linear,
    /// `[4s, s]`.
    pub dense2: Linear,
    /// Layer-norm scale `[s]`.
    pub alpha: Param<Tensor<1>>,
    /// Layer-norm shift `[s]`.
    pub beta: Param<Tensor<1>>,
    /// The (slow) unembedding `[s, vocab]`.
    pub unembed: Linear,
    /// The learned step sizes `[6]` (see [`STEP_NAMES`]).
    pub steps: Param<Tensor<1>>,
    /// Chunk of the mixed-chunk attention.
    #[module(skip)]
    pub chunk: usize,
}

/// What the slow pass caches for the hand backward and the fast pass.
struct Slow {
    h: Tensor<3>,
    z1: Tensor<3>,
    a1: Tensor<3>,
    u: Tensor<3>,
    sigma: Tensor<3>,
    logits: Tensor<3>,
}

/// The per-token gradients of the hand backward.
pub struct TokenGrads {
    /// With respect to dense1's output `[B, L, 4s]`.
    pub z1: Tensor<3>,
    /// With respect to dense2's output `[B, L, s]`.
    pub z2: Tensor<3>,
    /// With respect to the norm's scale, per token `[B, L, s]`.
    pub alpha: Tensor<3>,
    /// With respect to the norm's shift, per token `[B, L, s]`.
    pub beta: Tensor<3>,
}

/// Exclusive causal linear attention: row t of the result is `Σ_{s<t} (q_t · k_s) v_s`, for
/// `q`, `k` `[B, L, Dk]` and `v` `[B, L, Dv]`, computed in chunks of `chunk` (L % chunk == 0).
pub fn causal_linear_attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    chunk: usize,
) -> Tensor<3> {
    let [b, l, dk] = q.dims();
    let dv = v.dims()[2];
    let device = q.device();
    let c = chunk.clamp(1, l);
    let n = l / c;
    let q4 = q.reshape([b, n, c, dk]);
    let k4 = k.reshape([b, n, c, dk]);
    let v4 = v.reshape([b, n, c, dv]);
    let intra_mask = strict_lower(c, &device)
        .reshape([1, 1, c, c])
        .expand([b, n, c, c]);
    let intra = (q4.clone().matmul(k4.clone().swap_dims(2, 3)) * intra_mask).matmul(v4.clone());
    if n == 1 {
        return intra.reshape([b, l, dv]);
    }
    // States Kᵀ V per chunk, summed over the chunks strictly before each one.
    let kv = k4.swap_dims(2, 3).matmul(v4).reshape([b, n, dk * dv]);
    let prefix = strict_lower(n, &device)
        .reshape([1, n, n])
        .expand([b, n, n])
        .matmul(kv)
        .reshape([b, n, dk, dv]);
    (intra + q4.matmul(prefix)).reshape([b, l, dv])
}

/// Exclusive cumulative sum along the sequence: row t is `Σ_{s<t} v_s`.
pub fn exclusive_cumsum(v: Tensor<3>, chunk: usize) -> Tensor<3> {
    let [b, l, _] = v.dims();
    let ones = Tensor::ones([b, l, 1], &v.device());
    causal_linear_attention(ones.clone(), ones, v, chunk)
}

/// `[n, n]`: 1 strictly below the diagonal (s < t), 0 elsewhere.
fn strict_lower(n: usize, device: &Device) -> Tensor<2> {
    let mut m = vec![0f32; n * n];
    for t in 0..n {
        for s in 0..t {
            m[t * n + s] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(m, [n, n]), device)
}

fn last_mean(x: Tensor<3>) -> Tensor<3> {
    x.mean_dim(2)
}

impl FwBlock {
    /// A block for body width `d`, size `s` and `vocab`; dense kernels 0.05·N(0, 1) and zero
    /// biases as in the official code, norm scale 1 and shift 0, unembedding N(0, 0.02²), step
    /// sizes 0.01.
    pub fn new(
        d: usize,
        s: usize,
        vocab: usize,
        chunk: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> FwBlock {
        FwBlock {
            dense1: normal_linear(d, 4 * s, 0.05, rng, device),
            dense2: normal_linear(4 * s, s, 0.05, rng, device),
            alpha: Param::from_tensor(Tensor::ones([s], device)),
            beta: Param::from_tensor(Tensor::zeros([s], device)),
            unembed: normal_linear(s, vocab, 0.02, rng, device),
            steps: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![0.01f32; STEP_SIZES], [STEP_SIZES]),
                device,
            )),
            chunk,
        }
    }

    /// Layer norm of `z` with per-position scale and shift (`[s]` broadcast or `[B, L, s]`):
    /// returns the output, the normalised `u` and σ.
    fn norm(z: Tensor<3>, alpha: Tensor<3>, beta: Tensor<3>) -> (Tensor<3>, Tensor<3>, Tensor<3>) {
        let mu = last_mean(z.clone());
        let centred = z - mu;
        let sigma = last_mean(centred.clone().square())
            .add_scalar(LN_EPS)
            .sqrt();
        let u = centred / sigma.clone();
        (u.clone() * alpha + beta, u, sigma)
    }

    fn unembed3(&self, y: Tensor<3>) -> Tensor<3> {
        self.unembed.forward(y)
    }

    fn slow(&self, h: Tensor<3>) -> Slow {
        let [b, l, _] = h.dims();
        let s = self.alpha.dims()[0];
        let z1 = self.dense1.forward(h.clone());
        let r = relu(z1.clone());
        let a1 = r.clone() * r;
        let z2 = self.dense2.forward(a1.clone());
        let alpha = self.alpha.val().reshape([1, 1, s]).expand([b, l, s]);
        let beta = self.beta.val().reshape([1, 1, s]).expand([b, l, s]);
        let (y, u, sigma) = Self::norm(z2, alpha, beta);
        let logits = self.unembed3(y);
        Slow {
            h,
            z1,
            a1,
            u,
            sigma,
            logits,
        }
    }

    /// Logits `[B, L, vocab]` with the slow weights (the block with its fast weights off).
    pub fn slow_logits(&self, h: Tensor<3>) -> Tensor<3> {
        self.slow(h).logits
    }

    /// The per-token gradients of each token's loss (divided by the sequence length) with
    /// respect to the layer outputs, computed by hand from the slow pass.
    fn token_grads(&self, slow: &Slow, targets: Tensor<2, Int>) -> TokenGrads {
        let [b, l, v] = slow.logits.dims();
        let s = self.alpha.dims()[0];
        let p = softmax(slow.logits.clone(), 2);
        let one_hot = Tensor::<3>::zeros([b, l, v], &p.device()).scatter(
            2,
            targets.reshape([b, l, 1]),
            Tensor::ones([b, l, 1], &p.device()),
            burn::tensor::IndexingUpdateOp::Add,
        );
        // d(loss_t / L)/d logits_t = (p_t − onehot_t) / L.
        let g_logits = (p - one_hot).div_scalar(l as f64);
        let g_y = g_logits.matmul(
            self.unembed
                .weight
                .val()
                .transpose()
                .unsqueeze::<3>()
                .expand([b, v, s]),
        );
        let g_alpha = g_y.clone() * slow.u.clone();
        let g_beta = g_y.clone();
        let alpha = self.alpha.val().reshape([1, 1, s]).expand([b, l, s]);
        let g_u = g_y * alpha;
        // Layer-norm backward: (g_u − mean(g_u) − u · mean(g_u ⊙ u)) / σ.
        let g_z2 = (g_u.clone()
            - last_mean(g_u.clone())
            - slow.u.clone() * last_mean(g_u * slow.u.clone()))
            / slow.sigma.clone();
        let w2t = self.dense2.weight.val().transpose();
        let h4 = w2t.dims()[1];
        let g_a1 = g_z2.clone().matmul(w2t.unsqueeze::<3>().expand([b, s, h4]));
        // Squared ReLU backward: d relu(z)²/dz = 2 relu(z).
        let g_z1 = g_a1 * relu(slow.z1.clone()).mul_scalar(2.0);
        TokenGrads {
            z1: g_z1,
            z2: g_z2,
            alpha: g_alpha,
            beta: g_beta,
        }
    }

    /// The hand-computed per-token gradients for hidden states `h` and `targets` (for tests
    /// and for showing them).
    pub fn hand_grads(&self, h: Tensor<3>, targets: Tensor<2, Int>) -> TokenGrads {
        let slow = self.slow(h);
        self.token_grads(&slow, targets)
    }

    /// Logits `[B, L, vocab]` with fast weights: position t sees one SGD step on the losses of
    /// tokens before t (using their `targets`, which are tokens ≤ t, already observed).
    pub fn fast_logits(&self, h: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<3> {
        let [b, l, _] = h.dims();
        let s = self.alpha.dims()[0];
        let slow = self.slow(h);
        let g = self.token_grads(&slow, targets);
        let eta = self.steps.val();
        let step = |i: usize| eta.clone().narrow(0, i, 1).reshape([1, 1, 1]);
        let c = self.chunk;
        // Dense 1: reuse the slow output, subtract the update (its input is not fast).
        let z1 = slow.z1.clone()
            - causal_linear_attention(slow.h.clone(), slow.h.clone(), g.z1.clone(), c) * step(0)
            - exclusive_cumsum(g.z1, c) * step(1);
        let r = relu(z1);
        let a1 = r.clone() * r;
        // Dense 2: recompute on the fast input; keys are the slow pass's cached inputs.
        let z2 = self.dense2.forward(a1.clone())
            - causal_linear_attention(a1, slow.a1.clone(), g.z2.clone(), c) * step(2)
            - exclusive_cumsum(g.z2, c) * step(3);
        let alpha0 = self.alpha.val().reshape([1, 1, s]).expand([b, l, s]);
        let beta0 = self.beta.val().reshape([1, 1, s]).expand([b, l, s]);
        let alpha = alpha0 - exclusive_cumsum(g.alpha, c) * step(4);
        let beta = beta0 - exclusive_cumsum(g.beta, c) * step(5);
        let (y, _, _) = Self::norm(z2, alpha, beta);
        self.unembed3(y)
    }

    /// Multiply-adds per token of the slow pass, of the hand backward and of the fast pass's
    /// extra work (for span `l`), for the deterministic cost figures.
    pub fn macs_per_token(&self, d: usize, vocab: usize) -> (f64, f64, f64) {
        let s = self.alpha.dims()[0] as f64;
        let (d, v, c) = (d as f64, vocab as f64, self.chunk as f64);
        let h = 4.0 * s;
        let slow = d * h + h * s + s * v;
        let backward = v * s + s * h;
        // Linear attention per token: within a chunk c·(Dk + Dv), plus building and reading
        // the chunk states 2·Dk·Dv; the cumulative sums c·Dv + 2·Dv.
        let attn = |dk: f64, dv: f64| c * (dk + dv) + 2.0 * dk * dv;
        let cums = |dv: f64| c * dv + 2.0 * dv;
        let fast = attn(d, h) + cums(h) + h * s + attn(h, s) + cums(s) + 2.0 * cums(s) + s * v;
        (slow, backward, fast)
    }
}
