//! The Sparrow lab's training and evaluation tasks, one method per kind of step.

use std::path::PathBuf;

use super::*;

impl SparrowLab {
    /// Builds (or opens the cached) BM25 index over the paragraphs.
    pub(super) fn build_index(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let ps = &self.corpus.paragraphs;
        self.index = Some(match self.cfg.index_dir.as_str() {
            "ram" => SearchIndex::in_ram(ps)?,
            dir => {
                let base = if dir.is_empty() {
                    search::default_cache_dir()
                } else {
                    PathBuf::from(dir)
                };
                let fp = text::fnv1a(
                    format!("{}|{}", corpus::embedded_fingerprint()?, ps.len()).as_bytes(),
                );
                SearchIndex::cached(&base.join(format!("sparrow-bm25-{fp:016x}")), ps)?
            }
        });
        report.push("paragraphs_indexed", ps.len() as f64);
        Ok(())
    }

    /// Retrieves the top k for one chunk of training questions.
    pub(super) fn retrieve_train(
        &mut self,
        c: usize,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let lo = c * self.cfg.chunk;
        let hi = (lo + self.cfg.chunk).min(self.train_q.len());
        for i in lo..hi {
            let q = &self.corpus.questions[self.train_q[i]];
            let hits = self.index()?.search(&q.text, self.cfg.k)?;
            self.train_hits.push(hits);
        }
        let found = self
            .train_q
            .iter()
            .zip(&self.train_hits)
            .filter(|(q, h)| {
                h.first()
                    .is_some_and(|h| h.id == self.corpus.questions[**q].gold)
            })
            .count();
        report.push(
            "train_bm25_gold_at1",
            found as f64 / self.train_hits.len().max(1) as f64,
        );
        Ok(())
    }

    /// One epoch of the evidence re-ranker (gold hits weighted up).
    pub(super) fn train_reranker(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        if self.rerank_xy.0.is_empty() {
            self.rerank_xy = self.rerank_data();
        }
        // Gold hits are rare (at most 1 in k): weight them up to balance the classes.
        let y = &self.rerank_xy.1;
        let pos = y.iter().filter(|&&v| v > 0.5).count().max(1) as f32;
        let w_pos = (y.len() as f32 - pos) / pos;
        let w: Vec<f32> = y
            .iter()
            .map(|&v| if v > 0.5 { w_pos } else { 1.0 })
            .collect();
        let fit = self.fit(1);
        let loss = binary_epoch(
            &mut self.qa.reranker,
            &mut self.rerank_opt,
            &self.rerank_xy,
            &w,
            fit,
            &mut self.rng_train,
            &self.device,
        )?;
        report.push("rerank_loss", loss);
        Ok(())
    }

    /// One epoch of the yes/no reader.
    pub(super) fn train_reader(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        if self.reader_xy.0.is_empty() {
            self.reader_xy = self.reader_data();
        }
        let w = vec![1.0; self.reader_xy.1.len()];
        let fit = self.fit(1);
        let loss = binary_epoch(
            &mut self.qa.reader,
            &mut self.reader_opt,
            &self.reader_xy,
            &w,
            fit,
            &mut self.rng_train,
            &self.device,
        )?;
        report.push("reader_loss", loss);
        Ok(())
    }

    /// Answers one chunk of validation questions; calibrates after the last.
    pub(super) fn validate_chunk(
        &mut self,
        c: usize,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let o = self.answer_chunk(&self.val_q, c)?;
        self.val_outcomes.extend(o);
        if self.val_outcomes.len() == self.val_q.len() {
            self.calibrate(report);
        }
        Ok(())
    }

    /// Answers one chunk of held-out questions; reports after the last.
    pub(super) fn eval_qa_chunk(
        &mut self,
        c: usize,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let o = self.answer_chunk(&self.eval_q, c)?;
        self.outcomes.extend(o);
        if self.outcomes.len() == self.eval_q.len() {
            self.push_qa_metrics(report);
        }
        Ok(())
    }

