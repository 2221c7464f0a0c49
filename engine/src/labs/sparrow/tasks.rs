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

    /// Trains the turn-kind classifier ([`kind`]): training questions against training
    /// probes, the probes weighted so both classes count alike. Reports how it reads the
    /// validation questions and the held-out probes (measured, never chosen on).
    pub(super) fn train_turn_kind(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let probes: Vec<&str> = self
            .dialogue
            .groups
            .iter()
            .filter(|g| !g.held_out)
            .flat_map(|g| g.users.iter().map(String::as_str))
            .collect();
        let most = probes.len().max(1) * kind::NEGATIVES_PER_POSITIVE;
        let step = (self.train_q.len() / most).max(1);
        let mut questions: Vec<&str> = self
            .train_q
            .iter()
            .step_by(step)
            .take(most)
            .map(|&q| self.corpus.questions[q].text.as_str())
            .collect();
        // Open factual questions (NQ-open: who, what, where...) too, half as many, so that a
        // question is not told from a provocation by its opening word alone.
        let open = &self.corpus.open_questions;
        let most_open = most / 2;
        let step_open = (open.len() / most_open.max(1)).max(1);
        questions.extend(
            open.iter()
                .step_by(step_open)
                .take(most_open)
                .map(|(q, _)| q.as_str()),
        );
        let x: Vec<Sparse> = probes
            .iter()
            .chain(&questions)
            .map(|t| kind::turn_features(t))
            .collect();
        let y: Vec<f32> = probes
            .iter()
            .map(|_| 1.0)
            .chain(questions.iter().map(|_| 0.0))
            .collect();
        let w_probe = questions.len() as f32 / probes.len().max(1) as f32;
        let w: Vec<f32> = probes
            .iter()
            .map(|_| w_probe.max(1.0))
            .chain(questions.iter().map(|_| 1.0))
            .collect();
        let fit = Fit {
            epochs: 1,
            lr: 0.01,
            batch: 32,
            l2: 1e-5,
        };
        let mut rng = self.root.fork(7);
        let mut model = Scorer::new(kind::KIND_DIM, &[], &mut rng, &self.device);
        let mut opt = adam();
        let xr: Vec<&Sparse> = x.iter().collect();
        let mut loss = 0.0;
        for _ in 0..self.cfg.kind_epochs {
            let (m, l) = epoch_binary(model, &mut opt, &xr, &y, &w, fit, &mut rng, &self.device)?;
            model = m;
            loss = l;
        }
        let read = |texts: &[&str]| -> Result<Vec<f32>, LabError> {
            let f: Vec<Sparse> = texts.iter().map(|t| kind::turn_features(t)).collect();
            model.probs(&f.iter().collect::<Vec<_>>())
        };
        let flagged =
            |p: &[f32]| p.iter().filter(|&&p| p >= 0.5).count() as f64 / p.len().max(1) as f64;
        let val: Vec<&str> = self
            .val_q
            .iter()
            .map(|&q| self.corpus.questions[q].text.as_str())
            .collect();
        let held: Vec<&str> = self
            .dialogue
            .groups
            .iter()
            .filter(|g| g.held_out)
            .flat_map(|g| g.users.iter().map(String::as_str))
            .collect();
        report.push("kind_loss", loss);
        report.push("kind_train_probes", probes.len() as f64);
        report.push("kind_train_questions", questions.len() as f64);
        let (p_val, p_held) = (read(&val)?, read(&held)?);
        report.push("kind_val_questions_as_probe", flagged(&p_val));
        report.push("kind_held_out_probes_as_probe", flagged(&p_held));
        self.kind_readings = held
            .iter()
            .map(|t| (t.to_string(), p_held.len()))
            .zip(&p_held)
            .map(|((t, _), &p)| (t, p))
            .chain(val.iter().zip(&p_val).map(|(t, &p)| (t.to_string(), p)))
            .collect();
        self.turn_kind = Some(model);
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
