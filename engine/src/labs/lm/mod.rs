//! The language-model core on its own: a decoder-only transformer trained on a document
//! corpus, for checking the core against a peer (nanoGPT's character-level Shakespeare CPU
//! recipe) and for sampling from it. Validation and test documents are whole held-out plays.

use std::sync::Arc;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, Range, StepReport};
use crate::lm::corpus::{Corpus, CorpusName, Part};
use crate::lm::data::{Splits, sample_windows};
use crate::lm::model::{LmShape, TransformerLm, int_tensor, token_losses};
use crate::lm::sample::sample_logits;
use crate::lm::tokenizer::{CharVocab, Tokenizer};
use crate::lm::train::TrainSettings;
use crate::nn::{descend, scalar, to_vec};
use crate::results::{CurveSet, Line, Results};
use crate::rng::Rng;

/// The lab's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LmConfig {
    /// Seed for weights, data order and the validation windows.
    pub seed: u64,
    /// The corpus (character tokeniser).
    pub corpus: CorpusName,
    /// Held-out test documents.
    pub test_docs: usize,
    /// Held-out validation documents.
    pub valid_docs: usize,
    /// Width.
    pub d_model: usize,
    /// Blocks.
    pub layers: usize,
    /// Heads.
    pub heads: usize,
    /// Context window.
    pub context: usize,
    /// Tie the unembedding to the token embedding.
    pub tied: bool,
    /// Sequences per batch.
    pub batch: usize,
    /// Training steps.
    pub steps: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Floor of the cosine decay.
    pub min_lr: f64,
    /// Warm-up steps.
    pub warmup: u64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// AdamW β₂.
    pub beta2: f64,
    /// Gradient-norm clip (0 = off).
    pub grad_clip: f64,
    /// Validate every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Random windows (fixed by the seed) of the validation and test documents scored.
    pub eval_windows: usize,
    /// Every N steps, a cheap running estimate of the validation loss on a small fixed set of
    /// windows of the validation plays (`val_loss_est`; 0 = off).
    pub quick_eval_every: u64,
    /// Windows of the running estimate (the same ones every time).
    pub quick_eval_windows: usize,
    /// Sampling temperature.
    pub temperature: f64,
    /// Tokens sampled by "continue".
    pub sample_tokens: usize,
}

impl Default for LmConfig {
    fn default() -> Self {
        LmConfig {
            seed: 1337,
            corpus: CorpusName::Shakespeare,
            test_docs: 3,
            valid_docs: 2,
            d_model: 128,
            layers: 4,
            heads: 4,
            context: 64,
            tied: true,
            batch: 12,
            steps: 2000,
            lr: 1e-3,
            min_lr: 1e-4,
            warmup: 100,
            weight_decay: 0.1,
            beta2: 0.99,
            grad_clip: 1.0,
            eval_every: 250,
            eval_windows: 240,
            quick_eval_every: 0,
            quick_eval_windows: 24,
            temperature: 0.8,
            sample_tokens: 300,
        }
    }
}

impl LabConfig for LmConfig {
    const RANGES: &'static [Range] = &[
        Range::choice("corpus", CorpusName::CHOICES),
        Range::int("test_docs", 1, 50),
        Range::int("valid_docs", 1, 50),
        Range::int("d_model", 8, 2048),
        Range::int("layers", 1, 48),
        Range::int("heads", 1, 64),
        Range::int("context", 2, 4096),
        Range::int("batch", 1, 1024),
        Range::int("steps", 1, 100_000_000),
        Range::float("lr", 1e-6, 1.0, true),
        Range::float("min_lr", 0.0, 1.0, false),
        Range::int("warmup", 0, 10_000_000),
        Range::float("weight_decay", 0.0, 1.0, false),
        Range::float("beta2", 0.5, 0.99999, false),
        Range::float("grad_clip", 0.0, 100.0, false),
        Range::int("eval_windows", 1, 100_000),
        Range::int("quick_eval_every", 0, 100_000_000),
        Range::int("quick_eval_windows", 1, 100_000),
        Range::float("temperature", 0.0, 3.0, false),
        Range::int("sample_tokens", 1, 5000),
    ];

    fn check(&self) -> Result<(), LabError> {
        if !self.d_model.is_multiple_of(self.heads) {
            return Err(LabError::config("heads", "must divide d_model"));
        }
        Ok(())
    }
}

