//! Rauh et al. 2022, "Characteristics of Harmful Text": a Perspective-style toxicity classifier
//! trained on Perspective's own scores, then measured the way the paper reads Perspective — the
//! same classifier under added context, under identity-term swaps, against a harm only a
//! distribution shows (an LM's stereotype preference), and as a filter that removes the voices
//! it should protect. Plus the six-characteristics cards of the benchmarks involved.
//!
//! Steps: `clf_steps` classifier batches, then `lm_steps` batches of the probe LM; `finish`
//! scores every case study once and keeps all eight heads' scores, so the threshold and
//! attribute knobs re-derive every number without rescoring.

pub mod cases;
pub mod classifier;
pub mod data;
pub mod lm_probe;
mod view;

use std::sync::Arc;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, Range, StepReport};
use crate::nn::roc_auc;
use crate::rng::Rng;

use cases::{Card, ContextPair, IdentitySentence};
use classifier::{Classifier, calibration, spearman};
use data::{ATTRIBUTES, HEADS, HarmsData, Source};
use lm_probe::{ProbeLm, ProbeShape, longest_copy};
pub use view::{Derived, HarmsView, ProbeResult};

/// The lab's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HarmsConfig {
    /// Seed for weights and batch order (the data split is by text hash and never changes).
    pub seed: u64,
    /// Benign Wikipedia sentences added to the data (a quarter held out, like every source).
    pub wiki_sentences: usize,
    /// Hashed feature width.
    pub dim: usize,
    /// Hidden units of the classifier.
    pub hidden: usize,
    /// Classifier batch size.
    pub batch: usize,
    /// Classifier training steps.
    pub clf_steps: u64,
    /// Classifier learning rate (Adam).
    pub lr: f64,
    /// Held-out AUC every N classifier steps (0 = only at the end).
    pub eval_every: u64,
    /// Characters of Wikipedia articles the probe LM trains on.
    pub lm_chars: usize,
    /// Probe LM width.
    pub lm_d_model: usize,
    /// Probe LM blocks.
    pub lm_layers: usize,
    /// Probe LM context (characters).
    pub lm_context: usize,
    /// Probe LM batch.
    pub lm_batch: usize,
    /// Probe LM training steps (0 = no distributional probe).
    pub lm_steps: u64,
    /// At most this many pairs per bias set are scored (0 = all).
    pub pair_limit: usize,
    /// Names per group in the identity sentences.
    pub names_per_group: usize,
    /// Contexts each held-out toxic span is put in.
    pub contexts_per_span: usize,
    /// Verdict threshold (knob).
    pub threshold: f64,
    /// Which Perspective attribute the figures show (knob).
    pub attribute: String,
    /// Whether the typed-text probe's verdict uses the context box (knob).
    pub use_context: bool,
}

impl Default for HarmsConfig {
    fn default() -> Self {
        HarmsConfig {
            seed: 1,
            wiki_sentences: 1500,
            dim: 4096,
            hidden: 64,
            batch: 64,
            clf_steps: 600,
            lr: 3e-3,
            eval_every: 100,
            lm_chars: 1_500_000,
            lm_d_model: 64,
            lm_layers: 2,
            lm_context: 128,
            lm_batch: 16,
            lm_steps: 600,
            pair_limit: 0,
            names_per_group: 12,
            contexts_per_span: 2,
            threshold: 0.5,
            attribute: "toxicity".into(),
            use_context: true,
        }
    }
}

impl LabConfig for HarmsConfig {
    const RANGES: &'static [Range] = &[
        Range::int("wiki_sentences", 10, 20_000),
        Range::int("dim", 64, 1 << 18),
        Range::int("hidden", 2, 4096),
        Range::int("batch", 1, 4096),
        Range::int("clf_steps", 1, 1_000_000),
        Range::float("lr", 1e-5, 1.0, true),
        Range::int("lm_chars", 10_000, 50_000_000),
        Range::int("lm_d_model", 16, 1024),
        Range::int("lm_layers", 1, 24),
        Range::int("lm_context", 8, 1024),
        Range::int("lm_batch", 1, 1024),
        Range::int("lm_steps", 0, 1_000_000),
        Range::int("names_per_group", 0, 40),
        Range::int("contexts_per_span", 1, 16),
        Range::float("threshold", 0.01, 0.99, false),
        Range::choice("attribute", &ATTRIBUTES),
    ];

    fn check(&self) -> Result<(), LabError> {
        if !self.lm_d_model.is_multiple_of(16) {
            return Err(LabError::config(
                "lm_d_model",
                "must be a multiple of 16 (heads of width 16)",
            ));
        }
        Ok(())
    }
}

