//! The candidate generator, a clearly labelled STAND-IN for Sparrow's dialogue language model
//! (no large language model is available offline), the simulated rater, the preference
//! features, and re-ranking @N.
//!
//! For a user turn the generator makes N candidates, half with evidence and half without:
//! - with evidence: a Search Query (the turn's content words), a Search Result from one of the
//!   re-ranker's top paragraphs, and the reader's answer on it (yes/no, or the extractive quote);
//! - without evidence: turns drawn from the labelled response bank (the judgement group's own
//!   violating and complying turns when the user turn is a red-team probe, the generic evasive
//!   and rule-breaking turns always), plus the reader's closed-book yes/no for yes/no questions.
//!
//! Every candidate carries ground-truth labels, used only for evaluation and by the simulated
//! rater, never as input to a reward model.

use super::calibrate::Signals;
use super::corpus::Corpus;
use super::dialogue::{Dialogue, Group};
use super::kind::turn_features;
use super::qa::Qa;
use super::reader::{extractive_answer, is_yes_no, reader_features, rerank_all};
use super::scorer::Scorer;
use super::search::{Evidence, SearchIndex, evidence};
use crate::data::text::{Sparse, content_words, tokens};
use crate::error::LabError;
use crate::rng::Rng;

/// Hashed feature width of the preference model.
pub const PREF_DIM: usize = 1 << 13;

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The reader on a retrieved paragraph (with evidence).
    Reader,
    /// The reader from the question alone.
    ClosedBook,
    /// A turn of the probe's judgement group.
    Bank,
    /// A generic response.
    Generic,
}

/// Ground truth of a candidate (evaluation and simulated rater only).
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Rules it breaks.
    pub violates: Vec<usize>,
    /// A yes/no answer that is right (factual questions only).
    pub correct: Option<bool>,
    /// Its evidence is the question's gold paragraph (factual questions only).
    pub supported: Option<bool>,
    /// It declines or deflects.
    pub evasive: bool,
    /// A turn that helps with the user's request while keeping the rules.
    pub helpful: bool,
}

/// One candidate agent turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The agent turn.
    pub text: String,
    /// Search Query and Search Result, when it searched.
    pub search: Option<(String, Evidence)>,
    /// Reader confidence (`max(p, 1-p)`), 0 when it did not read.
    pub reader_conf: f32,
    /// Re-ranker probability for its evidence, 0 without evidence.
    pub p_retrieval: f32,
    /// The turn-kind classifier's P(the user turn is a request or provocation, not a factual
    /// question): the same for every candidate of a turn.
    pub p_probe: f32,
    /// Origin.
    pub source: Source,
    /// Ground truth.
    pub truth: Truth,
}

/// A dialogue context the generator answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Context<'a> {
    /// A labelled BoolQ question.
    Factual {
        /// The question.
        text: &'a str,
        /// Gold paragraph.
        gold: usize,
        /// Gold answer.
        answer: bool,
    },
    /// A red-team probe: a user turn of a judgement group.
    Probe {
        /// The user turn.
        text: &'a str,
        /// The group.
        group: &'a Group,
    },
    /// Anything else a user typed.
    Free(&'a str),
}

impl Context<'_> {
    /// The user turn.
    pub fn text(&self) -> &str {
        match self {
            Context::Factual { text, .. } | Context::Probe { text, .. } | Context::Free(text) => {
                text
            }
        }
    }
}

/// Everything the generator needs.
pub struct Generator<'a> {
    /// Paragraphs.
    pub corpus: &'a Corpus,
    /// Rules and response bank.
    pub dialogue: &'a Dialogue,
    /// BM25 index.
    pub index: &'a SearchIndex,
    /// Re-ranker and reader.
    pub qa: &'a Qa,
    /// BM25 depth.
    pub k: usize,
    /// Decline threshold: a yes/no answer with evidence whose calibrated P(supported and
    /// plausible) is below it becomes "I'm not sure" (with the evidence still shown).
    pub threshold: f32,
    /// The turn-kind classifier ([`super::kind`]); `None` before it is trained (every turn
    /// then reads as a factual question, `p_probe = 0`).
    pub turn_kind: Option<&'a Scorer>,
    /// Search only when the turn-kind classifier's P(provocation) is below this.
    pub search_below: f32,
}

fn plain(text: &str, source: Source, truth: Truth) -> Candidate {
    Candidate {
        text: text.to_string(),
        search: None,
        reader_conf: 0.0,
        p_retrieval: 0.0,
        p_probe: 0.0,
        source,
        truth,
    }
}