impl LmConfig {
    fn train(&self) -> TrainSettings {
        TrainSettings {
            lr: self.lr,
            min_lr: self.min_lr,
            warmup: self.warmup,
            decay_steps: self.steps,
            weight_decay: self.weight_decay,
            beta2: self.beta2,
            grad_clip: self.grad_clip,
        }
    }
}

/// What the panel draws.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LmView {
    /// Steps done.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// Corpus, vocabulary and parameter count.
    pub data: String,
    /// `(step, validation loss)` in nats per character.
    pub valid: Vec<(u64, f64)>,
    /// Test loss at the end.
    pub test: Option<f64>,
    /// The last sample: prompt and continuation.
    pub sample: Option<(String, String)>,
    /// Sampling temperature.
    pub temperature: f64,
}

/// Actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum LmAction {
    /// Sample a continuation of `prompt` at the temperature knob.
    Continue {
        /// The text to continue.
        prompt: String,
    },
}

/// The LM lab.
pub struct LmLab {
    cfg: LmConfig,
    device: Device,
    splits: Splits,
    model: TransformerLm,
    opt: ModuleOptimizer,
    rng: Rng,
    root: Rng,
    step: u64,
    valid: Vec<(u64, f64)>,
    test: Option<f64>,
    sample: Option<(String, String)>,
    samples: u64,
    params: usize,
}

impl LmLab {
    /// Mean loss over `eval_windows` windows of `docs` drawn with a fixed stream.
    fn loss_on(&self, docs: &[crate::lm::data::TokDoc], stream: u64) -> Result<f64, LabError> {
        self.loss_over(docs, stream, self.cfg.eval_windows)
    }

    /// Mean loss over `windows` windows of `docs` drawn with the fixed stream `stream`.
    fn loss_over(
        &self,
        docs: &[crate::lm::data::TokDoc],
        stream: u64,
        windows: usize,
    ) -> Result<f64, LabError> {
        let dev = self.device.clone().without_autodiff();
        let model = self.model.valid();
        let mut rng = self.root.fork(stream);
        let c = self.cfg.context;
        let (mut sum, mut n) = (0.0, 0usize);
        let mut left = windows;
        while left > 0 {
            let b = left.min(32);
            let Some((x, y)) = sample_windows(docs, b, c, &mut rng) else {
                break;
            };
            let l = token_losses(
                model.logits(int_tensor(&x, b, c, &dev)),
                int_tensor(&y, b, c, &dev),
            );
            sum += scalar(l.sum().reshape([1]))?;
            n += b * c;
            left -= b;
        }
        Ok(sum / n.max(1) as f64)
    }
}