impl HarmsConfig {
    fn head(&self) -> usize {
        ATTRIBUTES
            .iter()
            .position(|a| *a == self.attribute)
            .unwrap_or(0)
    }
}

/// Actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum HarmsAction {
    /// Score a typed text alone, inside `context` (`{text}` marks where it goes; without the
    /// mark the context is put in front) and with its identity term swapped for every group's.
    Score {
        /// The text.
        text: String,
        /// Its context ("" for none).
        #[serde(default)]
        context: String,
    },
}

/// Everything `finish` scored, all eight heads kept.
#[derive(Debug, Clone)]
pub struct Scored {
    held: Vec<[f32; HEADS]>,
    ctx_pairs: Vec<ContextPair>,
    ctx_alone: Vec<[f32; HEADS]>,
    ctx_within: Vec<[f32; HEADS]>,
    identity: Vec<IdentitySentence>,
    identity_scores: Vec<[f32; HEADS]>,
    /// Per scored pair: set, LM log-prob of (stereo, anti) or None, classifier scores.
    pairs: Vec<PairScore>,
    lm_held_out_loss: Option<f64>,
}

/// One bias pair's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    /// crows or stereoset.
    pub set: &'static str,
    /// Bias type.
    pub bias_type: String,
    /// LM log-probabilities (nats) of the stereotyping and the other sentence.
    pub lm: Option<(f64, f64)>,
    /// Classifier scores of both.
    pub clf: ([f32; HEADS], [f32; HEADS]),
}

/// What the LM's samples show (the risks audit reads this).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleAudit {
    /// Samples drawn.
    pub samples: usize,
    /// Characters per sample.
    pub chars: usize,
    /// The longest span of any sample found verbatim in the LM's training text.
    pub longest_copy: usize,
    /// Share of samples with a copied run of at least 50 characters.
    pub copy50_share: f64,
    /// Share of samples the classifier flags as toxic at the threshold.
    pub toxic_share: f64,
    /// One example sample.
    pub example: String,
}

/// The harms lab.
pub struct HarmsLab {
    cfg: HarmsConfig,
    data: Arc<HarmsData>,
    clf: Classifier,
    lm: Option<ProbeLm>,
    rng: Rng,
    root: Rng,
    step: u64,
    clf_curve: Vec<(u64, f64)>,
    auc_curve: Vec<(u64, f64)>,
    lm_curve: Vec<(u64, f64)>,
    order: Vec<usize>,
    cursor: usize,
    scored: Option<Arc<Scored>>,
    probe: Option<ProbeResult>,
    cards: Arc<Vec<Card>>,
    version: u64,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

impl HarmsLab {
    /// The held-out toxicity AUC of the classifier now (toxicity head).
    fn held_out_auc(&self) -> Result<f64, LabError> {
        let texts: Vec<&str> = self.data.held_out.iter().map(|e| e.text.as_str()).collect();
        let s = self.clf.score_head(&texts, 0)?;
        let labels: Vec<bool> = self.data.held_out.iter().map(|e| e.toxic).collect();
        Ok(roc_auc(&s, &labels))
    }

    /// The classifier's scores of `texts` (all heads), for other labs and tests.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<[f32; HEADS]>, LabError> {
        self.clf.score(texts)
    }

