//! The synthetic copy task: can a RETRO block learn to copy the continuation its neighbour
//! holds? Random tokens, so nothing but retrieval predicts them (test and
//! `examples/retro_copy_task.rs`).

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};

use super::model::{RetroLm, RetroParts, RetroShape};
use crate::backend::Backend;
use crate::error::LabError;
use crate::lm::model::{LmShape, TransformerLm, int_tensor};
use crate::nn::to_vec;
use crate::rng::Rng;

/// Sizes of the copy task's model and data.
#[derive(Debug, Clone, Copy)]
pub struct CopySizes {
    /// Chunk length.
    pub m: usize,
    /// Decoder width (the encoder's is half).
    pub d: usize,
    /// Vocabulary.
    pub v: usize,
    /// Heads of the decoder, encoder and cross-attention.
    pub heads: usize,
    /// Peak learning rate (cosine to a tenth).
    pub lr: f64,
    /// The relative-position logits' scale ([`super::model::RelativeBias`]).
    pub rel_scale: f32,
    /// The CCA's copy-path gain (0 = random init).
    pub copy_init: f32,
    /// The aligned offset's starting relative logit (0 = none).
    pub align_init: f32,
}

/// Trains a fresh RETRO of `sizes` for `steps` steps on random token sequences whose first
/// neighbour of each chunk is the chunk and its true continuation (the second is random), then
/// returns its mean loss (nats) on fresh sequences' chunks 1 … 3 with copies, with random
/// neighbours only, and with retrieval off.
pub fn copy_task(steps: usize, seed: u64, sizes: CopySizes) -> Result<(f64, f64, f64), LabError> {
    use crate::lm::model::token_losses;
    use crate::lm::train::TrainSettings;
    let device = crate::nn::autodiff_device(&Backend::cpu().device);
    let CopySizes {
        m,
        d,
        v,
        heads,
        lr,
        rel_scale,
        copy_init,
        align_init,
    } = sizes;
    let (l, k, b) = (4usize, 2usize, 16usize);
    let (t, r) = (m * l, 2 * m);
    let shape = LmShape {
        vocab: v,
        d_model: d,
        layers: 4,
        heads,
        context: t,
        tied: true,
    };
    let mut rng = Rng::new(seed);
    let lm = TransformerLm::new(shape, &mut rng, &device);
    let parts = RetroParts::new(
        &shape,
        RetroShape {
            chunk: m,
            d_enc: d / 2,
            enc_layers: 1,
            heads,
            layers: RetroShape::every_third_from_middle(4),
            rel_scale,
            copy_init,
            align_init,
            align_heads: 0,
            match_gate: 0.0,
            sink_init: 0.0,
        },
        &mut rng,
        &device,
    );
    let mut model = RetroLm {
        lm,
        parts: Some(parts),
    };
    let settings = TrainSettings {
        lr,
        min_lr: lr / 10.0,
        warmup: 20,
        decay_steps: steps as u64,
        weight_decay: 0.0,
        beta2: 0.99,
        grad_clip: 1.0,
    };
    let mut opt = settings.optimizer();
    // A batch: sequences of t + 1 random tokens; chunk u's first neighbour is chunk u and its
    // continuation (for the last chunk the continuation is the target beyond the window), the
    // second is random.
    let batch = |rng: &mut Rng, copy: bool| {
        let mut x = Vec::with_capacity(b * t);
        let mut y = Vec::with_capacity(b * t);
        let mut nb = Vec::with_capacity(b * l * k * r);
        for _ in 0..b {
            let seq: Vec<u32> = (0..t + m).map(|_| rng.below(v) as u32).collect();
            x.extend_from_slice(&seq[..t]);
            y.extend_from_slice(&seq[1..t + 1]);
            for u in 0..l {
                for j in 0..k {
                    for p in 0..r {
                        let tok = if copy && j == 0 {
                            seq[u * m + p]
                        } else {
                            rng.below(v) as u32
                        };
                        nb.push(tok as i64);
                    }
                }
            }
        }
        let dev = device.clone();
        (
            int_tensor(&x, b, t, &dev),
            int_tensor(&y, b, t, &dev),
            Tensor::<4, Int>::from_data(TensorData::new(nb, [b, l, k, r]), &dev),
        )
    };
    let mut data = Rng::new(seed + 100);
    for step in 0..steps {
        let (x, y, nb) = batch(&mut data, true);
        let loss = token_losses(model.logits(x, Some(nb)), y).mean();
        model = crate::nn::descend(model, loss, &mut opt, settings.lr_at(step as u64));
    }
    // Held-out sequences (a fresh stream): the loss on targets m−1 … t−1 (chunks 1 … l−1 and the
    // token after the window), which only the neighbours can predict.
    let mut held = Rng::new(seed + 200);
    let model = model.valid();
    let eval = |nb_copy: bool, retrieval: bool, rng: &mut Rng| {
        let (x, y, nb) = batch(rng, nb_copy);
        let dev = device.clone().without_autodiff();
        let (x, y, nb) = (
            Tensor::<2, Int>::from_data(x.into_data(), &dev),
            Tensor::<2, Int>::from_data(y.into_data(), &dev),
            Tensor::<4, Int>::from_data(nb.into_data(), &dev),
        );
        let losses =
            to_vec(token_losses(model.logits(x, retrieval.then_some(nb)), y)).expect("losses");
        let kept: Vec<f32> = losses
            .chunks(t)
            .flat_map(|row| row[m - 1..].to_vec())
            .collect();
        Ok::<f64, LabError>(kept.iter().map(|&x| x as f64).sum::<f64>() / kept.len().max(1) as f64)
    };
    let mut h1 = held.clone();
    let mut h2 = held.clone();
    Ok((
        eval(true, true, &mut held)?,
        eval(false, true, &mut h1)?,
        eval(true, false, &mut h2)?,
    ))
}
