//! Live retraining on the user's feedback (see [`super::feedback`]): the rule-conditional and
//! preference models restart from the run's trained models, fit a few epochs on the authored
//! data plus the user's items, and every asked turn is re-scored.

use super::SparrowLab;
use super::chat::{Scored, max_of, top_rules};
use super::dialogue::Judgement;
use super::feedback::{
    LIVE_PREF_BOOST, LIVE_PREF_EPOCHS, LIVE_PREF_LR, LIVE_RULE_EPOCHS, LIVE_RULE_LR, LIVE_STREAM,
    USER_WEIGHT,
};
use super::generate::pref_features_of;
use super::rm::judge_features;
use super::scorer::{Fit, Scorer, adam, epoch_binary, epoch_pairs};
use crate::data::text::Sparse;
use crate::error::LabError;
use crate::nn::roc_auc;

/// Features of the authored judgements, computed once on the first live retrain.
pub(super) struct Cache {
    pub(super) train_x: Vec<Sparse>,
    pub(super) train_y: Vec<f32>,
    pub(super) held_x: Vec<Sparse>,
    pub(super) held_y: Vec<bool>,
    pub(super) held_rule: Vec<usize>,
}

/// Held-out ROC AUC of one rule-conditional model: pooled, and per rule.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HeldOutAuc {
    pub(super) pooled: f64,
    pub(super) per_rule: Vec<f64>,
}

impl SparrowLab {
    pub(super) fn ensure_cache(&mut self) {
        if self.feedback.cache.is_some() {
            return;
        }
        let rules = &self.dialogue.rules;
        let feats = |js: &[Judgement]| -> Vec<Sparse> {
            js.iter()
                .map(|j| judge_features(Some(&rules[j.rule]), &j.user, &j.agent))
                .collect()
        };
        let train = self.judgements(false);
        let held = self.judgements(true);
        self.feedback.cache = Some(Cache {
            train_x: feats(&train),
            train_y: train
                .iter()
                .map(|j| f32::from(u8::from(j.violates)))
                .collect(),
            held_x: feats(&held),
            held_y: held.iter().map(|j| j.violates).collect(),
            held_rule: held.iter().map(|j| j.rule).collect(),
        });
    }

    /// Fits the rule-conditional model afresh from the initially trained one: a few epochs
    /// over the authored training judgements, plus the user's (each weighted [`USER_WEIGHT`])
    /// when `with_user`. Always from the same starting point and seed, so the result depends
    /// on the user's labels, not on how many retrains came before, and the run without them
    /// is the fair control.
    fn fit_rule_model(&self, base: &Scorer, with_user: bool) -> Result<Scorer, LabError> {
        let c = self
            .feedback
            .cache
            .as_ref()
            .ok_or_else(|| LabError::compute("judgement features missing"))?;
        let rules = &self.dialogue.rules;
        let user: &[Judgement] = if with_user {
            &self.feedback.judgements
        } else {
            &[]
        };
        let user_x: Vec<Sparse> = user
            .iter()
            .map(|j| judge_features(Some(&rules[j.rule]), &j.user, &j.agent))
            .collect();
        let x: Vec<&Sparse> = c.train_x.iter().chain(&user_x).collect();
        let mut y = c.train_y.clone();
        y.extend(user.iter().map(|j| f32::from(u8::from(j.violates))));
        let mut w = vec![1.0f32; c.train_x.len()];
        w.extend(std::iter::repeat_n(USER_WEIGHT as f32, user_x.len()));
        let fit = Fit {
            epochs: 1,
            lr: LIVE_RULE_LR,
            batch: 32,
            l2: 1e-5,
        };
        let mut opt = adam();
        let mut rng = self.root.fork(LIVE_STREAM);
        let mut model = base.clone();
        for _ in 0..LIVE_RULE_EPOCHS {
            model = epoch_binary(model, &mut opt, &x, &y, &w, fit, &mut rng, &self.device)?.0;
        }
        Ok(model)
    }

    /// Held-out ROC AUC of a rule-conditional model, pooled and per rule.
    fn held_out_auc(&self, model: &Scorer) -> Result<HeldOutAuc, LabError> {
        let c = self
            .feedback
            .cache
            .as_ref()
            .ok_or_else(|| LabError::compute("judgement features missing"))?;
        let p = model.probs(&c.held_x.iter().collect::<Vec<_>>())?;
        let per_rule = (0..self.dialogue.rules.len())
            .map(|r| {
                let ids: Vec<usize> = (0..p.len()).filter(|&i| c.held_rule[i] == r).collect();
                let pr: Vec<f32> = ids.iter().map(|&i| p[i]).collect();
                let yr: Vec<bool> = ids.iter().map(|&i| c.held_y[i]).collect();
                roc_auc(&pr, &yr)
            })
            .collect();
        Ok(HeldOutAuc {
            pooled: roc_auc(&p, &c.held_y),
            per_rule,
        })
    }