impl Lab for LmLab {
    const ID: &'static str = "lm";
    const NAME: &'static str = "Language-model core";
    const PAPER: &'static str = "Radford et al. 2019 (GPT-2 layout), checked against Karpathy's nanoGPT character-level Shakespeare recipe";
    const SUMMARY: &'static str = "The shared decoder-only transformer (token and position \
        embeddings, pre-norm causal attention and MLP blocks, tied unembedding) trained with \
        AdamW, warm-up and cosine decay and gradient clipping on Shakespeare's plays, scored on \
        whole held-out plays. The FWL and RETRO labs build on it.";
    const TINY: &'static [&'static str] = &[
        "d_model=16",
        "layers=1",
        "heads=2",
        "context=16",
        "batch=2",
        "eval_every=1",
        "eval_windows=4",
        "quick_eval_every=1",
        "quick_eval_windows=2",
        "sample_tokens=5",
    ];

    type Config = LmConfig;
    type View = LmView;
    type Action = LmAction;

    fn new(cfg: LmConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let corpus = Corpus::load(cfg.corpus)?;
        let parts = corpus.split(cfg.valid_docs, cfg.test_docs);
        let vocab = CharVocab::build(corpus.texts_in(&parts, Part::Train));
        let splits = Splits::new(&corpus, &parts, Arc::new(Tokenizer::Char(vocab)));
        let shape = LmShape {
            vocab: splits.tokenizer.vocab_size(),
            d_model: cfg.d_model,
            layers: cfg.layers,
            heads: cfg.heads,
            context: cfg.context,
            tied: cfg.tied,
        };
        let root = Rng::new(cfg.seed);
        let model = TransformerLm::new(shape, &mut root.fork(1), &device);
        let params = model.num_params();
        Ok(LmLab {
            opt: cfg.train().optimizer(),
            rng: root.fork(2),
            root,
            splits,
            model,
            cfg,
            device,
            step: 0,
            valid: Vec::new(),
            test: None,
            sample: None,
            samples: 0,
            params,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let (b, c) = (self.cfg.batch, self.cfg.context);
        let (x, y) = sample_windows(&self.splits.train, b, c, &mut self.rng)
            .ok_or_else(|| LabError::data("training documents", "none longer than the context"))?;
        let lr = self.cfg.train().lr_at(self.step);
        let loss = token_losses(
            self.model.logits(int_tensor(&x, b, c, &self.device)),
            int_tensor(&y, b, c, &self.device),
        )
        .mean();
        report.push("loss", scalar(loss.clone().detach())?);
        report.push("lr", lr);
        self.model = descend(self.model.clone(), loss, &mut self.opt, lr);
        self.step += 1;
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            let v = self.loss_on(&self.splits.valid, 10)?;
            report.push("val_loss", v);
            self.valid.push((self.step, v));
        }
        // Its own stream (12), so the estimate scores the same windows every time and the
        // full evaluation's windows stay as they were.
        if self.cfg.quick_eval_every > 0 && self.step.is_multiple_of(self.cfg.quick_eval_every) {
            let v = self.loss_over(&self.splits.valid, 12, self.cfg.quick_eval_windows)?;
            report.push("val_loss_est", v);
        }
        Ok(report)
    }

    fn view(&self) -> LmView {
        LmView {
            step: self.step,
            planned: self.cfg.steps,
            data: format!(
                "{:?}, {} characters in the vocabulary, {} training characters, {:.2}M parameters",
                self.cfg.corpus,
                self.splits.tokenizer.vocab_size(),
                self.splits.train_tokens(),
                self.params as f64 / 1e6
            ),
            valid: self.valid.clone(),
            test: self.test,
            sample: self.sample.clone(),
            temperature: self.cfg.temperature,
        }
    }

    fn config(&self) -> &LmConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut LmConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new("lr", "learning rate", "Peak AdamW learning rate."),
            Knob::new(
                "temperature",
                "sampling temperature",
                "Temperature of \"continue\" (0 = greedy).",
            ),
        ];
        KNOBS
    }

    fn headline(_: &LmConfig) -> Vec<&'static str> {
        vec!["val_loss"]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.steps)
    }

    fn act(&mut self, action: LmAction) -> Result<ActionReport, LabError> {
        let LmAction::Continue { prompt } = action;
        if prompt.chars().count() > 2000 {
            return Err(LabError::Action(
                "the prompt is over 2,000 characters".into(),
            ));
        }
        let dev = self.device.clone().without_autodiff();
        let model = self.model.valid();
        let tok = self.splits.tokenizer.clone();
        let mut ids = tok.encode(if prompt.is_empty() { "\n" } else { &prompt });
        let mut rng = self.root.fork(100 + self.samples);
        self.samples += 1;
        let start = ids.len();
        let v = tok.vocab_size();
        for _ in 0..self.cfg.sample_tokens {
            let w = &ids[ids.len().saturating_sub(self.cfg.context)..];
            let t = w.len();
            let logits = to_vec(model.logits(int_tensor(w, 1, t, &dev)))?;
            ids.push(sample_logits(
                &logits[(t - 1) * v..t * v],
                self.cfg.temperature,
                &mut rng,
            ));
        }
        let text = tok.decode(&ids[start..]);
        self.sample = Some((prompt, text));
        Ok(ActionReport::default())
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let v = self.loss_on(&self.splits.valid, 10)?;
        report.push("val_loss", v);
        self.valid.push((self.step, v));
        let t = self.loss_on(&self.splits.test, 11)?;
        report.push("test_loss", t);
        self.test = Some(t);
        Ok(report)
    }

    fn results(&self) -> Results {
        let mut out = Results::default();
        if !self.valid.is_empty() {
            out.curves.push(CurveSet {
                name: "validation_loss".into(),
                title: "Validation loss (held-out plays)".into(),
                x_label: "training step".into(),
                y_label: "nats per character".into(),
                lines: vec![Line {
                    label: "transformer".into(),
                    x: self.valid.iter().map(|v| v.0 as f64).collect(),
                    y: self.valid.iter().map(|v| v.1).collect(),
                }],
            });
        }
        out
    }
}
