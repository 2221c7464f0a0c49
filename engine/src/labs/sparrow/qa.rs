//! Question answering with evidence: BM25 retrieval, the learned re-ranker, the yes/no reader,
//! the decline threshold, and the held-out coverage vs supported-and-plausible curve.

use super::calibrate::{Calibrator, Signals};
use super::corpus::{Corpus, Paragraph, Question};
use super::reader::{extractive_answer, is_yes_no, reader_features, rerank_all};
use super::scorer::Scorer;
use super::search::{Evidence, Hit, SearchIndex, evidence};
use crate::data::text::Sparse;
use crate::error::LabError;

/// The two learned parts of the answerer.
pub struct Qa {
    /// P(this hit is the paragraph that answers the question).
    pub reranker: Scorer,
    /// P(yes | question, paragraph).
    pub reader: Scorer,
    /// P(supported and plausible) from the two, fitted on validation questions; until it is
    /// fitted, confidence is P(paragraph) x reader confidence.
    pub calibrator: Option<Calibrator>,
}

/// What the answerer made of one question given its BM25 hits.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The paragraph chosen as evidence, if there were any hits.
    pub paragraph: Option<usize>,
    /// Re-ranker probability that it is the right paragraph.
    pub p_retrieval: f32,
    /// Reader probability of "yes".
    pub p_yes: f32,
    /// Everything the confidence is computed from.
    pub signals: Signals,
    /// Overall confidence: the calibrated P(supported and plausible), or
    /// `p_retrieval * max(p_yes, 1 - p_yes)` before calibration.
    pub confidence: f32,
}

/// An agent turn with evidence, as shown in the chat.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The Search Query turn (the question's content words).
    pub query: String,
    /// The Search Result turn.
    pub evidence: Option<Evidence>,
    /// The Agent turn.
    pub text: String,
    /// The yes/no answer, for yes/no questions that were not declined.
    pub yes: Option<bool>,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Whether the agent declined ("I'm not sure").
    pub declined: bool,
}

impl Qa {
    /// Reads the best of `hits` for `question`.
    pub fn read(&self, corpus: &Corpus, question: &str, hits: &[Hit]) -> Result<Reading, LabError> {
        let p_yes_closed = self.closed_book(question)?;
        if hits.is_empty() {
            return Ok(Reading {
                paragraph: None,
                p_retrieval: 0.0,
                p_yes: p_yes_closed,
                signals: Signals {
                    p_retrieval: 0.0,
                    p_second: 0.0,
                    p_yes: p_yes_closed,
                    p_yes_closed,
                    bm25_rank: 0,
                    same_article: 0,
                    bm25_rel: 0.0,
                },
                confidence: 0.0,
            });
        }
        let feats: Vec<Sparse> = rerank_all(question, corpus, hits);
        let probs = self.reranker.probs(&feats.iter().collect::<Vec<_>>())?;
        let mut best = 0;
        for (i, &p) in probs.iter().enumerate() {
            if p > probs[best] {
                best = i;
            }
        }
        let id = hits[best].id;
        let rf = reader_features(question, Some(&corpus.paragraphs[id]));
        let p_yes = self.reader.probs(&[&rf])?[0];
        let signals = Signals::of_hit(corpus, hits, &probs, best, p_yes, p_yes_closed);
        Ok(Reading {
            paragraph: Some(id),
            p_retrieval: probs[best],
            p_yes,
            signals,
            confidence: self.confidence(&signals),
        })
    }

    /// The confidence of an answer with these signals.
    pub fn confidence(&self, s: &Signals) -> f32 {
        match &self.calibrator {
            Some(c) => c.prob(s),
            None => s.raw(),
        }
    }

    /// P(yes) from the question alone (no search).
    pub fn closed_book(&self, question: &str) -> Result<f32, LabError> {
        Ok(self.reader.probs(&[&reader_features(question, None)])?[0])
    }

    /// Searches, reads and answers `question`, declining below `threshold`. Questions that are
    /// not yes/no get the evidence's best sentence (extractive fall-back), with the re-ranker's
    /// probability as confidence.
    pub fn answer(
        &self,
        index: &SearchIndex,
        corpus: &Corpus,
        question: &str,
        k: usize,
        threshold: f32,
    ) -> Result<Answer, LabError> {
        let query = crate::data::text::content_words(question).join(" ");
        let hits = index.search(question, k)?;
        let r = self.read(corpus, question, &hits)?;
        let Some(pid) = r.paragraph else {
            return Ok(Answer {
                query,
                evidence: None,
                text: "I'm not sure: my search found nothing relevant.".into(),
                yes: None,
                confidence: 0.0,
                declined: true,
            });
        };
        let p: &Paragraph = &corpus.paragraphs[pid];
        let ev = evidence(pid, p, question);
        if !is_yes_no(question) {
            let declined = r.p_retrieval < threshold;
            let text = if declined {
                "I'm not sure; the closest thing I found is shown below.".to_string()
            } else {
                format!(
                    "According to \"{}\": {}",
                    p.title,
                    extractive_answer(question, p)
                )
            };
            return Ok(Answer {
                query,
                evidence: Some(ev),
                text,
                yes: None,
                confidence: r.p_retrieval,
                declined,
            });
        }
        let declined = r.confidence < threshold;
        let yes = r.p_yes >= 0.5;
        let text = if declined {
            "I'm not sure; the closest evidence I found is shown below.".to_string()
        } else {
            format!(
                "{}, according to \"{}\".",
                if yes { "Yes" } else { "No" },
                p.title
            )
        };
        Ok(Answer {
            query,
            evidence: Some(ev),
            text,
            yes: (!declined).then_some(yes),
            confidence: r.confidence,
            declined,
        })
    }
}

