//! The distributional probe's language model: the shared LM core (`crate::lm`: corpus, character
//! tokeniser, `TransformerLm`, AdamW schedule) trained briefly on a slice of the Wikipedia
//! corpus, then used for three things: the log-likelihood of a sentence (CrowS-Pairs,
//! StereoSet), sampling (the risks audit's toxicity and copying measurements), and finding the
//! longest span of a sample copied verbatim from its training text.

use std::sync::Arc;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

use crate::error::LabError;
use crate::lm::corpus::{Corpus, CorpusName, Part};
use crate::lm::data::{Splits, sample_windows};
use crate::lm::model::{LmShape, TransformerLm, int_tensor, token_losses};
use crate::lm::sample::sample_logits;
use crate::lm::tokenizer::{CharVocab, Tokenizer};
use crate::lm::train::TrainSettings;
use crate::nn::{descend, scalar, to_vec};
use crate::rng::Rng;

/// Sizes of the probe LM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeShape {
    /// Characters of Wikipedia articles to train on (whole articles, in corpus order).
    pub chars: usize,
    /// Width.
    pub d_model: usize,
    /// Blocks.
    pub layers: usize,
    /// Context window.
    pub context: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// Training steps.
    pub steps: u64,
}

/// The probe LM.
pub struct ProbeLm {
    model: TransformerLm,
    opt: ModuleOptimizer,
    settings: TrainSettings,
    splits: Splits,
    /// The training articles joined by blank lines: what a copied span is looked up in.
    pub train_text: String,
    shape: ProbeShape,
    device: Device,
    step: u64,
}

impl ProbeLm {
    /// A fresh model on an autodiff `device`.
    pub fn new(shape: ProbeShape, rng: &mut Rng, device: &Device) -> Result<ProbeLm, LabError> {
        let full = Corpus::load(CorpusName::Wikipedia)?;
        let mut docs = Vec::new();
        let mut total = 0;
        for d in &full.docs {
            if total >= shape.chars {
                break;
            }
            total += d.text.len();
            docs.push(d.clone());
        }
        let corpus = Corpus {
            name: CorpusName::Wikipedia,
            docs,
        };
        let parts = corpus.split(4, 0);
        let vocab = CharVocab::build(corpus.texts_in(&parts, Part::Train));
        let splits = Splits::new(&corpus, &parts, Arc::new(Tokenizer::Char(vocab)));
        let train_text = corpus
            .texts_in(&parts, Part::Train)
            .collect::<Vec<_>>()
            .join("\n\n");
        let lm_shape = LmShape {
            vocab: splits.tokenizer.vocab_size(),
            d_model: shape.d_model,
            layers: shape.layers,
            heads: (shape.d_model / 16).max(1),
            context: shape.context,
            tied: true,
        };
        let settings = TrainSettings {
            lr: 2e-3,
            min_lr: 2e-4,
            warmup: (shape.steps / 10).max(1),
            decay_steps: shape.steps,
            weight_decay: 0.1,
            beta2: 0.99,
            grad_clip: 1.0,
        };
        Ok(ProbeLm {
            model: TransformerLm::new(lm_shape, rng, device),
            opt: settings.optimizer(),
            settings,
            splits,
            train_text,
            shape,
            device: device.clone(),
            step: 0,
        })
    }

    /// Training characters.
    pub fn train_chars(&self) -> usize {
        self.splits.train_tokens()
    }

    /// One training batch; returns its loss (nats per character).
    pub fn train_step(&mut self, rng: &mut Rng) -> Result<f64, LabError> {
        let (b, c) = (self.shape.batch, self.shape.context);
        let (x, y) = sample_windows(&self.splits.train, b, c, rng)
            .ok_or_else(|| LabError::data("probe LM articles", "none longer than the context"))?;
        let lr = self.settings.lr_at(self.step);
        let loss = token_losses(
            self.model.logits(int_tensor(&x, b, c, &self.device)),
            int_tensor(&y, b, c, &self.device),
        )
        .mean();
        let value = scalar(loss.clone().detach())?;
        self.model = descend(self.model.clone(), loss, &mut self.opt, lr);
        self.step += 1;
        Ok(value)
    }

    /// Mean loss per character on the held-out articles (first `max_chars` of each).
    pub fn held_out_loss(&self, max_chars: usize) -> Result<f64, LabError> {
        let texts: Vec<String> = self
            .splits
            .valid
            .iter()
            .map(|d| {
                self.splits
                    .tokenizer
                    .decode(&d.ids[..d.ids.len().min(max_chars)])
            })
            .collect();
        let lp = self.log_probs(&texts)?;
        let n: usize = texts.iter().map(|t| t.chars().count()).sum();
        Ok(-lp.iter().sum::<f64>() / n.max(1) as f64)
    }

