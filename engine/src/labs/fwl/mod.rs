//! Fast Weight Layers (Clark, Guu, Chang, Pasupat, Hinton & Norouzi 2022, "Meta-Learning Fast
//! Weight Language Models"): a language model that adapts to the document it is reading.
//!
//! Two models with the same architecture (the LM core's transformer body and the FW block as
//! output head), the same initial weights and the same batches: the baseline trains with the
//! fast weights off, the FWL model with them on (learning its step sizes through the
//! hand-computed inner gradients). At the end both are scored on whole held-out documents:
//! the baseline as it is, the baseline with dynamic evaluation (an SGD step after each chunk,
//! reset at each document), and the FWL model with its fast weights.

pub mod block;
pub mod config;
pub mod eval;
pub mod model;
#[cfg(test)]
mod tests;
pub mod view;

use std::sync::Arc;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, StepReport};
use crate::lm::corpus::{Corpus, Part};
use crate::lm::data::{Splits, doc_windows, sample_windows};
use crate::lm::dyneval::DynEval;
use crate::lm::model::int_tensor;
use crate::lm::sample::sample_logits;
use crate::lm::tokenizer::Tokenizer;
use crate::nn::{descend, scalar, to_vec};
use crate::results::{Cell, CurveSet, Line, Results, Table};
use crate::rng::Rng;

pub use config::{FwlConfig, TokenizerKind};
use eval::{DocScores, Timing};
use model::FwlModel;
pub use view::{DocView, FwlView, TestView};

const STREAM_INIT: u64 = 1;
const STREAM_DATA: u64 = 2;
const STREAM_SAMPLE: u64 = 3;
/// Tokens of the coloured document the view carries.
const DOC_VIEW_TOKENS: usize = 2000;

/// What a user can ask of the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FwlAction {
    /// Score the test documents now with all three methods (also done at the end).
    Evaluate,
    /// Sample a continuation of `prompt` from the FWL model at the temperature knob.
    Continue {
        /// The text to continue.
        prompt: String,
    },
}

/// The Fast Weight Layers lab.
pub struct FwlLab {
    cfg: FwlConfig,
    device: Device,
    splits: Splits,
    corpus_words: std::collections::HashMap<String, usize>,
    base: FwlModel,
    base_opt: ModuleOptimizer,
    fwl: FwlModel,
    fwl_opt: ModuleOptimizer,
    rng_data: Rng,
    root: Rng,
    step: u64,
    valid: Vec<(u64, f64, f64)>,
    etas: Vec<(u64, [f64; 6])>,
    scores: Option<(u64, Vec<DocScores>, Timing)>,
    sample: Option<(String, String)>,
    samples_drawn: u64,
    version: u64,
}

impl FwlLab {
    fn dyneval(&self) -> DynEval {
        DynEval {
            lr: self.cfg.dyn_lr,
            steps: self.cfg.dyn_steps,
            scope: self.cfg.dyn_scope,
        }
    }

    /// Mean validation loss (nats per token) of both models over the validation spans.
    fn validate(&self) -> Result<(f64, f64), LabError> {
        let dev = self.device.clone().without_autodiff();
        let (base, fwl) = (self.base.valid(), self.fwl.valid());
        let span = self.cfg.span;
        let windows: Vec<(Vec<u32>, Vec<u32>)> = self
            .splits
            .valid
            .iter()
            .flat_map(|d| doc_windows(d, span, self.cfg.valid_tokens))
            .collect();
        let (mut sb, mut sf, mut n) = (0.0, 0.0, 0usize);
        for group in windows.chunks(8) {
            let b = group.len();
            let x: Vec<u32> = group.iter().flat_map(|w| w.0.iter().copied()).collect();
            let y: Vec<u32> = group.iter().flat_map(|w| w.1.iter().copied()).collect();
            let (xt, yt) = (int_tensor(&x, b, span, &dev), int_tensor(&y, b, span, &dev));
            sb += scalar(
                base.losses_with(xt.clone(), yt.clone(), false)
                    .sum()
                    .reshape([1]),
            )?;
            sf += scalar(
                fwl.losses_with(xt, yt, self.cfg.fwl_eval)
                    .sum()
                    .reshape([1]),
            )?;
            n += b * span;
        }
        let n = n.max(1) as f64;
        Ok((sb / n, sf / n))
    }

