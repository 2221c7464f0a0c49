//! The local Perspective-style classifier: hashed word uni/bigrams and character trigrams into a
//! fixed-width vector, then a small MLP with one sigmoid head per Perspective attribute, trained
//! with a masked binary cross-entropy against Perspective's scores (soft targets). The cheap,
//! documented choice: it trains in seconds on two cores and, like Perspective, scores a text
//! with no notion of who says it to whom.

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::data::{Example, HEADS};
use crate::data::text::{Sparse, tokens};
use crate::error::LabError;
use crate::nn::{Mlp, matrix, to_vec, train_step};
use crate::rng::Rng;

/// The hashed features of `text` in a space of `dim`.
pub fn features(text: &str, dim: usize) -> Sparse {
    let mut s = Sparse::default();
    s.add_ngrams(dim, "w", &tokens(text));
    let chars: Vec<char> = format!(" {} ", text.to_lowercase()).chars().collect();
    let n = chars.len().saturating_sub(2);
    if n > 0 {
        let w = 1.0 / (n as f32).sqrt();
        for t in chars.windows(3) {
            s.add(dim, "c", &t.iter().collect::<String>(), w);
        }
    }
    s
}

fn dense(texts: &[&str], dim: usize, device: &Device) -> Tensor<2> {
    let mut rows = vec![0.0f32; texts.len() * dim];
    for (i, t) in texts.iter().enumerate() {
        features(t, dim).write_dense(&mut rows[i * dim..(i + 1) * dim]);
    }
    matrix(rows, texts.len(), dim, device)
}

/// The classifier and its optimiser.
pub struct Classifier {
    /// The network: `dim → hidden → HEADS` logits.
    pub mlp: Mlp,
    opt: ModuleOptimizer,
    dim: usize,
    device: Device,
}

impl Classifier {
    /// A fresh classifier on an autodiff `device`.
    pub fn new(dim: usize, hidden: usize, rng: &mut Rng, device: &Device) -> Classifier {
        Classifier {
            mlp: Mlp::he(&[dim, hidden, HEADS], rng, device),
            opt: AdamConfig::new().init(),
            dim,
            device: device.clone(),
        }
    }

    /// One Adam step on `batch`; returns the masked cross-entropy.
    pub fn train_batch(&mut self, batch: &[&Example], lr: f64) -> Result<f64, LabError> {
        let n = batch.len();
        let texts: Vec<&str> = batch.iter().map(|e| e.text.as_str()).collect();
        let x = dense(&texts, self.dim, &self.device);
        let y = matrix(
            batch.iter().flat_map(|e| e.target).collect(),
            n,
            HEADS,
            &self.device,
        );
        let m = matrix(
            batch.iter().flat_map(|e| e.mask).collect(),
            n,
            HEADS,
            &self.device,
        );
        let total = m.clone().sum().add_scalar(1e-6);
        let loss_of = |mlp: &Mlp| {
            let z = mlp.forward(x.clone());
            // softplus(z) - y z, written stably: max(z, 0) - y z + ln(1 + e^-|z|).
            let l = z.clone().clamp_min(0.0) - z.clone() * y.clone()
                + z.abs().neg().exp().add_scalar(1.0).log();
            Ok((l * m.clone()).sum() / total.clone())
        };
        let mlp = self.mlp.clone();
        let (mlp, loss) = train_step(mlp, &mut self.opt, lr, loss_of)?;
        self.mlp = mlp;
        Ok(loss)
    }

    /// Scores in [0, 1] per head for each text.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<[f32; HEADS]>, LabError> {
        let dev = self.device.clone().without_autodiff();
        let mlp = self.mlp.valid();
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(256) {
            let p = to_vec(sigmoid(mlp.forward(dense(chunk, self.dim, &dev))))?;
            for row in p.chunks(HEADS) {
                let mut s = [0.0f32; HEADS];
                s.copy_from_slice(row);
                out.push(s);
            }
        }
        Ok(out)
    }

    /// One head's scores.
    pub fn score_head(&self, texts: &[&str], head: usize) -> Result<Vec<f32>, LabError> {
        Ok(self
            .score(texts)?
            .into_iter()
            .map(|s| s[head.min(HEADS - 1)])
            .collect())
    }
}