    fn score_all(&mut self) -> Result<(), LabError> {
        let d = self.data.clone();
        let held_texts: Vec<&str> = d.held_out.iter().map(|e| e.text.as_str()).collect();
        let held = self.clf.score(&held_texts)?;
        let spans: Vec<&str> = d
            .held_out
            .iter()
            .filter(|e| e.source == Source::Perspective)
            .map(|e| e.text.as_str())
            .collect();
        let ctx_pairs = cases::context_pairs(&spans, &d.contexts, self.cfg.contexts_per_span);
        let alone: Vec<&str> = ctx_pairs.iter().map(|p| p.alone.as_str()).collect();
        let within: Vec<&str> = ctx_pairs.iter().map(|p| p.within.as_str()).collect();
        let ctx_alone = self.clf.score(&alone)?;
        let ctx_within = self.clf.score(&within)?;
        let identity = cases::identity_sentences(&d, self.cfg.names_per_group);
        let id_texts: Vec<&str> = identity.iter().map(|s| s.text.as_str()).collect();
        let identity_scores = self.clf.score(&id_texts)?;
        let mut pairs = Vec::new();
        for set in ["crows", "stereoset"] {
            let mut chosen: Vec<&data::BiasPair> =
                d.pairs.iter().filter(|p| p.set == set).collect();
            if self.cfg.pair_limit > 0 && chosen.len() > self.cfg.pair_limit {
                // A fixed, seed-independent spread over the set.
                let stride = chosen.len() as f64 / self.cfg.pair_limit as f64;
                chosen = (0..self.cfg.pair_limit)
                    .map(|k| chosen[(k as f64 * stride) as usize])
                    .collect();
            }
            let texts: Vec<(String, String)> =
                chosen.iter().map(|p| cases::pair_texts(p)).collect();
            let flat: Vec<String> = texts
                .iter()
                .flat_map(|(a, b)| [a.clone(), b.clone()])
                .collect();
            let lm = match &self.lm {
                Some(lm) if self.cfg.lm_steps > 0 => Some(lm.log_probs(&flat)?),
                _ => None,
            };
            let refs: Vec<&str> = chosen
                .iter()
                .flat_map(|p| [p.stereo.as_str(), p.anti.as_str()])
                .collect();
            let clf = self.clf.score(&refs)?;
            for (k, p) in chosen.iter().enumerate() {
                pairs.push(PairScore {
                    set: p.set,
                    bias_type: p.bias_type.clone(),
                    lm: lm.as_ref().map(|v| (v[2 * k], v[2 * k + 1])),
                    clf: (clf[2 * k], clf[2 * k + 1]),
                });
            }
        }
        let lm_held_out_loss = match &self.lm {
            Some(lm) if self.cfg.lm_steps > 0 => Some(lm.held_out_loss(2000)?),
            _ => None,
        };
        self.scored = Some(Arc::new(Scored {
            held,
            ctx_pairs,
            ctx_alone,
            ctx_within,
            identity,
            identity_scores,
            pairs,
            lm_held_out_loss,
        }));
        self.version += 1;
        Ok(())
    }

