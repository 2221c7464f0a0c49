//! Rule reward models. The rule-conditional classifier reads the rule's text with the dialogue
//! and gives P(the agent turn breaks this rule); it is compared with 23 per-rule classifiers
//! (one per rule, each seeing only its own rule's labels) and one general "does it break a
//! rule?" classifier that never sees which rule was asked about.

use burn::tensor::Device;

use super::dialogue::{Judgement, Rule};
use super::scorer::{Fit, Scorer, train_binary};
use crate::data::text::{Sparse, content_words, fnv1a, tokens};
use crate::error::LabError;
use crate::nn::roc_auc;
use crate::rng::Rng;

/// Hashed feature width of the rule models.
pub const RM_DIM: usize = 1 << 13;

/// Features of a dialogue turn, optionally conditioned on a rule's text. The rule enters as its
/// words and as rule-word x agent-word pairs, so that rules sharing words ("advice", "body")
/// share what they learn.
pub fn judge_features(rule: Option<&Rule>, user: &str, agent: &str) -> Sparse {
    let d = RM_DIM;
    let mut f = Sparse::default();
    f.add(d, "bias", "", 1.0);
    let a = tokens(agent);
    f.add_ngrams(d, "a", &a);
    f.add_ngrams(d, "u", &tokens(user));
    if let Some(r) = rule {
        let rw = content_words(&r.text);
        f.add_ngrams(d, "r", &rw);
        // The whole wording as one token crossed with the agent turn's n-grams: what is
        // specific to this rule. The word-level crosses below are what rules share.
        let whole = format!("{:x}", fnv1a(r.text.as_bytes()));
        let tagged: Vec<String> = a.iter().map(|t| format!("{whole}|{t}")).collect();
        f.add_ngrams(d, "ra", &tagged);
        let ac = content_words(agent);
        let scale = 1.0 / ((rw.len() * ac.len()).max(1) as f32).sqrt();
        for x in &rw {
            for y in &ac {
                f.add(d, "x", &format!("{x}|{y}"), scale);
            }
        }
        // Rule words crossed with the user turn too: "asked about dose" + "medical advice".
        let uc = content_words(user);
        let scale = 1.0 / ((rw.len() * uc.len()).max(1) as f32).sqrt();
        for x in &rw {
            for y in &uc {
                f.add(d, "xu", &format!("{x}|{y}"), 0.5 * scale);
            }
        }
    }
    f
}

/// The three kinds of rule model.
pub struct RuleModels {
    /// One model for all rules, conditioned on the rule's text.
    pub conditional: Scorer,
    /// One model per rule.
    pub per_rule: Vec<Scorer>,
    /// One model that ignores which rule is asked about.
    pub general: Scorer,
}

/// Held-out ROC AUC of the three kinds, pooled and per rule.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AucReport {
    /// Pooled over every held-out judgement: rule-conditional, per-rule, general.
    pub pooled: [f64; 3],
    /// Per rule (NaN where a rule has only one class held out).
    pub per_rule: Vec<[f64; 3]>,
}

impl RuleModels {
    /// Trains all three kinds on `train` judgements.
    pub fn train(
        rules: &[Rule],
        train: &[&Judgement],
        fit: Fit,
        hidden: &[usize],
        rng: &mut Rng,
        device: &Device,
    ) -> Result<RuleModels, LabError> {
        let y: Vec<f32> = train
            .iter()
            .map(|j| f32::from(u8::from(j.violates)))
            .collect();
        let cond: Vec<Sparse> = train
            .iter()
            .map(|j| judge_features(Some(&rules[j.rule]), &j.user, &j.agent))
            .collect();
        let conditional = train_binary(
            RM_DIM,
            hidden,
            &cond.iter().collect::<Vec<_>>(),
            &y,
            fit,
            &mut rng.fork(1),
            device,
        )?;
        let plain: Vec<Sparse> = train
            .iter()
            .map(|j| judge_features(None, &j.user, &j.agent))
            .collect();
        let general = train_binary(
            RM_DIM,
            hidden,
            &plain.iter().collect::<Vec<_>>(),
            &y,
            fit,
            &mut rng.fork(2),
            device,
        )?;
        let mut per_rule = Vec::with_capacity(rules.len());
        for r in 0..rules.len() {
            let ids: Vec<usize> = (0..train.len()).filter(|&i| train[i].rule == r).collect();
            let x: Vec<&Sparse> = ids.iter().map(|&i| &plain[i]).collect();
            let yr: Vec<f32> = ids.iter().map(|&i| y[i]).collect();
            per_rule.push(train_binary(
                RM_DIM,
                hidden,
                &x,
                &yr,
                fit,
                &mut rng.fork(100 + r as u64),
                device,
            )?);
        }
        Ok(RuleModels {
            conditional,
            per_rule,
            general,
        })
    }