    fn step_sizes(&self) -> Result<[f64; 6], LabError> {
        let v = to_vec(self.fwl.block.steps.val())?;
        let mut out = [0.0; 6];
        for (o, x) in out.iter_mut().zip(v) {
            *o = x as f64;
        }
        Ok(out)
    }

    /// Scores the test documents with all three methods and keeps the result.
    fn evaluate(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let (docs, timing) = eval::score(
            &self.base,
            &self.fwl,
            &self.splits.test,
            self.cfg.span,
            self.cfg.context,
            self.cfg.test_tokens,
            &self.dyneval(),
            self.cfg.fwl_eval,
            &self.device,
        )?;
        let ppl_base = eval::perplexity(&docs, |d| &d.base);
        let ppl_dyn = eval::perplexity(&docs, |d| &d.dyneval);
        let ppl_fwl = eval::perplexity(&docs, |d| &d.fwl);
        let [cost_dyn, cost_fwl] = self.costs();
        report.push("ppl_base", ppl_base);
        report.push("ppl_dyneval", ppl_dyn);
        report.push("ppl_fwl", ppl_fwl);
        report.push("cost_dyneval", cost_dyn);
        report.push("cost_fwl", cost_fwl);
        let gain = ppl_base - ppl_dyn;
        if gain.abs() > 1e-12 {
            report.push("fwl_share_of_dyneval_gain", (ppl_base - ppl_fwl) / gain);
        }
        report.push("test_tokens_scored", timing.tokens as f64);
        self.scores = Some((self.step, docs, timing));
        self.version += 1;
        Ok(())
    }

    /// Counted multiply-adds per token relative to the baseline: [dynamic evaluation, FWL].
    /// Dynamic evaluation: the scoring forward pass plus, per SGD step, a backward pass
    /// (about twice a forward over the weights it reaches; the whole model for scope `all`)
    /// and, after the first step, another forward.
    fn costs(&self) -> [f64; 2] {
        let v = self.splits.tokenizer.vocab_size();
        let shape = self.cfg.shape(v);
        let body = shape.macs_per_token() - (shape.d_model * v) as f64;
        let (slow, backward, fast) = self.base.block.macs_per_token(self.cfg.d_model, v);
        let base = body + slow;
        let reach = match self.cfg.dyn_scope {
            crate::lm::dyneval::Scope::All => base,
            crate::lm::dyneval::Scope::Last => slow + body / self.cfg.layers as f64,
            crate::lm::dyneval::Scope::Head => slow,
        };
        let k = self.cfg.dyn_steps as f64;
        let dyn_cost = base + k * 2.0 * reach + (k - 1.0).max(0.0) * base;
        [dyn_cost / base, (base + backward + fast) / base]
    }