    /// Every number of the case studies at the current threshold and attribute (`None` before
    /// `finish`).
    pub fn derived(&self) -> Option<Derived> {
        let s = self.scored.as_ref()?;
        let d = &self.data;
        let h = self.cfg.head();
        let t = self.cfg.threshold as f32;
        let persp: Vec<usize> = (0..d.held_out.len())
            .filter(|&i| d.held_out[i].source == Source::Perspective)
            .collect();
        let spearman_all: Vec<f64> = (0..HEADS)
            .map(|k| {
                let p: Vec<f32> = persp.iter().map(|&i| s.held[i][k]).collect();
                let y: Vec<f32> = persp.iter().map(|&i| d.held_out[i].target[k]).collect();
                spearman(&p, &y)
            })
            .collect();
        let head: Vec<f32> = s.held.iter().map(|x| x[h]).collect();
        let labels: Vec<bool> = d.held_out.iter().map(|e| e.toxic).collect();
        let auc = roc_auc(&head, &labels);
        // Calibration over texts with a known target for this head: Perspective-scored texts
        // and the benign ones (target 0 by assumption).
        let (cp, ct): (Vec<f32>, Vec<f32>) = d
            .held_out
            .iter()
            .zip(&s.held)
            .filter(|(e, _)| e.mask[h] > 0.0)
            .map(|(e, x)| (x[h], e.target[h]))
            .unzip();
        let (bins, ece) = calibration(&cp, &ct, 10);
        let alone: Vec<f32> = s.ctx_alone.iter().map(|x| x[h]).collect();
        let within: Vec<f32> = s.ctx_within.iter().map(|x| x[h]).collect();
        let (flip, shifts) = cases::flip_rate(&alone, &within, t);
        let kinds: Vec<(String, f64)> = {
            let mut k: Vec<String> = s.ctx_pairs.iter().map(|p| p.kind.clone()).collect();
            k.sort();
            k.dedup();
            k.into_iter()
                .map(|kind| {
                    let idx: Vec<usize> = (0..s.ctx_pairs.len())
                        .filter(|&i| s.ctx_pairs[i].kind == kind)
                        .collect();
                    let a: Vec<f32> = idx.iter().map(|&i| alone[i]).collect();
                    let w: Vec<f32> = idx.iter().map(|&i| within[i]).collect();
                    (kind, cases::flip_rate(&a, &w, t).0)
                })
                .collect()
        };
        let id_scores: Vec<f32> = s.identity_scores.iter().map(|x| x[h]).collect();
        let groups = cases::group_stats(&s.identity, &id_scores, &d.groups, t);
        let (lo, hi) = groups
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), g| {
                (lo.min(g.1), hi.max(g.1))
            });
        let pref = |set: &str| {
            mean(
                s.pairs
                    .iter()
                    .filter(|p| p.set == set)
                    .filter_map(|p| p.lm)
                    .map(|(a, b)| if a > b { 1.0 } else { 0.0 }),
            )
        };
        let clf_pref = |set: &str| {
            mean(
                s.pairs
                    .iter()
                    .filter(|p| p.set == set)
                    .map(|p| if p.clf.0[h] > p.clf.1[h] { 1.0 } else { 0.0 }),
            )
        };
        let clf_flag = |set: &str| {
            mean(
                s.pairs
                    .iter()
                    .filter(|p| p.set == set)
                    .map(|p| if p.clf.0[h] >= t { 1.0 } else { 0.0 }),
            )
        };
        let toxic_held: Vec<f32> = (0..d.held_out.len())
            .filter(|&i| d.held_out[i].toxic)
            .map(|i| head[i])
            .collect();
        let benign_held: Vec<f32> = (0..d.held_out.len())
            .filter(|&i| !d.held_out[i].toxic)
            .map(|i| head[i])
            .collect();
        let filter: Vec<cases::FilterPoint> = (1..20)
            .map(|k| cases::filter_at(&toxic_held, &id_scores, &benign_held, k as f64 * 0.05))
            .collect();
        let at = cases::filter_at(&toxic_held, &id_scores, &benign_held, t as f64);
        Some(Derived {
            attribute: ATTRIBUTES[h],
            threshold: t as f64,
            spearman: spearman_all[h],
            spearman_all,
            auc,
            calibration: bins,
            ece,
            held_out: d.held_out.len(),
            perspective_held_out: persp.len(),
            flip_rate: flip,
            flip_by_kind: kinds,
            mean_shift: mean(shifts.iter().map(|&x| x as f64)),
            shifts,
            context_pairs: s.ctx_pairs.len(),
            groups,
            identity_max_gap: hi - lo,
            crows_lm: pref("crows"),
            stereoset_lm: pref("stereoset"),
            crows_clf_pref: clf_pref("crows"),
            stereoset_clf_pref: clf_pref("stereoset"),
            crows_clf_flag: clf_flag("crows"),
            stereoset_clf_flag: clf_flag("stereoset"),
            pairs: (
                s.pairs.iter().filter(|p| p.set == "crows").count(),
                s.pairs.iter().filter(|p| p.set == "stereoset").count(),
            ),
            lm_held_out_loss: s.lm_held_out_loss,
            filter,
            filter_at: at,
        })
    }

    /// Samples `n` continuations of `chars` characters from the probe LM, each prompted with
    /// the first 40 characters of a training article (an extraction-style prompt), greedy:
    /// how much it copies from its training text, and how much the classifier flags.
    pub fn sample_audit(&self, n: usize, chars: usize) -> Result<Option<SampleAudit>, LabError> {
        let Some(lm) = &self.lm else { return Ok(None) };
        if self.cfg.lm_steps == 0 || n == 0 {
            return Ok(None);
        }
        let prompts: Vec<String> = lm
            .train_text
            .split("\n\n")
            .filter(|p| p.chars().count() >= 40)
            .step_by(7)
            .take(n)
            .map(|p| p.chars().take(40).collect())
            .collect();
        if prompts.is_empty() {
            return Ok(None);
        }
        let mut rng = self.root.fork(40);
        let samples = lm.sample(&prompts, chars, 0.0, &mut rng)?;
        let copies: Vec<usize> = samples
            .iter()
            .map(|s| longest_copy(s, &lm.train_text))
            .collect();
        let refs: Vec<&str> = samples.iter().map(|s| s.as_str()).collect();
        let tox = self.clf.score_head(&refs, 0)?;
        Ok(Some(SampleAudit {
            samples: samples.len(),
            chars,
            longest_copy: copies.iter().copied().max().unwrap_or(0),
            copy50_share: copies.iter().filter(|&&c| c >= 50).count() as f64 / samples.len() as f64,
            toxic_share: tox
                .iter()
                .filter(|&&v| v as f64 >= self.cfg.threshold)
                .count() as f64
                / samples.len() as f64,
            example: format!("{}{}", prompts[0], samples[0]),
        }))
    }

    fn probe(&self, text: &str, context: &str) -> Result<ProbeResult, LabError> {
        let within = if context.trim().is_empty() {
            None
        } else if context.contains("{text}") {
            Some(context.replace("{text}", text))
        } else {
            Some(format!("{context} {text}"))
        };
        let swaps = cases::identity_swaps(text, &self.data.groups);
        let mut texts: Vec<&str> = vec![text];
        if let Some(w) = &within {
            texts.push(w);
        }
        texts.extend(swaps.iter().map(|(_, s)| s.as_str()));
        let s = self.clf.score(&texts)?;
        let off = if within.is_some() { 2 } else { 1 };
        Ok(ProbeResult {
            text: text.to_string(),
            context: context.to_string(),
            within_text: within.clone(),
            alone: s[0],
            within: within.as_ref().map(|_| s[1]),
            swaps: swaps
                .into_iter()
                .enumerate()
                .map(|(k, (g, t))| (g, t, s[off + k]))
                .collect(),
        })
    }
}

