//! Sparrow (Glaese et al. 2022) at small scale: rules as data judged one at a time, a
//! rule-conditional reward model against per-rule and general classifiers, a Bradley-Terry
//! preference model trained from a simulated rater, evidence from BM25 search over BoolQ's
//! Wikipedia paragraphs with a learned re-ranker and yes/no reader, and re-ranking @N.
//!
//! The candidate generator is a stand-in for the dialogue language model (see [`generate`]);
//! everything else is learned and measured.

pub mod action;
pub mod calibrate;
pub mod chat;
pub mod config;
pub mod corpus;
pub mod dialogue;
pub mod evaluate;
pub mod feedback;
pub mod generate;
pub mod kind;
pub mod qa;
pub mod reader;
mod retrain;
pub mod rm;
pub mod scorer;
pub mod search;
mod tasks;
mod view;

use std::sync::Arc;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

use crate::data::text::{self, Sparse};
use crate::error::LabError;
use crate::lab::{ActionReport, Knob, KnobValue, Lab, LabConfig, StepReport};
use crate::rng::Rng;

pub use action::SparrowAction;
pub use config::SparrowConfig;
use corpus::{Corpus, Question};
use dialogue::{Dialogue, Judgement};
use evaluate::SystemResult;
use generate::{Context, Generator, pref_features, rater_prefers_first};
use qa::{Outcome, Qa};
use reader::{READER_DIM, RERANK_DIM, reader_features, rerank_all};
use rm::{AucReport, RuleModels};
use scorer::{Fit, Scorer, adam, epoch_binary, epoch_pairs, train_in_place};
use search::{Hit, SearchIndex};
pub use view::SparrowView;

/// Decline threshold on the uncalibrated confidence (P(paragraph) x reader confidence), used
/// only when there are no validation questions to calibrate on.
pub const RAW_THRESHOLD: f64 = 0.65;

/// How many asked turns the Chat tab keeps (newest first).
pub const ASKED_KEPT: usize = 10;

/// One unit of work; a run is a fixed list of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Index,
    RetrieveTrain(usize),
    Rerank(usize),
    Reader(usize),
    Validate(usize),
    EvalQa(usize),
    RuleModels,
    Budget(usize),
    TurnKind,
    PrefData,
    Pref(usize),
    Dialogue,
}

impl Task {
    fn label(&self) -> String {
        match self {
            Task::Index => "building the search index".into(),
            Task::RetrieveTrain(c) => format!("searching for training questions (chunk {})", c + 1),
            Task::Rerank(e) => format!("training the re-ranker (epoch {})", e + 1),
            Task::Reader(e) => format!("training the reader (epoch {})", e + 1),
            Task::Validate(c) => format!(
                "calibrating confidence on validation questions (chunk {})",
                c + 1
            ),
            Task::EvalQa(c) => format!("answering held-out questions (chunk {})", c + 1),
            Task::RuleModels => "training the rule models".into(),
            Task::Budget(i) => format!("rule models on fewer labels ({})", i + 1),
            Task::TurnKind => "training the question-or-provocation classifier".into(),
            Task::PrefData => "collecting simulated preferences".into(),
            Task::Pref(e) => format!("training the preference model (epoch {})", e + 1),
            Task::Dialogue => "evaluating red-team probes and @N".into(),
        }
    }
}

/// The Sparrow lab.
pub struct SparrowLab {
    cfg: SparrowConfig,
    device: Device,
    root: Rng,
    corpus: Arc<Corpus>,
    dialogue: Dialogue,
    train_q: Vec<usize>,
    /// Training-split questions set aside (by gold paragraph) to calibrate confidence: the
    /// re-ranker and reader never train on them.
    val_q: Vec<usize>,
    eval_q: Vec<usize>,
    tasks: Vec<Task>,
    next: usize,
    index: Option<SearchIndex>,
    train_hits: Vec<Vec<Hit>>,
    rerank_xy: (Vec<Sparse>, Vec<f32>),
    reader_xy: (Vec<Sparse>, Vec<f32>),
    qa: Qa,
    rerank_opt: ModuleOptimizer,
    reader_opt: ModuleOptimizer,
    rng_train: Rng,
    outcomes: Vec<Outcome>,
    val_outcomes: Vec<Outcome>,
    /// The threshold chosen on the validation questions (when the config leaves it unset).
    chosen_threshold: Option<f64>,
    rm: Option<RuleModels>,
    auc: Option<AucReport>,
    budgets: Vec<(usize, [f64; 3])>,
    pref_feats: Vec<Sparse>,
    pref_pairs: Vec<(usize, usize)>,
    pref: Scorer,
    pref_opt: ModuleOptimizer,
    /// The turn-kind classifier ([`kind`]), once trained.
    turn_kind: Option<Scorer>,
    /// The turn-kind classifier's P(provocation) of each held-out probe, then of each
    /// validation question (for `sparrow.json`).
    kind_readings: Vec<(String, f32)>,
    systems: Vec<SystemResult>,
    samples: Vec<chat::ChatTurn>,
    asked: Vec<chat::ChatTurn>,
    /// The id the next asked turn gets.
    next_turn: u64,
    last_loss: Vec<(String, f64)>,
    feedback: feedback::Feedback,
}