    /// Retrains the rule-conditional model (the one the re-ranker uses) on the authored
    /// training judgements plus the user's, warm-started from the initially trained model
    /// (see [`Self::fit_rule_model`]); the per-rule and general classifiers only serve the AUC
    /// comparison and keep their initial training. Returns the held-out AUC of the same
    /// retrain without the user's labels (computed once) and with them.
    pub(super) fn retrain_rules(&mut self) -> Result<(HeldOutAuc, HeldOutAuc), LabError> {
        self.ensure_cache();
        let base = match &self.feedback.base_rule {
            Some(b) => b.clone(),
            None => {
                let rm = self
                    .rm
                    .as_ref()
                    .ok_or_else(|| LabError::compute("rule models missing"))?;
                let b = rm.conditional.clone();
                self.feedback.base_rule = Some(b.clone());
                b
            }
        };
        let control = match &self.feedback.control_auc {
            Some(a) => a.clone(),
            None => {
                let m = self.fit_rule_model(&base, false)?;
                let a = self.held_out_auc(&m)?;
                self.feedback.control_auc = Some(a.clone());
                a
            }
        };
        let model = self.fit_rule_model(&base, true)?;
        let after = self.held_out_auc(&model)?;
        let rm = self
            .rm
            .as_mut()
            .ok_or_else(|| LabError::compute("rule models missing"))?;
        rm.conditional = model;
        self.feedback.live_auc = after.pooled;
        Ok((control, after))
    }

    /// Retrains the preference model on the simulated comparisons plus the user's, each user
    /// pair repeated [`USER_WEIGHT`] times, warm-started from the initially trained model (as
    /// the rule model, so the result depends on the pairs, not on the number of retrains).
    pub(super) fn retrain_preference(&mut self) -> Result<(), LabError> {
        let base = self
            .feedback
            .base_pref
            .get_or_insert_with(|| self.pref.clone())
            .clone();
        let sim = self.feedback.sim_pairs.min(self.pref_pairs.len());
        let mut pairs: Vec<(&Sparse, &Sparse)> = self.pref_pairs[..sim]
            .iter()
            .map(|&(a, b)| (&self.pref_feats[a], &self.pref_feats[b]))
            .collect();
        for (w, l) in &self.feedback.pairs {
            pairs.extend(std::iter::repeat_n((w, l), USER_WEIGHT * LIVE_PREF_BOOST));
        }
        let fit = Fit {
            epochs: 1,
            lr: LIVE_PREF_LR,
            batch: 64,
            l2: 1e-6,
        };
        let mut opt = adam();
        let mut rng = self.root.fork(LIVE_STREAM + 1);
        let mut model = base;
        for _ in 0..LIVE_PREF_EPOCHS {
            model = epoch_pairs(model, &mut opt, &pairs, fit, &mut rng, &self.device)?.0;
        }
        self.pref = model;
        Ok(())
    }

    /// Re-scores every asked turn with the current reward models and lambda.
    pub(super) fn rescore_asked(&mut self) -> Result<(), LabError> {
        let rm = self
            .rm
            .as_ref()
            .ok_or_else(|| LabError::compute("rule models missing"))?;
        let rules = &self.dialogue.rules;
        for t in &mut self.asked {
            let texts: Vec<&str> = t.candidates.iter().map(|r| r.text.as_str()).collect();
            let viol = rm.violation_matrix(rules, &t.user, &texts)?;
            let feats: Vec<Sparse> = t
                .candidates
                .iter()
                .zip(&viol)
                .map(|(r, v)| {
                    pref_features_of(
                        &t.user,
                        &r.text,
                        r.search.is_some(),
                        r.reader_conf,
                        r.p_retrieval,
                        r.p_probe,
                        max_of(v),
                    )
                })
                .collect();
            let pref = self.pref.logits(&feats.iter().collect::<Vec<_>>())?;
            let s = Scored { pref, viol };
            for (i, row) in t.candidates.iter_mut().enumerate() {
                row.preference = s.pref[i];
                row.top_rules = top_rules(&s.viol[i], rules);
                row.max_violation = s.max_viol(i);
                row.score = s.pref[i] - self.cfg.lambda as f32 * row.max_violation;
            }
            t.winner = s.winner(self.cfg.lambda);
        }
        Ok(())
    }

    /// P(candidate `cand` of asked turn `turn` breaks rule `rule`), by the rule-conditional
    /// model the re-ranker uses now.
    pub fn violation_of(&self, turn: usize, cand: usize, rule: usize) -> Result<f32, LabError> {
        let rm = self
            .rm
            .as_ref()
            .ok_or_else(|| LabError::compute("the agent is not trained yet"))?;
        let t = self
            .asked
            .get(turn)
            .ok_or_else(|| LabError::compute(format!("no asked turn {turn}")))?;
        let c = t
            .candidates
            .get(cand)
            .ok_or_else(|| LabError::compute(format!("no candidate {cand}")))?;
        let r = self
            .dialogue
            .rules
            .get(rule)
            .ok_or_else(|| LabError::compute(format!("no rule {rule}")))?;
        let p = rm
            .conditional
            .probs(&[&judge_features(Some(r), &t.user, &c.text)])?;
        Ok(p[0])
    }
}