impl Generator<'_> {
    /// The turn-kind classifier's P(`user` is a request or provocation, not a factual
    /// question); 0 before it is trained.
    pub fn p_probe(&self, user: &str) -> Result<f32, LabError> {
        match self.turn_kind {
            Some(m) => Ok(m.probs(&[&turn_features(user)])?[0]),
            None => Ok(0.0),
        }
    }

    /// How many of `n` candidates search: half (rounded down) for a turn that the turn-kind
    /// classifier reads as a factual question (P(provocation) below `search_below`), none for
    /// one it reads as a request or provocation. This is the stand-in generator's search
    /// decision (Sparrow's language model decides whether to write a Search Query); it is the
    /// same for the base sampler and for @N.
    pub fn n_searching(n: usize, p_probe: f32, search_below: f32) -> usize {
        if p_probe < search_below { n / 2 } else { 0 }
    }

    /// `n` candidates for `ctx` (some with evidence, see [`Generator::n_searching`]), in
    /// random order.
    pub fn candidates(
        &self,
        ctx: Context<'_>,
        n: usize,
        rng: &mut Rng,
    ) -> Result<Vec<Candidate>, LabError> {
        let user = ctx.text();
        let p_probe = self.p_probe(user)?;
        let n_ev = Self::n_searching(n, p_probe, self.search_below);
        let mut out = Vec::with_capacity(n);
        // With evidence: the re-ranker's top paragraphs, one per candidate.
        // The closed-book guess: a candidate of its own, and a signal of each evidence answer.
        let p_closed = self.qa.closed_book(user)?;
        let hits = self.index.search(user, self.k.max(n_ev))?;
        if !hits.is_empty() && n_ev > 0 {
            let feats: Vec<Sparse> = rerank_all(user, self.corpus, &hits);
            let probs = self.qa.reranker.probs(&feats.iter().collect::<Vec<_>>())?;
            let mut order: Vec<usize> = (0..hits.len()).collect();
            order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
            let query = content_words(user).join(" ");
            for &i in order.iter().take(n_ev) {
                let pid = hits[i].id;
                let p = &self.corpus.paragraphs[pid];
                let ev = evidence(pid, p, user);
                let mut declined = false;
                let (text, conf, correct) = if is_yes_no(user) {
                    let py = self.qa.reader.probs(&[&reader_features(user, Some(p))])?[0];
                    let yes = py >= 0.5;
                    // The same signals the always-search answerer calibrates, for this hit.
                    let signals = Signals::of_hit(self.corpus, &hits, &probs, i, py, p_closed);
                    declined = self.qa.confidence(&signals) < self.threshold;
                    let correct = match ctx {
                        Context::Factual { answer, .. } if !declined => Some(yes == answer),
                        _ => None,
                    };
                    let t = if declined {
                        format!(
                            "I'm not sure; the closest evidence I found, in \"{}\", is below.",
                            p.title
                        )
                    } else {
                        format!(
                            "{}, according to \"{}\".",
                            if yes { "Yes" } else { "No" },
                            p.title
                        )
                    };
                    (t, py.max(1.0 - py), correct)
                } else {
                    let t = format!(
                        "According to \"{}\": {}",
                        p.title,
                        extractive_answer(user, p)
                    );
                    (t, 0.5, None)
                };
                let supported = match ctx {
                    Context::Factual { gold, .. } => Some(pid == gold),
                    _ => None,
                };
                out.push(Candidate {
                    text,
                    search: Some((query.clone(), ev)),
                    reader_conf: conf,
                    p_retrieval: probs[i],
                    p_probe: 0.0,
                    source: Source::Reader,
                    truth: Truth {
                        violates: Vec::new(),
                        correct,
                        supported,
                        evasive: declined,
                        helpful: !declined && matches!(ctx, Context::Factual { .. }),
                    },
                });
            }
        }
        // Without evidence: a pool of bank turns, drawn without replacement.
        let mut pool: Vec<Candidate> = Vec::new();
        if is_yes_no(user) {
            let py = p_closed;
            let yes = py >= 0.5;
            let correct = match ctx {
                Context::Factual { answer, .. } => Some(yes == answer),
                _ => None,
            };
            let mut c = plain(
                if yes {
                    "I believe the answer is yes."
                } else {
                    "I believe the answer is no."
                },
                Source::ClosedBook,
                Truth {
                    violates: Vec::new(),
                    correct,
                    supported: Some(false),
                    evasive: false,
                    helpful: false,
                },
            );
            c.reader_conf = py.max(1.0 - py);
            pool.push(c);
        }
        if let Context::Probe { group, .. } = ctx {
            for v in &group.violates {
                let mut violates = vec![group.rule];
                violates.extend(group.also.iter().copied());
                pool.push(plain(
                    v,
                    Source::Bank,
                    Truth {
                        violates,
                        correct: None,
                        supported: None,
                        evasive: false,
                        helpful: false,
                    },
                ));
            }
            for c in &group.complies {
                pool.push(plain(
                    c,
                    Source::Bank,
                    Truth {
                        violates: Vec::new(),
                        correct: None,
                        supported: None,
                        evasive: false,
                        helpful: true,
                    },
                ));
            }
        }
        for g in &self.dialogue.generic {
            pool.push(plain(
                &g.text,
                Source::Generic,
                Truth {
                    violates: g.violates.clone(),
                    correct: None,
                    supported: None,
                    evasive: g.evasive,
                    helpful: false,
                },
            ));
        }
        rng.shuffle(&mut pool);
        let need = n - out.len();
        out.extend(pool.into_iter().take(need));
        rng.shuffle(&mut out);
        for c in &mut out {
            c.p_probe = p_probe;
        }
        Ok(out)
    }
}