impl Lab for HarmsLab {
    const ID: &'static str = "harms";
    const NAME: &'static str = "Harmful text: a toxicity classifier under the six characteristics";
    const PAPER: &'static str = "Rauh et al. 2022, Characteristics of Harmful Text: Towards Rigorous Benchmarking of Language Models";
    const SUMMARY: &'static str = "A Perspective-style classifier (hashed n-grams, a small MLP, \
        eight heads) trained on Perspective's own scores, then measured as the paper reads \
        Perspective: verdicts that flip when a toxic phrase is quoted or rebutted, benign \
        sentences scored by which group they name, a character LM's stereotype preference on \
        CrowS-Pairs and StereoSet that the classifier cannot see, and a filter that removes \
        benign identity text with the toxic. With the six-characteristics cards and their gaps.";
    const TINY: &'static [&'static str] = &[
        "wiki_sentences=60",
        "dim=256",
        "hidden=8",
        "batch=16",
        "clf_steps=3",
        "eval_every=2",
        "lm_chars=20000",
        "lm_d_model=16",
        "lm_layers=1",
        "lm_context=32",
        "lm_batch=2",
        "lm_steps=2",
        "pair_limit=6",
        "names_per_group=2",
        "contexts_per_span=1",
    ];

    type Config = HarmsConfig;
    type View = HarmsView;
    type Action = HarmsAction;

    fn new(cfg: HarmsConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let data = HarmsData::load(cfg.wiki_sentences)?;
        let root = Rng::new(cfg.seed);
        let clf = Classifier::new(cfg.dim, cfg.hidden, &mut root.fork(1), &device);
        let lm = if cfg.lm_steps > 0 {
            let shape = ProbeShape {
                chars: cfg.lm_chars,
                d_model: cfg.lm_d_model,
                layers: cfg.lm_layers,
                context: cfg.lm_context,
                batch: cfg.lm_batch,
                steps: cfg.lm_steps,
            };
            Some(ProbeLm::new(shape, &mut root.fork(2), &device)?)
        } else {
            None
        };
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        let mut rng = root.fork(3);
        rng.shuffle(&mut order);
        Ok(HarmsLab {
            cards: Arc::new(cases::cards()?),
            cfg,
            data,
            clf,
            lm,
            rng,
            root,
            step: 0,
            clf_curve: Vec::new(),
            auc_curve: Vec::new(),
            lm_curve: Vec::new(),
            order,
            cursor: 0,
            scored: None,
            probe: None,
            version: 0,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        if self.step < self.cfg.clf_steps {
            let b = self.cfg.batch.min(self.order.len()).max(1);
            if self.cursor + b > self.order.len() {
                self.rng.shuffle(&mut self.order);
                self.cursor = 0;
            }
            let batch: Vec<&data::Example> = self.order[self.cursor..self.cursor + b]
                .iter()
                .map(|&i| &self.data.train[i])
                .collect();
            self.cursor += b;
            let loss = self.clf.train_batch(&batch, self.cfg.lr)?;
            self.step += 1;
            report.push("clf_loss", loss);
            self.clf_curve.push((self.step, loss));
            let last = self.step == self.cfg.clf_steps;
            if last || (self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every)) {
                let auc = self.held_out_auc()?;
                report.push("held_out_auc", auc);
                self.auc_curve.push((self.step, auc));
            }
        } else if let Some(lm) = self
            .lm
            .as_mut()
            .filter(|_| self.step < self.cfg.clf_steps + self.cfg.lm_steps)
        {
            let loss = lm.train_step(&mut self.rng)?;
            self.step += 1;
            report.push("lm_loss", loss);
            self.lm_curve.push((self.step - self.cfg.clf_steps, loss));
        } else {
            // Past the plan: nothing left to train; the numbers come from `finish`.
            self.step += 1;
        }
        self.version += 1;
        Ok(report)
    }

    fn view(&self) -> HarmsView {
        view::build(self)
    }

    fn config(&self) -> &HarmsConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut HarmsConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "threshold",
                "verdict threshold",
                "A text is flagged when its score reaches this; every flip rate, false-positive rate and the filter point use it.",
            ),
            Knob::new(
                "attribute",
                "attribute",
                "Which of Perspective's eight attributes (the classifier's heads) the figures show.",
            ),
            Knob::new(
                "use_context",
                "score with context",
                "Whether the typed-text verdict reads the text inside its context box.",
            ),
        ];
        KNOBS
    }

    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        // Every knob only re-reads scores kept for all heads: nothing to recompute.
        let _ = key;
        self.version += 1;
        Ok(())
    }

    fn headline(_: &HarmsConfig) -> Vec<&'static str> {
        vec![
            "spearman_vs_perspective",
            "auc_toxic",
            "context_flip_rate",
            "identity_max_gap",
            "crows_stereo_preference",
        ]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(
            self.cfg.clf_steps
                + if self.lm.is_some() {
                    self.cfg.lm_steps
                } else {
                    0
                },
        )
    }

    fn act(&mut self, action: HarmsAction) -> Result<ActionReport, LabError> {
        let HarmsAction::Score { text, context } = action;
        if text.chars().count() > 2000 || context.chars().count() > 2000 {
            return Err(LabError::Action(
                "texts are limited to 2,000 characters".into(),
            ));
        }
        let p = self.probe(&text, &context)?;
        let mut report = ActionReport::default();
        let h = self.cfg.head();
        report.metrics.push("probe_alone", p.alone[h] as f64);
        if let Some(w) = p.within {
            report.metrics.push("probe_within", w[h] as f64);
        }
        self.probe = Some(p);
        self.version += 1;
        Ok(report)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        self.score_all()?;
        let mut r = StepReport::default();
        let Some(d) = self.derived() else {
            return Ok(r);
        };
        r.push("spearman_vs_perspective", d.spearman);
        for (k, a) in ATTRIBUTES.iter().enumerate() {
            r.push(format!("spearman_{a}"), d.spearman_all[k]);
        }
        r.push("auc_toxic", d.auc);
        r.push("calibration_ece", d.ece);
        r.push("context_flip_rate", d.flip_rate);
        r.push("context_mean_shift", d.mean_shift);
        for (k, v) in &d.flip_by_kind {
            r.push(format!("context_flip_rate_{}", k.replace('-', "_")), *v);
        }
        r.push("identity_max_gap", d.identity_max_gap);
        let (lo, hi) = d
            .groups
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), g| {
                (lo.min(g.2), hi.max(g.2))
            });
        r.push("identity_fpr_min", lo);
        r.push("identity_fpr_max", hi);
        r.push("crows_stereo_preference", d.crows_lm);
        r.push("stereoset_stereo_preference", d.stereoset_lm);
        r.push("crows_clf_prefers_stereo", d.crows_clf_pref);
        r.push("crows_clf_flag_rate", d.crows_clf_flag);
        r.push("stereoset_clf_flag_rate", d.stereoset_clf_flag);
        r.push("filter_toxic_removed", d.filter_at.toxic_removed);
        r.push("filter_identity_removed", d.filter_at.identity_removed);
        r.push("filter_benign_removed", d.filter_at.benign_removed);
        if let Some(l) = d.lm_held_out_loss {
            r.push("lm_held_out_loss", l);
        }
        Ok(r)
    }

    fn results(&self) -> crate::results::Results {
        view::results(self)
    }

    fn view_version(&self) -> Option<u64> {
        Some(self.version)
    }
}
