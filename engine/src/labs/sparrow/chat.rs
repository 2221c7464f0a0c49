//! One agent turn as the panel and the CLI show it: the N candidates, their preference scores
//! and rule-violation probabilities, and the winner of re-ranking @N.

use super::dialogue::{Dialogue, Rule};
use super::generate::{Candidate, Context, Generator, pref_features};
use super::rm::RuleModels;
use super::scorer::Scorer;
use super::search::Evidence;
use crate::error::LabError;
use crate::rng::Rng;

/// One candidate's row in the candidates table.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateRow {
    /// The agent turn.
    pub text: String,
    /// Search Query and Search Result, when it searched.
    pub search: Option<(String, Evidence)>,
    /// Preference-model score (a Bradley-Terry logit).
    pub preference: f32,
    /// The three highest P(violation) with the rules' short names.
    pub top_rules: Vec<(String, f32)>,
    /// Largest P(violation) over all rules.
    pub max_violation: f32,
    /// Re-ranking score: preference - lambda x max_violation.
    pub score: f32,
    /// Ground-truth rules broken (short names; known for bank turns, empty for free text).
    pub truth_violates: Vec<String>,
    /// Reader confidence (0 when it did not read); a preference-model input, kept so a
    /// user's preference between two rows can be turned into a training pair.
    pub reader_conf: f32,
    /// Re-ranker probability of its evidence (0 without evidence); as `reader_conf`.
    pub p_retrieval: f32,
    /// The turn-kind classifier's P(the user turn is a provocation); as `reader_conf`.
    pub p_probe: f32,
}

/// A user turn and the agent's reply chosen @N.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    /// Stable id of an asked turn (actions address turns by it; 0 until the lab keeps it).
    pub id: u64,
    /// The user turn.
    pub user: String,
    /// The candidates, in generation order.
    pub candidates: Vec<CandidateRow>,
    /// Index of the winner in `candidates`.
    pub winner: usize,
    /// Candidate 0 is what the base sampler (N = 1, no reward models) would have said.
    pub base: usize,
}

impl ChatTurn {
    /// The chosen candidate.
    pub fn chosen(&self) -> &CandidateRow {
        &self.candidates[self.winner]
    }
}

/// Scores of candidates: preference logits and the rule-violation matrix.
pub struct Scored {
    /// Preference logit per candidate.
    pub pref: Vec<f32>,
    /// P(violation) per candidate and rule.
    pub viol: Vec<Vec<f32>>,
}

/// The largest of one candidate's P(violation) per rule (0 for none).
pub fn max_of(viol: &[f32]) -> f32 {
    viol.iter().copied().fold(0.0, f32::max)
}

impl Scored {
    /// Largest violation probability of candidate `i`.
    pub fn max_viol(&self, i: usize) -> f32 {
        max_of(&self.viol[i])
    }

    /// The re-ranking winner for `lambda` (first on ties).
    pub fn winner(&self, lambda: f64) -> usize {
        let mut best = 0;
        let mut best_s = f64::NEG_INFINITY;
        for i in 0..self.pref.len() {
            let s = self.pref[i] as f64 - lambda * self.max_viol(i) as f64;
            if s > best_s {
                best_s = s;
                best = i;
            }
        }
        best
    }
}

/// Scores `cands` after `user` with both reward models.
pub fn score(
    dialogue: &Dialogue,
    rm: &RuleModels,
    pref: &Scorer,
    user: &str,
    cands: &[Candidate],
) -> Result<Scored, LabError> {
    let texts: Vec<&str> = cands.iter().map(|c| c.text.as_str()).collect();
    let viol = rm.violation_matrix(&dialogue.rules, user, &texts)?;
    let feats: Vec<_> = cands
        .iter()
        .zip(&viol)
        .map(|(c, v)| pref_features(user, c, max_of(v)))
        .collect();
    let pref_s = pref.logits(&feats.iter().collect::<Vec<_>>())?;
    Ok(Scored { pref: pref_s, viol })
}

/// The three highest of one candidate's P(violation) per rule, with the rules' short names
/// (lower rule index first on ties).
pub fn top_rules(viol: &[f32], rules: &[Rule]) -> Vec<(String, f32)> {
    let mut top: Vec<(usize, f32)> = viol.iter().copied().enumerate().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.iter()
        .take(3)
        .map(|&(r, p)| (rules[r].short.clone(), p))
        .collect()
}

/// Generates N candidates for `ctx`, scores them and builds the chat turn.
#[allow(clippy::too_many_arguments)]
pub fn turn(
    generator: &Generator<'_>,
    rm: &RuleModels,
    pref: &Scorer,
    ctx: Context<'_>,
    n: usize,
    lambda: f64,
    rng: &mut Rng,
) -> Result<ChatTurn, LabError> {
    let cands = generator.candidates(ctx, n, rng)?;
    let s = score(generator.dialogue, rm, pref, ctx.text(), &cands)?;
    let rules = &generator.dialogue.rules;
    let rows = cands
        .iter()
        .enumerate()
        .map(|(i, c)| CandidateRow {
            text: c.text.clone(),
            search: c.search.clone(),
            preference: s.pref[i],
            top_rules: top_rules(&s.viol[i], rules),
            max_violation: s.max_viol(i),
            score: s.pref[i] - lambda as f32 * s.max_viol(i),
            truth_violates: c
                .truth
                .violates
                .iter()
                .map(|&r| rules[r].short.clone())
                .collect(),
            reader_conf: c.reader_conf,
            p_retrieval: c.p_retrieval,
            p_probe: c.p_probe,
        })
        .collect();
    Ok(ChatTurn {
        id: 0,
        user: ctx.text().to_string(),
        candidates: rows,
        winner: s.winner(lambda),
        base: 0,
    })
}
