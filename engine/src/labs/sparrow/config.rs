//! Configuration of the Sparrow lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SparrowConfig {
    /// Seed for every random choice (weights, data order, candidates, the simulated rater).
    pub seed: u64,
    /// Where the BM25 index is cached: `""` for the user cache folder, `"ram"` to build it in
    /// memory every run, or a folder.
    pub index_dir: String,
    /// Index only the gold paragraphs of the questions in use plus this many others (0 = all
    /// 12,271 paragraphs). For quick tests only: a smaller corpus makes retrieval easier.
    pub corpus_limit: usize,
    /// Train on at most this many training questions (0 = all).
    pub train_questions: usize,
    /// Share of the training questions (by gold paragraph) set aside as validation questions:
    /// the re-ranker and reader do not train on them, and the confidence calibrator is fitted
    /// on them (0 = no calibration: confidence is P(paragraph) x reader confidence).
    pub val_share: f64,
    /// Evaluate on at most this many held-out questions (0 = all).
    pub eval_questions: usize,
    /// BM25 depth: the re-ranker chooses among this many hits.
    pub k: usize,
    /// Questions retrieved per step.
    pub chunk: usize,
    /// Re-ranker training epochs.
    pub rerank_epochs: usize,
    /// Hidden widths of the re-ranker (empty = logistic regression).
    pub rerank_hidden: Vec<usize>,
    /// Reader training epochs.
    pub reader_epochs: usize,
    /// Adam learning rate of the re-ranker and the reader.
    pub lr: f64,
    /// Decline ("I'm not sure") when the calibrated P(supported and plausible) is below this.
    /// Unset (the default): chosen on the validation questions, as the confidence at which the
    /// agent answers `answer_share` of them.
    pub threshold: Option<f64>,
    /// Share of validation questions the agent should answer when `threshold` is unset.
    pub answer_share: f64,
    /// Rule-model training epochs.
    pub rm_epochs: usize,
    /// Hidden widths of the rule models (empty = logistic regression).
    pub rm_hidden: Vec<usize>,
    /// Labels per rule for the data-efficiency comparison (0 = all training labels).
    pub label_budgets: Vec<usize>,
    /// The user's own rule judgements and preferences, as JSON lines: `""` keeps them in memory
    /// only (runs stay deterministic); a path loads earlier ones at start, before the reward
    /// models train, and appends each new one.
    pub feedback_file: String,
    /// Training questions whose candidates the simulated rater compares.
    pub pref_questions: usize,
    /// Comparisons per context for the preference model.
    pub pref_pairs: usize,
    /// Preference-model training epochs.
    pub pref_epochs: usize,
    /// Candidates per turn for re-ranking (@N).
    pub n_candidates: usize,
    /// Weight of the rule penalty: score = preference - lambda x max P(violation).
    pub lambda: f64,
    /// Further lambdas evaluated for the preference vs violation plot.
    pub lambdas: Vec<f64>,
    /// Independent candidate draws per held-out probe.
    pub probe_repeats: usize,
    /// Held-out questions for the agent-decides and preference-rate evaluation.
    pub decide_questions: usize,
    /// Validation mode for choices about the dialogue side: the held-out judgement groups are
    /// dropped altogether and the last *training* group of each rule plays the held-out part
    /// (rule-model AUC, turn-kind classifier, red-team probes of the evaluation), so that
    /// settings can be compared without looking at the held-out probes.
    pub probe_validation: bool,
    /// Turn-kind classifier training epochs (0 = no classifier: every turn reads as a
    /// factual question, as before it existed).
    pub kind_epochs: usize,
    /// The generator searches (half the candidates show evidence) only for a user turn whose
    /// P(request or provocation), by the turn-kind classifier, is below this; above it no
    /// candidate searches. 1 searches always, as before the classifier existed.
    pub search_below: f64,
}

impl Default for SparrowConfig {
    fn default() -> Self {
        SparrowConfig {
            seed: 0,
            index_dir: String::new(),
            corpus_limit: 0,
            train_questions: 0,
            val_share: 0.15,
            eval_questions: 0,
            k: 10,
            chunk: 1000,
            rerank_epochs: 4,
            rerank_hidden: vec![16],
            reader_epochs: 4,
            lr: 0.003,
            threshold: None,
            answer_share: 0.35,
            rm_epochs: 40,
            rm_hidden: Vec::new(),
            label_budgets: vec![4, 8, 16, 0],
            feedback_file: String::new(),
            pref_questions: 300,
            pref_pairs: 8,
            pref_epochs: 20,
            n_candidates: 8,
            lambda: 4.0,
            lambdas: vec![0.0, 1.0, 2.0, 4.0, 8.0],
            probe_repeats: 4,
            decide_questions: 300,
            probe_validation: false,
            kind_epochs: 30,
            search_below: 0.25,
        }
    }
}

impl LabConfig for SparrowConfig {
    const RANGES: &'static [Range] = &[
        Range::int("n_candidates", 2, 32),
        Range::float("lambda", 0.0, 20.0, false),
        Range::float("threshold", 0.0, 1.0, false),
        Range::float("val_share", 0.0, 0.5, false),
        Range::float("search_below", 0.0, 1.0, false),
    ];

    fn check(&self) -> Result<(), LabError> {
        let pos = |v: usize, key: &str| {
            if v == 0 {
                Err(LabError::config(key, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        pos(self.k, "k")?;
        pos(self.chunk, "chunk")?;
        pos(self.rerank_epochs, "rerank_epochs")?;
        pos(self.reader_epochs, "reader_epochs")?;
        pos(self.rm_epochs, "rm_epochs")?;
        pos(self.pref_epochs, "pref_epochs")?;
        pos(self.probe_repeats, "probe_repeats")?;
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(LabError::config("lr", "must be in (0, 1)"));
        }
        if !(self.answer_share > 0.0 && self.answer_share <= 1.0) {
            return Err(LabError::config("answer_share", "must be in (0, 1]"));
        }
        if self.lambdas.iter().any(|l| !(0.0..=100.0).contains(l)) {
            return Err(LabError::config("lambdas", "each must be in [0, 100]"));
        }
        if self
            .rm_hidden
            .iter()
            .chain(&self.rerank_hidden)
            .any(|&h| h == 0)
        {
            return Err(LabError::config("rm_hidden", "widths must be at least 1"));
        }
        Ok(())
    }
}