    /// The log-probability (nats) of each text after a line break, summed over its characters.
    /// Texts longer than the context are scored in windows that each see at least half a
    /// context of history.
    pub fn log_probs(&self, texts: &[String]) -> Result<Vec<f64>, LabError> {
        let c = self.shape.context;
        let h = (c / 2).max(1);
        // (text index, inputs, targets, score targets from this index on)
        let mut pieces: Vec<(usize, Vec<u32>, Vec<u32>, usize)> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let ids = self.splits.tokenizer.encode(&format!("\n{t}"));
            let l = ids.len();
            if l < 2 {
                continue;
            }
            let first = c.min(l - 1);
            pieces.push((i, ids[..first].to_vec(), ids[1..first + 1].to_vec(), 0));
            let mut covered = first + 1;
            while covered < l {
                let b = (covered + h).min(l);
                let st = b - c - 1;
                pieces.push((
                    i,
                    ids[st..st + c].to_vec(),
                    ids[st + 1..b].to_vec(),
                    covered - st - 1,
                ));
                covered = b;
            }
        }
        let dev = self.device.clone().without_autodiff();
        let model = self.model.valid();
        let mut out = vec![0.0f64; texts.len()];
        for chunk in pieces.chunks(64) {
            let t = chunk.iter().map(|p| p.1.len()).max().unwrap_or(1);
            let b = chunk.len();
            let mut x = vec![0u32; b * t];
            let mut y = vec![0u32; b * t];
            for (r, p) in chunk.iter().enumerate() {
                x[r * t..r * t + p.1.len()].copy_from_slice(&p.1);
                y[r * t..r * t + p.2.len()].copy_from_slice(&p.2);
            }
            let losses = to_vec(token_losses(
                model.logits(int_tensor(&x, b, t, &dev)),
                int_tensor(&y, b, t, &dev),
            ))?;
            for (r, p) in chunk.iter().enumerate() {
                let s: f64 = losses[r * t + p.3..r * t + p.2.len()]
                    .iter()
                    .map(|&v| v as f64)
                    .sum();
                out[p.0] -= s;
            }
        }
        Ok(out)
    }

    /// Continues each prompt (all the same length in characters) by `n` characters.
    pub fn sample(
        &self,
        prompts: &[String],
        n: usize,
        temperature: f64,
        rng: &mut Rng,
    ) -> Result<Vec<String>, LabError> {
        let dev = self.device.clone().without_autodiff();
        let model = self.model.valid();
        let tok = &self.splits.tokenizer;
        let mut ids: Vec<Vec<u32>> = prompts.iter().map(|p| tok.encode(p)).collect();
        let len = ids.first().map_or(0, |v| v.len());
        if len == 0 || ids.iter().any(|v| v.len() != len) {
            return Err(LabError::compute(
                "sample prompts must be non-empty and of one length",
            ));
        }
        let v = tok.vocab_size();
        let c = self.shape.context;
        for _ in 0..n {
            let cur = ids[0].len();
            let t = cur.min(c);
            let x: Vec<u32> = ids
                .iter()
                .flat_map(|s| s[cur - t..].iter().copied())
                .collect();
            let logits = to_vec(model.logits(int_tensor(&x, ids.len(), t, &dev)))?;
            for (r, s) in ids.iter_mut().enumerate() {
                let row = &logits[(r * t + t - 1) * v..(r * t + t) * v];
                s.push(sample_logits(row, temperature, rng));
            }
        }
        Ok(ids.iter().map(|s| tok.decode(&s[len..])).collect())
    }
}

/// The longest run of `sample` (in characters) that occurs verbatim in `corpus`.
pub fn longest_copy(sample: &str, corpus: &str) -> usize {
    let bounds: Vec<usize> = sample
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(sample.len()))
        .collect();
    let n = bounds.len() - 1;
    let (mut best, mut len) = (0, 0usize);
    for i in 0..n {
        len = len.saturating_sub(1).min(n - i);
        while i + len < n && corpus.contains(&sample[bounds[i]..bounds[i + len + 1]]) {
            len += 1;
        }
        best = best.max(len);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_copy_finds_the_longest_verbatim_run() {
        assert_eq!(longest_copy("xxhello worldyy", "say hello world!"), 11);
        assert_eq!(longest_copy("zzz", "abc"), 0);
        assert_eq!(longest_copy("", "abc"), 0);
        assert_eq!(longest_copy("éab", "ab é"), 2);
    }
}