    /// Trains the rule-conditional, per-rule and general rule models; held-out AUC.
    pub(super) fn train_rule_models(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let train = self.judgements(false);
        let held = self.judgements(true);
        let fit = Fit {
            epochs: self.cfg.rm_epochs,
            lr: 0.01,
            batch: 32,
            l2: 1e-5,
        };
        let mut rng = self.root.fork(3);
        let rm = RuleModels::train(
            &self.dialogue.rules,
            &self.feedback.with_user(&train),
            fit,
            &self.cfg.rm_hidden,
            &mut rng,
            &self.device,
        )?;
        let auc = rm.auc(&self.dialogue.rules, &held.iter().collect::<Vec<_>>())?;
        self.feedback_after_rule_models(auc.pooled[0], report);
        report.push("auc_rule_conditional", auc.pooled[0]);
        report.push("auc_per_rule", auc.pooled[1]);
        report.push("auc_general", auc.pooled[2]);
        report.push("rm_train_items", train.len() as f64);
        report.push("rm_held_out_items", held.len() as f64);
        self.rm = Some(rm);
        self.auc = Some(auc);
        Ok(())
    }

    /// Retrains the rule models on a per-rule label budget (data efficiency).
    pub(super) fn label_budget(
        &mut self,
        i: usize,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let k = self.cfg.label_budgets[i];
        let train = self.judgements(false);
        let held = self.judgements(true);
        let refs: Vec<&Judgement> = train.iter().collect();
        let mut rng = self.root.fork(10 + i as u64);
        let sub = if k == 0 {
            refs
        } else {
            rm::subsample(&refs, self.dialogue.rules.len(), k, &mut rng)
        };
        let fit = Fit {
            epochs: self.cfg.rm_epochs,
            lr: 0.01,
            batch: 32,
            l2: 1e-5,
        };
        let m = RuleModels::train(
            &self.dialogue.rules,
            &sub,
            fit,
            &self.cfg.rm_hidden,
            &mut rng,
            &self.device,
        )?;
        let auc = m.auc(&self.dialogue.rules, &held.iter().collect::<Vec<_>>())?;
        let per_rule = sub.len() as f64 / self.dialogue.rules.len() as f64;
        report.push("budget_labels_per_rule", per_rule);
        report.push("budget_auc_rule_conditional", auc.pooled[0]);
        report.push("budget_auc_per_rule", auc.pooled[1]);
        report.push("budget_auc_general", auc.pooled[2]);
        self.budgets.push((per_rule.round() as usize, auc.pooled));
        Ok(())
    }

    /// One epoch of the Bradley-Terry preference model.
    pub(super) fn train_preference_epoch(
        &mut self,
        report: &mut StepReport,
    ) -> Result<(), LabError> {
        let pairs: Vec<(&Sparse, &Sparse)> = self
            .pref_pairs
            .iter()
            .map(|&(a, b)| (&self.pref_feats[a], &self.pref_feats[b]))
            .collect();
        let fit = Fit {
            epochs: 1,
            lr: 0.01,
            batch: 64,
            l2: 1e-6,
        };
        let loss = train_in_place(&mut self.pref, &self.device, |m| {
            epoch_pairs(
                m,
                &mut self.pref_opt,
                &pairs,
                fit,
                &mut self.rng_train,
                &self.device,
            )
        })?;
        report.push("pref_loss", loss);
        Ok(())
    }
}

/// One weighted epoch of a binary scorer (the re-ranker or the reader) on its `(x, y)` data.
fn binary_epoch(
    model: &mut Scorer,
    opt: &mut ModuleOptimizer,
    xy: &(Vec<Sparse>, Vec<f32>),
    w: &[f32],
    fit: Fit,
    rng: &mut Rng,
    device: &Device,
) -> Result<f64, LabError> {
    let x: Vec<&Sparse> = xy.0.iter().collect();
    train_in_place(model, device, |m| {
        epoch_binary(m, opt, &x, &xy.1, w, fit, rng, device)
    })
}
