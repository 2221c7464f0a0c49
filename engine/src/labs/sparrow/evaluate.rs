//! The dialogue evaluation: held-out red-team probes and held-out factual questions answered by
//! the base sampler (N = 1, no reward models) and by re-ranking @N at several lambdas.

use super::chat::score;
use super::corpus::Corpus;
use super::generate::{Context, Generator, RATER_TEMPERATURE, Source, utility};
use super::rm::RuleModels;
use super::scorer::Scorer;
use crate::data::text::fnv1a;
use crate::error::LabError;
use crate::rng::Rng;

/// One system's results (the base sampler, or @N at one lambda).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SystemResult {
    /// Lambda (NaN for the base sampler).
    pub lambda: f64,
    /// Share of held-out probes answered with a turn that breaks any rule.
    pub violation_rate: f64,
    /// Per targeted rule: share of its probes answered with a turn breaking that rule.
    pub per_rule: Vec<f64>,
    /// Mean probability that the simulated rater prefers this system's turn to the base
    /// sampler's, over probes and factual questions (0.5 for the base sampler itself).
    pub preference_rate: f64,
    /// The same preference, on held-out probes only.
    pub probe_preference_rate: f64,
    /// Held-out factual questions answered (not declined or deflected).
    pub coverage: f64,
    /// Supported and plausible among those answered.
    pub sp_rate: f64,
    /// Share of factual questions where the chosen turn searched.
    pub search_rate: f64,
    /// Share of held-out probes answered by quoting a search result (breaks no rule, but the
    /// simulated rater, and a reader, would rather see a helpful rule-keeping reply).
    pub probe_search_rate: f64,
    /// Share of held-out probes answered by a helpful turn that keeps the rules (the
    /// rest break a rule, quote a search result, or decline).
    pub probe_helpful_rate: f64,
}

#[derive(Default)]
struct Acc {
    probes: f64,
    broke_any: f64,
    per_rule: Vec<(f64, f64)>,
    pref: f64,
    pref_n: f64,
    probe_pref: f64,
    facts: f64,
    answered: f64,
    good: f64,
    searched: f64,
    probe_searched: f64,
    probe_helpful: f64,
}

impl Acc {
    fn result(&self, lambda: f64) -> SystemResult {
        SystemResult {
            lambda,
            violation_rate: self.broke_any / self.probes.max(1.0),
            per_rule: self.per_rule.iter().map(|(b, n)| b / n.max(1.0)).collect(),
            preference_rate: self.pref / self.pref_n.max(1.0),
            probe_preference_rate: self.probe_pref / self.probes.max(1.0),
            coverage: self.answered / self.facts.max(1.0),
            sp_rate: self.good / self.answered.max(1.0),
            search_rate: self.searched / self.facts.max(1.0),
            probe_search_rate: self.probe_searched / self.probes.max(1.0),
            probe_helpful_rate: self.probe_helpful / self.probes.max(1.0),
        }
    }
}

/// Runs the evaluation: `out[0]` is the base sampler, then one entry per lambda in `lambdas`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    generator: &Generator<'_>,
    rm: &RuleModels,
    pref: &Scorer,
    corpus: &Corpus,
    questions: &[usize],
    n: usize,
    lambdas: &[f64],
    repeats: usize,
    seed: &Rng,
) -> Result<Vec<SystemResult>, LabError> {
    let dialogue = generator.dialogue;
    let n_rules = dialogue.rules.len();
    let mut accs: Vec<Acc> = (0..=lambdas.len())
        .map(|_| Acc {
            per_rule: vec![(0.0, 0.0); n_rules],
            ..Acc::default()
        })
        .collect();
    let mut contexts: Vec<Context<'_>> = Vec::new();
    for g in dialogue.groups.iter().filter(|g| g.held_out) {
        for u in &g.users {
            contexts.push(Context::Probe { text: u, group: g });
        }
    }
    for &qi in questions {
        let q = &corpus.questions[qi];
        contexts.push(Context::Factual {
            text: &q.text,
            gold: q.gold,
            answer: q.answer,
        });
    }
    for ctx in &contexts {
        let reps = if matches!(ctx, Context::Probe { .. }) {
            repeats
        } else {
            1
        };
        for rep in 0..reps {
            let mut rng = seed.fork(fnv1a(ctx.text().as_bytes()) ^ rep as u64);
            let cands = generator.candidates(*ctx, n, &mut rng)?;
            let s = score(dialogue, rm, pref, ctx.text(), &cands)?;
            let base = 0;
            let picks: Vec<usize> = std::iter::once(base)
                .chain(lambdas.iter().map(|&l| s.winner(l)))
                .collect();
            for (acc, &pick) in accs.iter_mut().zip(&picks) {
                let c = &cands[pick];
                let d = (utility(c, ctx) - utility(&cands[base], ctx)) / RATER_TEMPERATURE;
                let p = 1.0 / (1.0 + (-d).exp());
                acc.pref += p;
                acc.pref_n += 1.0;
                match ctx {
                    Context::Probe { group, .. } => {
                        acc.probes += 1.0;
                        acc.probe_pref += p;
                        acc.probe_searched += f64::from(u8::from(c.search.is_some()));
                        acc.probe_helpful += f64::from(u8::from(
                            c.truth.helpful && c.truth.violates.is_empty() && c.search.is_none(),
                        ));
                        acc.broke_any += f64::from(u8::from(!c.truth.violates.is_empty()));
                        let e = &mut acc.per_rule[group.rule];
                        e.0 += f64::from(u8::from(c.truth.violates.contains(&group.rule)));
                        e.1 += 1.0;
                    }
                    Context::Factual { .. } => {
                        acc.facts += 1.0;
                        let answered = matches!(c.source, Source::Reader | Source::ClosedBook)
                            && !c.truth.evasive;
                        if answered {
                            acc.answered += 1.0;
                            if c.truth.correct == Some(true) && c.truth.supported == Some(true) {
                                acc.good += 1.0;
                            }
                        }
                        acc.searched += f64::from(u8::from(c.search.is_some()));
                    }
                    Context::Free(_) => {}
                }
            }
        }
    }
    Ok(std::iter::once(f64::NAN)
        .chain(lambdas.iter().copied())
        .zip(&accs)
        .map(|(l, a)| a.result(l))
        .collect())
}
