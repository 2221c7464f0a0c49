//! What the Sparrow panel draws.

use super::SparrowLab;
use super::chat::ChatTurn;
use super::evaluate::SystemResult;
use super::feedback::FeedbackSummary;
use super::qa::{self, CurvePoint};
use super::rm::AucReport;

/// A rule as the panel lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// Identifier.
    pub id: String,
    /// Short name.
    pub short: String,
    /// Category.
    pub category: String,
    /// Wording.
    pub text: String,
}

/// Held-out question-answering results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QaSummary {
    /// Held-out questions evaluated.
    pub questions: usize,
    /// Coverage vs supported-and-plausible (always search).
    pub curve: Vec<CurvePoint>,
    /// Coverage and supported-and-plausible rate at the current threshold (always search).
    pub at_threshold: (f64, f64),
    /// The current threshold.
    pub threshold: f64,
    /// Coverage and plausible (right) rate without search, answering as many questions as
    /// always-search does at the current threshold (its most confident ones).
    pub no_search: (f64, f64),
    /// BM25 ranks the gold paragraph first / in its top 5; the re-ranker's pick is gold.
    pub retrieval: (f64, f64, f64),
    /// Reader accuracy given the gold paragraph: overall and on its most confident third.
    pub reader_gold: (f64, f64),
}

/// The Sparrow lab's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SparrowView {
    /// Steps done.
    pub step: u64,
    /// Steps in the run.
    pub planned: u64,
    /// What the current (next) step does.
    pub phase: String,
    /// The 23 rules.
    pub rules: Vec<RuleInfo>,
    /// Sizes: paragraphs, train / validation / held-out questions, train / held-out judgements.
    pub sizes: [usize; 6],
    /// Question answering, once evaluated.
    pub qa: Option<QaSummary>,
    /// Rule-model AUCs, once trained.
    pub auc: Option<AucReport>,
    /// AUC vs labels per rule: `(labels per rule, [conditional, per-rule, general])`.
    pub budgets: Vec<(usize, [f64; 3])>,
    /// Base sampler, then @N at the configured lambda, then the lambda sweep.
    pub systems: Vec<SystemResult>,
    /// Example turns (held-out questions and probes) with their candidate tables.
    pub samples: Vec<ChatTurn>,
    /// The user's own questions (newest first), answered @N.
    pub asked: Vec<ChatTurn>,
    /// N and lambda in use.
    pub n_lambda: (usize, f64),
    /// The user's own judgements and preferences, and the last live retrain.
    pub feedback: FeedbackSummary,
    /// Whether the agent is trained far enough to answer questions and take feedback.
    pub trained: bool,
}

impl SparrowLab {
    pub(super) fn make_view(&self) -> SparrowView {
        let qa_summary = (!self.outcomes.is_empty() && self.outcomes.len() == self.eval_q.len())
            .then(|| {
                let o = &self.outcomes;
                let n = o.len() as f64;
                let share =
                    |f: &dyn Fn(&qa::Outcome) -> bool| o.iter().filter(|x| f(x)).count() as f64 / n;
                let at_threshold = qa::at_threshold(o, self.threshold() as f32);
                let mut by_conf: Vec<&qa::Outcome> = o.iter().collect();
                by_conf.sort_by(|a, b| b.reader_gold_conf.total_cmp(&a.reader_gold_conf));
                let third = (by_conf.len() / 3).max(1);
                QaSummary {
                    questions: o.len(),
                    curve: qa::curve(o, 20),
                    at_threshold,
                    threshold: self.threshold(),
                    no_search: qa::no_search_at(o, at_threshold.0),
                    retrieval: (
                        share(&|x| x.bm25_top1),
                        share(&|x| x.bm25_top5),
                        share(&|x| x.supported),
                    ),
                    reader_gold: (
                        share(&|x| x.reader_gold_right),
                        by_conf
                            .iter()
                            .take(third)
                            .filter(|x| x.reader_gold_right)
                            .count() as f64
                            / third as f64,
                    ),
                }
            });
        let judgements = self.dialogue.judgements();
        let held = judgements.iter().filter(|j| j.held_out).count();
        SparrowView {
            step: self.next as u64,
            planned: self.tasks.len() as u64,
            phase: self
                .tasks
                .get(self.next)
                .map(|t| t.label())
                .unwrap_or_else(|| "done".into()),
            rules: self
                .dialogue
                .rules
                .iter()
                .map(|r| RuleInfo {
                    id: r.id.clone(),
                    short: r.short.clone(),
                    category: r.category.clone(),
                    text: r.text.clone(),
                })
                .collect(),
            sizes: [
                self.corpus.paragraphs.len(),
                self.train_q.len(),
                self.val_q.len(),
                self.eval_q.len(),
                judgements.len() - held,
                held,
            ],
            qa: qa_summary,
            auc: self.auc.clone(),
            budgets: self.budgets.clone(),
            systems: self.systems.clone(),
            samples: self.samples.clone(),
            asked: self.asked.clone(),
            n_lambda: (self.cfg.n_candidates, self.cfg.lambda),
            feedback: self.feedback.summary(),
            trained: self.trained(),
        }
    }
}