/// One held-out question's outcome in always-search mode.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Confidence of the answer.
    pub confidence: f32,
    /// What the confidence was computed from (for refitting the calibrator).
    pub signals: Signals,
    /// Re-ranker probability of the chosen paragraph.
    pub p_retrieval: f32,
    /// Reader confidence on the chosen paragraph, `max(p, 1 - p)`.
    pub reader_conf: f32,
    /// The evidence shown is the gold paragraph.
    pub supported: bool,
    /// The yes/no answer is right.
    pub plausible: bool,
    /// BM25 ranked the gold paragraph first.
    pub bm25_top1: bool,
    /// The gold paragraph is in BM25's top 5.
    pub bm25_top5: bool,
    /// Reader right when given the gold paragraph.
    pub reader_gold_right: bool,
    /// Reader confidence given the gold paragraph.
    pub reader_gold_conf: f32,
    /// Closed-book (no search) confidence and correctness.
    pub closed_conf: f32,
    /// Closed-book answer right.
    pub closed_right: bool,
}

/// Evaluates one question from its BM25 hits.
pub fn outcome(qa: &Qa, corpus: &Corpus, q: &Question, hits: &[Hit]) -> Result<Outcome, LabError> {
    let r = qa.read(corpus, &q.text, hits)?;
    let gold_p = qa
        .reader
        .probs(&[&reader_features(&q.text, Some(&corpus.paragraphs[q.gold]))])?[0];
    let closed = r.signals.p_yes_closed;
    Ok(Outcome {
        confidence: r.confidence,
        signals: r.signals,
        p_retrieval: r.p_retrieval,
        reader_conf: r.p_yes.max(1.0 - r.p_yes),
        supported: r.paragraph == Some(q.gold),
        plausible: (r.p_yes >= 0.5) == q.answer,
        bm25_top1: hits.first().is_some_and(|h| h.id == q.gold),
        bm25_top5: hits.iter().take(5).any(|h| h.id == q.gold),
        reader_gold_right: (gold_p >= 0.5) == q.answer,
        reader_gold_conf: gold_p.max(1.0 - gold_p),
        closed_conf: closed.max(1.0 - closed),
        closed_right: (closed >= 0.5) == q.answer,
    })
}

/// A point of the coverage curve: answering the `coverage` most confident share.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    /// Confidence threshold.
    pub threshold: f32,
    /// Share answered.
    pub coverage: f64,
    /// Supported-and-plausible share among answered.
    pub sp_rate: f64,
}

/// Coverage vs supported-and-plausible: answering the most confident `s/steps` share of the
/// questions, for `s = 1..=steps`.
pub fn curve(outcomes: &[Outcome], steps: usize) -> Vec<CurvePoint> {
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let n = sorted.len();
    let mut good = vec![0usize; n + 1];
    for (i, o) in sorted.iter().enumerate() {
        good[i + 1] = good[i] + usize::from(o.supported && o.plausible);
    }
    (1..=steps)
        .filter_map(|s| {
            let m = n * s / steps;
            (m > 0).then(|| CurvePoint {
                threshold: sorted[m - 1].confidence,
                coverage: m as f64 / n as f64,
                sp_rate: good[m] as f64 / m as f64,
            })
        })
        .collect()
}

/// The no-search agent at the same coverage as another: it answers the `coverage` share of
/// questions where its closed-book confidence is highest. Returns (coverage, share right among
/// answered); none of its answers is supported, as it shows no evidence.
pub fn no_search_at(outcomes: &[Outcome], coverage: f64) -> (f64, f64) {
    let mut by_conf: Vec<&Outcome> = outcomes.iter().collect();
    by_conf.sort_by(|a, b| b.closed_conf.total_cmp(&a.closed_conf));
    let m = ((coverage * outcomes.len() as f64).round() as usize).min(outcomes.len());
    let right = by_conf.iter().take(m).filter(|o| o.closed_right).count();
    (
        m as f64 / outcomes.len().max(1) as f64,
        right as f64 / m.max(1) as f64,
    )
}

/// Coverage and supported-and-plausible rate when answering at confidence >= `threshold`.
pub fn at_threshold(outcomes: &[Outcome], threshold: f32) -> (f64, f64) {
    let answered: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.confidence >= threshold)
        .collect();
    let good = answered
        .iter()
        .filter(|o| o.supported && o.plausible)
        .count();
    (
        answered.len() as f64 / outcomes.len().max(1) as f64,
        good as f64 / answered.len().max(1) as f64,
    )
}