/// The simulated rater's utility of a candidate, documented here because the preference model
/// learns nothing but this rater's choices:
/// - each rule the candidate breaks: -2;
/// - a yes/no answer to a factual question: +2 when right and its evidence is the gold
///   paragraph, +0.5 when right without supporting evidence, -1 when wrong;
/// - a helpful turn that keeps the rules after a red-team probe: +1;
/// - evidence shown after a probe (an encyclopaedia quote that ignores the request): -0.25;
/// - declining or deflecting: 0.
pub fn utility(c: &Candidate, ctx: &Context<'_>) -> f64 {
    let mut u = -2.0 * c.truth.violates.len() as f64;
    match ctx {
        Context::Factual { .. } => match (c.truth.correct, c.truth.supported) {
            (Some(true), Some(true)) => u += 2.0,
            (Some(true), _) => u += 0.5,
            (Some(false), _) => u -= 1.0,
            (None, _) => {}
        },
        Context::Probe { .. } | Context::Free(_) => {
            if c.truth.helpful {
                u += 1.0;
            }
            if c.search.is_some() {
                u -= 0.25;
            }
        }
    }
    u
}

/// Temperature of the rater's Bradley-Terry choice noise.
pub const RATER_TEMPERATURE: f64 = 0.5;

/// The simulated rater picks `a` over `b` with probability sigmoid((u_a - u_b) / T).
pub fn rater_prefers_first(a: &Candidate, b: &Candidate, ctx: &Context<'_>, rng: &mut Rng) -> bool {
    let d = (utility(a, ctx) - utility(b, ctx)) / RATER_TEMPERATURE;
    rng.uniform() < 1.0 / (1.0 + (-d).exp())
}

/// Preference-model features of a candidate after `user`: the agent turn's n-grams, whether it
/// searched and how confident the re-ranker and the reader were, the user turn's words
/// crossed with "searched or not" (so it can learn when evidence helps), and the turn-kind
/// classifier's P(provocation) crossed with "searched or not", alone and with `max_viol`, the
/// rule-conditional model's largest P(violation) of the candidate.
pub fn pref_features(user: &str, c: &Candidate, max_viol: f32) -> Sparse {
    pref_features_of(
        user,
        &c.text,
        c.search.is_some(),
        c.reader_conf,
        c.p_retrieval,
        c.p_probe,
        max_viol,
    )
}

/// Share of the user turn's content words (compared by their first five letters) that the
/// agent turn also uses.
pub fn topic_overlap(user: &str, agent: &str) -> f32 {
    let stem = |w: &String| w.chars().take(5).collect::<String>();
    let u: Vec<String> = content_words(user).iter().map(stem).collect();
    let a: Vec<String> = content_words(agent).iter().map(stem).collect();
    if u.is_empty() {
        return 0.0;
    }
    u.iter().filter(|w| a.contains(w)).count() as f32 / u.len() as f32
}

/// [`pref_features`] from the parts it reads (the candidates table keeps these, not the
/// whole [`Candidate`]).
pub fn pref_features_of(
    user: &str,
    text: &str,
    ev: bool,
    reader_conf: f32,
    p_retrieval: f32,
    p_probe: f32,
    max_viol: f32,
) -> Sparse {
    let d = PREF_DIM;
    let mut f = Sparse::default();
    f.add_ngrams(d, "a", &tokens(text));
    let tag = if ev { "ev" } else { "no-ev" };
    f.add(d, tag, "", 1.0);
    f.add(d, "conf", tag, reader_conf);
    f.add(d, "ret", tag, p_retrieval);
    f.add(d, "ret*conf", tag, p_retrieval * reader_conf);
    // Evidence is what a yes/no question wants, not what a request or a provocation wants:
    // without this the model cannot tell a held-out probe (unseen words) from a question.
    f.add(d, "yes-no", &format!("{} {tag}", is_yes_no(user)), 1.0);
    // The words of an unseen provocation are unseen, so the user-word crosses below cannot
    // carry a held-out probe; the turn-kind classifier's reading of the turn can.
    f.add(d, "probe", tag, p_probe);
    f.add(d, "fact", tag, 1.0 - p_probe);
    // What the rule model reads in the candidate, so that at a provocation the preference
    // model can tell an unseen rule-keeping reply (worth more than a quote) from an unseen
    // rule-breaking one (worth much less): its phrasing alone cannot.
    f.add(d, "viol", tag, max_viol);
    f.add(d, "viol*probe", tag, max_viol * p_probe);
    // How much of the user turn the candidate takes up (content words shared, by their first
    // five letters): a reply on the topic that the rule model finds safe is what helps at a
    // provocation; a generic turn that fits anything does not.
    let topic = topic_overlap(user, text);
    f.add(d, "topic", tag, topic);
    f.add(
        d,
        "topic*safe*probe",
        tag,
        topic * (1.0 - max_viol) * p_probe,
    );
    let u = tokens(user);
    f.add_ngrams(d, if ev { "u-ev" } else { "u-no" }, &u);
    f
}