/// Spearman's rank correlation (average ranks for ties); NaN under 2 points or no spread.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(v: &[f32]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for &k in &idx[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let (ra, rb) = (ranks(&a[..n]), ranks(&b[..n]));
    let ma = ra.iter().sum::<f64>() / n as f64;
    let mb = rb.iter().sum::<f64>() / n as f64;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for k in 0..n {
        cov += (ra[k] - ma) * (rb[k] - mb);
        va += (ra[k] - ma).powi(2);
        vb += (rb[k] - mb).powi(2);
    }
    cov / (va * vb).sqrt()
}

/// Reliability bins: `(mean predicted, mean target, count)` over `bins` equal-width bins of the
/// prediction, and the expected calibration error (count-weighted mean |predicted − target|).
pub fn calibration(pred: &[f32], target: &[f32], bins: usize) -> (Vec<(f64, f64, usize)>, f64) {
    let bins = bins.max(1);
    let mut acc = vec![(0.0f64, 0.0f64, 0usize); bins];
    for (&p, &t) in pred.iter().zip(target) {
        let b = ((p.clamp(0.0, 1.0) * bins as f32) as usize).min(bins - 1);
        acc[b].0 += p as f64;
        acc[b].1 += t as f64;
        acc[b].2 += 1;
    }
    let n: usize = acc.iter().map(|a| a.2).sum();
    let mut ece = 0.0;
    let out: Vec<(f64, f64, usize)> = acc
        .into_iter()
        .filter(|a| a.2 > 0)
        .map(|(p, t, c)| {
            let (mp, mt) = (p / c as f64, t / c as f64);
            ece += c as f64 * (mp - mt).abs();
            (mp, mt, c)
        })
        .collect();
    (out, ece / n.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::nn::{autodiff_device, roc_auc};

    #[test]
    fn spearman_and_calibration_basics() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(spearman(&[1.0], &[1.0]).is_nan());
        let (bins, ece) = calibration(&[0.1, 0.9], &[0.1, 0.9], 10);
        assert_eq!(bins.len(), 2);
        assert!(ece < 1e-6);
        let (_, ece) = calibration(&[0.9, 0.9], &[0.0, 0.0], 10);
        assert!((ece - 0.9).abs() < 1e-6);
    }

    #[test]
    fn the_classifier_learns_toxic_from_benign_on_small_data() {
        let device = autodiff_device(&Backend::cpu().device);
        let toxic = [
            "you are a stupid idiot",
            "shut up you moron",
            "idiot, get lost",
            "what a stupid moron",
        ];
        let benign = [
            "the river flows to the sea",
            "we planted tomatoes today",
            "the library opens at nine",
            "rain is expected tomorrow",
        ];
        let ex: Vec<Example> = toxic
            .iter()
            .map(|t| (t, 1.0))
            .chain(benign.iter().map(|t| (t, 0.0)))
            .map(|(t, y)| Example {
                text: t.to_string(),
                target: [y; HEADS],
                mask: [1.0; HEADS],
                toxic: y > 0.5,
                source: super::super::data::Source::Perspective,
            })
            .collect();
        let mut rng = Rng::new(5);
        let mut c = Classifier::new(512, 16, &mut rng, &device);
        let batch: Vec<&Example> = ex.iter().collect();
        let first = c.train_batch(&batch, 1e-2).expect("step");
        let mut last = first;
        for _ in 0..60 {
            last = c.train_batch(&batch, 1e-2).expect("step");
        }
        assert!(last < first * 0.5, "{first} -> {last}");
        let s = c
            .score_head(&["you stupid moron", "the sea and the river"], 0)
            .expect("score");
        assert!(s[0] > 0.5 && s[1] < 0.5, "{s:?}");
        let labels = [true, false];
        assert_eq!(roc_auc(&s, &labels), 1.0);
    }
}