    fn continue_text(&mut self, prompt: &str) -> Result<ActionReport, LabError> {
        let dev = self.device.clone().without_autodiff();
        let model = self.fwl.valid();
        let tok = self.splits.tokenizer.clone();
        let mut ids = tok.encode(prompt);
        if ids.is_empty() {
            ids.push(tok.encode("\n").first().copied().unwrap_or(0));
        }
        let mut rng = self.root.fork(STREAM_SAMPLE + 1000 * self.samples_drawn);
        self.samples_drawn += 1;
        let ctx = self.cfg.context;
        let start = ids.len();
        for _ in 0..self.cfg.sample_tokens {
            let from = ids.len().saturating_sub(ctx);
            let window = &ids[from..];
            let t = window.len();
            // The body reads one window; the FW block adapts within it from the prompt's own
            // tokens (each position's target is the next token, known for all but the last).
            let x = int_tensor(window, 1, t, &dev);
            let mut y: Vec<u32> = window[1..].to_vec();
            y.push(0);
            let yt = int_tensor(&y, 1, t, &dev);
            let logits = to_vec(model.logits(x, yt, self.cfg.fwl_eval))?;
            let vsz = tok.vocab_size();
            let last = &logits[(t - 1) * vsz..t * vsz];
            ids.push(sample_logits(last, self.cfg.temperature, &mut rng));
        }
        let text = tok.decode(&ids[start..]);
        self.sample = Some((prompt.to_string(), text.clone()));
        self.version += 1;
        Ok(ActionReport {
            message: format!("continued: {}", text.chars().take(60).collect::<String>()),
            ..ActionReport::default()
        })
    }

    fn test_view(&self) -> Option<TestView> {
        let (step, docs, timing) = self.scores.as_ref()?;
        let span = self.cfg.span;
        let mut edges = vec![0usize];
        let mut e = span;
        while e < self.cfg.test_tokens {
            edges.push(e);
            e *= 2;
        }
        let by_position = eval::gain_by_position(docs, &edges, |i| i)
            .into_iter()
            .map(|(e, a, b, _)| (e as f64, a, b))
            .collect();
        let step_w = (span / 8).max(1);
        let span_edges: Vec<usize> = (0..span).step_by(step_w).collect();
        let by_span_position = eval::gain_by_position(docs, &span_edges, |i| i % span)
            .into_iter()
            .map(|(e, a, b, _)| (e as f64, a, b))
            .collect();
        let occurrences = eval::by_occurrence(docs, &self.splits.tokenizer, &self.corpus_words)
            .into_iter()
            .map(|r| (r.label, r.tokens, r.base, r.dyneval_gain, r.fwl_gain))
            .collect();
        let tps = |s: f64| {
            if s > 0.0 {
                timing.tokens as f64 / s
            } else {
                0.0
            }
        };
        Some(TestView {
            step: *step,
            ppl: [
                eval::perplexity(docs, |d| &d.base),
                eval::perplexity(docs, |d| &d.dyneval),
                eval::perplexity(docs, |d| &d.fwl),
            ],
            cost: self.costs(),
            tokens_per_s: [tps(timing.base), tps(timing.dyneval), tps(timing.fwl)],
            by_position,
            by_span_position,
            occurrences,
            docs: docs.len(),
            tokens: timing.tokens,
        })
    }

    fn doc_view(&self) -> Option<DocView> {
        let (_, docs, _) = self.scores.as_ref()?;
        let d = docs.first()?;
        let n = d.targets.len().min(DOC_VIEW_TOKENS);
        Some(DocView {
            title: d.title.clone(),
            pieces: d.targets[..n]
                .iter()
                .map(|&t| self.splits.tokenizer.piece(t))
                .collect(),
            base: d.base[..n].to_vec(),
            dyneval: d.dyneval[..n].to_vec(),
            fwl: d.fwl[..n].to_vec(),
        })
    }
}