/// Restricts the corpus to the gold paragraphs of `questions` plus the first `extra` others
/// (tests only), remapping gold ids.
fn shrink(corpus: &Corpus, questions: &[usize], extra: usize) -> Corpus {
    let mut keep: Vec<usize> = questions
        .iter()
        .map(|&q| corpus.questions[q].gold)
        .collect();
    keep.extend(0..extra.min(corpus.paragraphs.len()));
    keep.sort_unstable();
    keep.dedup();
    let mut map = vec![usize::MAX; corpus.paragraphs.len()];
    for (new, &old) in keep.iter().enumerate() {
        map[old] = new;
    }
    Corpus {
        paragraphs: keep.iter().map(|&i| corpus.paragraphs[i].clone()).collect(),
        questions: questions
            .iter()
            .map(|&q| {
                let q = &corpus.questions[q];
                Question {
                    gold: map[q.gold],
                    ..q.clone()
                }
            })
            .collect(),
        open_questions: corpus.open_questions.clone(),
        idf: std::sync::OnceLock::new(),
    }
}

impl SparrowLab {
    fn fit(&self, epochs: usize) -> Fit {
        Fit {
            epochs,
            lr: self.cfg.lr,
            batch: 128,
            l2: 1e-6,
        }
    }

    fn index(&self) -> Result<&SearchIndex, LabError> {
        self.index
            .as_ref()
            .ok_or_else(|| LabError::compute("the search index is not built yet"))
    }

    /// The decline threshold in force: the config's, else the one chosen on validation, else
    /// (no calibration, e.g. `val_share = 0`) [`RAW_THRESHOLD`] on the raw confidence.
    pub fn threshold(&self) -> f64 {
        self.cfg
            .threshold
            .or(self.chosen_threshold)
            .unwrap_or(RAW_THRESHOLD)
    }

    fn n_chunks(n: usize, chunk: usize) -> usize {
        n.div_ceil(chunk)
    }

    fn generator(&self) -> Result<Generator<'_>, LabError> {
        Ok(Generator {
            corpus: &self.corpus,
            dialogue: &self.dialogue,
            index: self.index()?,
            qa: &self.qa,
            k: self.cfg.k,
            threshold: self.threshold() as f32,
            turn_kind: self.turn_kind.as_ref(),
            search_below: self.cfg.search_below as f32,
        })
    }

    /// Whether every training task is done (the agent can chat).
    pub fn trained(&self) -> bool {
        self.rm.is_some() && self.tasks[..self.next].contains(&Task::Pref(self.cfg.pref_epochs - 1))
    }

    /// Runs the training tasks (skipping evaluation) until the agent can chat; `progress` is
    /// called with each task's label.
    pub fn train_for_chat(&mut self, mut progress: impl FnMut(&str)) -> Result<(), LabError> {
        while !self.trained() && self.next < self.tasks.len() {
            let t = self.tasks[self.next];
            progress(&t.label());
            match t {
                Task::EvalQa(_) | Task::Budget(_) | Task::Dialogue => self.next += 1,
                _ => {
                    Lab::step(self)?;
                }
            }
        }
        Ok(())
    }

    /// Answers a free user turn: N candidates, both reward models, the winner @N.
    pub fn ask(&self, question: &str) -> Result<chat::ChatTurn, LabError> {
        let (Some(rm), true) = (self.rm.as_ref(), self.trained()) else {
            return Err(LabError::compute("the agent is not trained yet"));
        };
        let g = self.generator()?;
        let mut rng = self.root.fork(text::fnv1a(question.as_bytes()));
        chat::turn(
            &g,
            rm,
            &self.pref,
            Context::Free(question),
            self.cfg.n_candidates,
            self.cfg.lambda,
            &mut rng,
        )
    }

    /// The always-search answer with the decline threshold (no reward models).
    pub fn answer(&self, question: &str) -> Result<qa::Answer, LabError> {
        self.qa.answer(
            self.index()?,
            &self.corpus,
            question,
            self.cfg.k,
            self.threshold() as f32,
        )
    }

    fn rerank_data(&self) -> (Vec<Sparse>, Vec<f32>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (i, &qi) in self.train_q.iter().enumerate() {
            let q = &self.corpus.questions[qi];
            let hits = &self.train_hits[i];
            x.extend(rerank_all(&q.text, &self.corpus, hits));
            y.extend(hits.iter().map(|h| f32::from(u8::from(h.id == q.gold))));
        }
        (x, y)
    }

    fn reader_data(&self) -> (Vec<Sparse>, Vec<f32>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for &qi in &self.train_q {
            let q = &self.corpus.questions[qi];
            let label = f32::from(u8::from(q.answer));
            x.push(reader_features(
                &q.text,
                Some(&self.corpus.paragraphs[q.gold]),
            ));
            y.push(label);
            x.push(reader_features(&q.text, None));
            y.push(label);
        }
        (x, y)
    }

    fn judgements(&self, held_out: bool) -> Vec<Judgement> {
        self.dialogue
            .judgements()
            .into_iter()
            .filter(|j| j.held_out == held_out)
            .collect()
    }
}

mod lab_impl;