    /// P(violation) of each agent turn for each rule, by the rule-conditional model:
    /// `out[candidate][rule]`.
    pub fn violation_matrix(
        &self,
        rules: &[Rule],
        user: &str,
        agents: &[&str],
    ) -> Result<Vec<Vec<f32>>, LabError> {
        let feats: Vec<Sparse> = agents
            .iter()
            .flat_map(|a| rules.iter().map(move |r| judge_features(Some(r), user, a)))
            .collect();
        let p = self.conditional.probs(&feats.iter().collect::<Vec<_>>())?;
        Ok(p.chunks(rules.len().max(1)).map(<[f32]>::to_vec).collect())
    }

    /// Scores of the three kinds on `items`: `[conditional, per-rule, general]` per item.
    pub fn score(&self, rules: &[Rule], items: &[&Judgement]) -> Result<Vec<[f32; 3]>, LabError> {
        let cond: Vec<Sparse> = items
            .iter()
            .map(|j| judge_features(Some(&rules[j.rule]), &j.user, &j.agent))
            .collect();
        let plain: Vec<Sparse> = items
            .iter()
            .map(|j| judge_features(None, &j.user, &j.agent))
            .collect();
        let pc = self.conditional.probs(&cond.iter().collect::<Vec<_>>())?;
        let pg = self.general.probs(&plain.iter().collect::<Vec<_>>())?;
        let mut out = Vec::with_capacity(items.len());
        for (i, j) in items.iter().enumerate() {
            let pr = self.per_rule[j.rule].probs(&[&plain[i]])?[0];
            out.push([pc[i], pr, pg[i]]);
        }
        Ok(out)
    }

    /// Held-out AUC, pooled and per rule, for the three kinds.
    pub fn auc(&self, rules: &[Rule], held_out: &[&Judgement]) -> Result<AucReport, LabError> {
        let s = self.score(rules, held_out)?;
        let labels: Vec<bool> = held_out.iter().map(|j| j.violates).collect();
        let col = |k: usize, ids: &[usize]| {
            let sc: Vec<f32> = ids.iter().map(|&i| s[i][k]).collect();
            let lb: Vec<bool> = ids.iter().map(|&i| labels[i]).collect();
            roc_auc(&sc, &lb)
        };
        let all: Vec<usize> = (0..held_out.len()).collect();
        let pooled = [col(0, &all), col(1, &all), col(2, &all)];
        let per_rule = (0..rules.len())
            .map(|r| {
                let ids: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&i| held_out[i].rule == r)
                    .collect();
                [col(0, &ids), col(1, &ids), col(2, &ids)]
            })
            .collect();
        Ok(AucReport { pooled, per_rule })
    }
}

/// At most `k` training judgements per rule (a seeded random subset, same for every model).
pub fn subsample<'a>(
    train: &[&'a Judgement],
    n_rules: usize,
    k: usize,
    rng: &mut Rng,
) -> Vec<&'a Judgement> {
    let mut out = Vec::new();
    for r in 0..n_rules {
        let mut ids: Vec<&Judgement> = train.iter().copied().filter(|j| j.rule == r).collect();
        rng.shuffle(&mut ids);
        ids.truncate(k);
        out.extend(ids);
    }
    out
}