impl Lab for FwlLab {
    const ID: &'static str = "fwl";
    const NAME: &'static str = "Fast Weight Layers";
    const PAPER: &'static str = "Clark, Guu, Chang, Pasupat, Hinton & Norouzi 2022, Meta-Learning Fast Weight Language Models";
    const SUMMARY: &'static str = "A language model that adapts to the document it reads. \
        Dynamic evaluation takes an SGD step after scoring each chunk; a Fast Weight Layer \
        expresses those updates as strictly causal linear attention over per-token gradients, \
        so every position gets the earlier tokens' gradients in one parallel pass, and it is \
        trained with them (meta-learned step sizes). Baseline, baseline + dynamic evaluation \
        and FWL race on the same seed and batches, scored on whole held-out documents.";
    const TINY: &'static [&'static str] = &[
        "d_model=16",
        "layers=1",
        "heads=2",
        // In this order: each setting is validated as it is applied.
        "chunk=16",
        "context=16",
        "span=32",
        "fw_size=8",
        "batch=2",
        "eval_every=2",
        "valid_tokens=32",
        "test_tokens=64",
        "test_docs=1",
        "valid_docs=1",
        "sample_tokens=5",
    ];

    type Config = FwlConfig;
    type View = FwlView;
    type Action = FwlAction;

    fn new(cfg: FwlConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let corpus = Corpus::load(cfg.corpus)?;
        let parts = corpus.split(cfg.valid_docs, cfg.test_docs);
        let tok = Arc::new(crate::lm::tokenizer::build(
            cfg.tokenizer,
            cfg.bpe_vocab,
            &corpus,
            &parts,
        )?);
        let splits = Splits::new(&corpus, &parts, tok);
        let corpus_words = eval::word_counts(corpus.texts_in(&parts, Part::Train));
        let shape = cfg.shape(splits.tokenizer.vocab_size());
        let root = Rng::new(cfg.seed);
        // Same initial weights for both: the race differs only in the fast weights.
        let base = FwlModel::new(
            shape,
            cfg.fw_size,
            cfg.chunk,
            &mut root.fork(STREAM_INIT),
            &device,
        );
        let fwl = FwlModel::new(
            shape,
            cfg.fw_size,
            cfg.chunk,
            &mut root.fork(STREAM_INIT),
            &device,
        );
        let t = cfg.train();
        Ok(FwlLab {
            base_opt: t.optimizer(),
            fwl_opt: t.optimizer(),
            rng_data: root.fork(STREAM_DATA),
            root,
            splits,
            corpus_words,
            base,
            fwl,
            cfg,
            device,
            step: 0,
            valid: Vec::new(),
            etas: Vec::new(),
            scores: None,
            sample: None,
            samples_drawn: 0,
            version: 0,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let (span, b) = (self.cfg.span, self.cfg.batch);
        let (x, y) =
            sample_windows(&self.splits.train, b, span, &mut self.rng_data).ok_or_else(|| {
                LabError::data("training documents", "no document is longer than the span")
            })?;
        let xt = int_tensor(&x, b, span, &self.device);
        let yt = int_tensor(&y, b, span, &self.device);
        let lr = self.cfg.train().lr_at(self.step);
        report.push("lr", lr);
        let loss = self.base.losses_with(xt.clone(), yt.clone(), false).mean();
        report.push("loss_base", scalar(loss.clone().detach())?);
        self.base = descend(self.base.clone(), loss, &mut self.base_opt, lr);
        let loss = self.fwl.losses_with(xt, yt, true).mean();
        report.push("loss_fwl", scalar(loss.clone().detach())?);
        self.fwl = descend(self.fwl.clone(), loss, &mut self.fwl_opt, lr);
        self.step += 1;
        let etas = self.step_sizes()?;
        for (name, v) in block::STEP_NAMES.iter().zip(etas) {
            report.push(format!("eta {name}"), v);
        }
        self.etas.push((self.step, etas));
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            let (vb, vf) = self.validate()?;
            report.push("val_base", vb);
            report.push("val_fwl", vf);
            self.valid.push((self.step, vb, vf));
            self.version += 1;
        }
        Ok(report)
    }

    fn view(&self) -> FwlView {
        FwlView {
            step: self.step,
            planned: self.cfg.steps,
            data: format!(
                "{:?}, {} tokeniser ({} ids), {} training tokens, {} test documents",
                self.cfg.corpus,
                match self.cfg.tokenizer {
                    TokenizerKind::Char => "character",
                    TokenizerKind::Bpe => "byte-level BPE",
                },
                self.splits.tokenizer.vocab_size(),
                self.splits.train_tokens(),
                self.splits.test.len()
            ),
            valid: self.valid.clone(),
            steps: self.etas.clone(),
            test: self.test_view(),
            doc: self.doc_view(),
            sample: self.sample.clone(),
            dyn_lr: self.cfg.dyn_lr,
            dyn_scope: format!("{:?}", self.cfg.dyn_scope).to_lowercase(),
            fwl_eval: self.cfg.fwl_eval,
            temperature: self.cfg.temperature,
        }
    }

    fn view_version(&self) -> Option<u64> {
        Some(self.version * 1_000_000 + self.step)
    }

    fn config(&self) -> &FwlConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut FwlConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "dyn_lr",
                "dynamic eval: learning rate",
                "SGD learning rate of dynamic evaluation (next evaluation).",
            ),
            Knob::new(
                "dyn_steps",
                "dynamic eval: steps per chunk",
                "SGD steps on each chunk after scoring it.",
            ),
            Knob::new(
                "dyn_scope",
                "dynamic eval: scope",
                "Adapt all weights, the last block and head, or only the FW head.",
            ),
            Knob::new(
                "fwl_eval",
                "FWL on at evaluation",
                "Off: the FWL model's slow logits (its fast weights unused).",
            ),
            Knob::new(
                "lr",
                "learning rate",
                "Peak AdamW learning rate of both models.",
            ),
            Knob::new(
                "temperature",
                "sampling temperature",
                "Temperature of \"continue this text\" (0 = greedy).",
            ),
        ];
        KNOBS
    }

    fn headline(_: &FwlConfig) -> Vec<&'static str> {
        vec![
            "ppl_base",
            "ppl_dyneval",
            "ppl_fwl",
            "cost_fwl",
            "cost_dyneval",
        ]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.steps)
    }

    fn act(&mut self, action: FwlAction) -> Result<ActionReport, LabError> {
        match action {
            FwlAction::Evaluate => {
                let mut metrics = StepReport::default();
                self.evaluate(&mut metrics)?;
                Ok(ActionReport {
                    message: String::new(),
                    metrics,
                })
            }
            FwlAction::Continue { prompt } => {
                if prompt.chars().count() > 2000 {
                    return Err(LabError::Action(
                        "the prompt is over 2,000 characters".into(),
                    ));
                }
                self.continue_text(&prompt)
            }
        }
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let (vb, vf) = self.validate()?;
        report.push("val_base", vb);
        report.push("val_fwl", vf);
        self.valid.push((self.step, vb, vf));
        self.evaluate(&mut report)?;
        Ok(report)
    }

    fn results(&self) -> Results {
        let mut out = Results::default();
        if !self.valid.is_empty() {
            out.curves.push(CurveSet {
                name: "validation_loss".into(),
                title: "Validation loss during training (held-out documents)".into(),
                x_label: "training step".into(),
                y_label: "nats per token".into(),
                lines: vec![
                    Line {
                        label: "baseline".into(),
                        x: self.valid.iter().map(|v| v.0 as f64).collect(),
                        y: self.valid.iter().map(|v| v.1).collect(),
                    },
                    Line {
                        label: "FWL".into(),
                        x: self.valid.iter().map(|v| v.0 as f64).collect(),
                        y: self.valid.iter().map(|v| v.2).collect(),
                    },
                ],
            });
        }
        if !self.etas.is_empty() {
            out.curves.push(CurveSet {
                name: "step_sizes".into(),
                title: "FWL learned step sizes".into(),
                x_label: "training step".into(),
                y_label: "step size η".into(),
                lines: (0..6)
                    .map(|i| Line {
                        label: block::STEP_NAMES[i].into(),
                        x: self.etas.iter().map(|e| e.0 as f64).collect(),
                        y: self.etas.iter().map(|e| e.1[i]).collect(),
                    })
                    .collect(),
            });
        }
        let Some(t) = self.test_view() else {
            return out;
        };
        for (name, title, x_label, pts) in [
            (
                "gain_by_position",
                "Loss improvement over the baseline by position in the document",
                "token position in the document (bin start)",
                &t.by_position,
            ),
            (
                "gain_by_span_position",
                "Loss improvement by position within the FWL span",
                "token position within the span (bin start)",
                &t.by_span_position,
            ),
        ] {
            out.curves.push(CurveSet {
                name: name.into(),
                title: title.into(),
                x_label: x_label.into(),
                y_label: "baseline loss − method loss (nats per token)".into(),
                lines: vec![
                    Line {
                        label: "dynamic evaluation".into(),
                        x: pts.iter().map(|p| p.0).collect(),
                        y: pts.iter().map(|p| p.1).collect(),
                    },
                    Line {
                        label: "FWL".into(),
                        x: pts.iter().map(|p| p.0).collect(),
                        y: pts.iter().map(|p| p.2).collect(),
                    },
                ],
            });
        }
        out.tables.push(Table {
            name: "race".into(),
            title: format!(
                "Held-out test documents ({} documents, {} tokens each method)",
                t.docs, t.tokens
            ),
            columns: vec![
                "method".into(),
                "perplexity per token".into(),
                "counted cost vs baseline".into(),
                "measured tokens/s".into(),
            ],
            rows: vec![
                vec![
                    Cell::Text("baseline".into()),
                    Cell::Num(t.ppl[0]),
                    Cell::Num(1.0),
                    Cell::Num(t.tokens_per_s[0]),
                ],
                vec![
                    Cell::Text("baseline + dynamic evaluation".into()),
                    Cell::Num(t.ppl[1]),
                    Cell::Num(t.cost[0]),
                    Cell::Num(t.tokens_per_s[1]),
                ],
                vec![
                    Cell::Text("FWL".into()),
                    Cell::Num(t.ppl[2]),
                    Cell::Num(t.cost[1]),
                    Cell::Num(t.tokens_per_s[2]),
                ],
            ],
        });
        out.tables.push(Table {
            name: "occurrences".into(),
            title: format!(
                "Improvement by word occurrence (rare: under {} training occurrences)",
                eval::RARE_BELOW
            ),
            columns: vec![
                "tokens in".into(),
                "tokens".into(),
                "baseline nats/token".into(),
                "dyneval gain".into(),
                "FWL gain".into(),
            ],
            rows: t
                .occurrences
                .iter()
                .map(|(l, n, b, g1, g2)| {
                    vec![
                        Cell::Text(l.clone()),
                        Cell::Num(*n as f64),
                        Cell::Num(*b),
                        Cell::Num(*g1),
                        Cell::Num(*g2),
                    ]
                })
                .collect(),
        });
        out
    }

    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        let mut out = Vec::new();
        if let Tokenizer::Bpe(b) = self.splits.tokenizer.as_ref()
            && let Ok(json) = b.to_json()
            && let Ok(v) = serde_json::from_str(&json)
        {
            out.push(("bpe_tokenizer".to_string(), v));
        }
        if let Some(t) = self.test_view() {
            out.push((
                "fwl_eval".to_string(),
                serde_json::json!({
                    "step": t.step,
                    "ppl": {"base": t.ppl[0], "dyneval": t.ppl[1], "fwl": t.ppl[2]},
                    "counted_cost": {"dyneval": t.cost[0], "fwl": t.cost[1]},
                    "measured_tokens_per_s": {"base": t.tokens_per_s[0], "dyneval": t.tokens_per_s[1], "fwl": t.tokens_per_s[2]},
                    "measured_cost": {
                        "dyneval": t.tokens_per_s[0] / t.tokens_per_s[1].max(1e-9),
                        "fwl": t.tokens_per_s[0] / t.tokens_per_s[2].max(1e-9),
                    },
                    "gain_by_position": t.by_position,
                    "gain_by_span_position": t.by_span_position,
                    "occurrences": t.occurrences,
                    "test_docs": t.docs,
                    "tokens_per_method": t.tokens,
                }),
            ));
        }
        out
    }
}
