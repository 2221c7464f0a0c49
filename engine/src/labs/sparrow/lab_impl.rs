//! The [`Lab`] implementation of the Sparrow lab: one task per step.

use super::*;
use crate::results::{Cell, CurveSet, Line, Results, Table};

impl Lab for SparrowLab {
    const ID: &'static str = "sparrow";
    const NAME: &'static str = "Sparrow: rules, evidence and re-ranking @N";
    const PAPER: &'static str =
        "Glaese et al. 2022, Improving alignment of dialogue agents via targeted human judgements";
    const SUMMARY: &'static str = "An agent that searches BoolQ's 12,271 Wikipedia paragraphs \
        (tantivy BM25 plus a learned re-ranker), shows the evidence and answers yes/no with a \
        learned reader, declining when unsure. 23 rules as data; a rule-conditional reward model \
        is compared with per-rule and general classifiers on held-out phrasings; a Bradley-Terry \
        preference model learns from a simulated rater; N candidates from a labelled stand-in \
        generator are re-ranked on held-out red-team probes.";
    const TINY: &'static [&'static str] = &[
        "index_dir=\"ram\"",
        "corpus_limit=150",
        "train_questions=120",
        "eval_questions=40",
        "rerank_epochs=1",
        "reader_epochs=2",
        "rm_epochs=4",
        "label_budgets=[4]",
        "pref_questions=10",
        "pref_pairs=4",
        "pref_epochs=2",
        "probe_repeats=1",
        "decide_questions=6",
    ];

    type Config = SparrowConfig;
    type View = SparrowView;
    type Action = SparrowAction;

    fn new(cfg: SparrowConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let full = corpus::embedded()?;
        let dialogue = Dialogue::embedded()?;
        let dialogue = if cfg.probe_validation {
            dialogue.validation_split()
        } else {
            dialogue
        };
        // Before any training, so that the user's earlier judgements count.
        let feedback = feedback::Feedback::load(&cfg.feedback_file, &dialogue.rules)?;
        let root = Rng::new(cfg.seed);
        let take = |held: bool, limit: usize| -> Vec<usize> {
            let ids: Vec<usize> = (0..full.questions.len())
                .filter(|&i| full.questions[i].held_out == held)
                .collect();
            // An evenly spread subset (limit 0 = all), so small runs still see every kind of
            // question.
            match ids.len().checked_div(limit) {
                None => ids,
                Some(step) => ids.into_iter().step_by(step.max(1)).take(limit).collect(),
            }
        };
        let train_ids = take(false, cfg.train_questions);
        let eval_ids = take(true, cfg.eval_questions);
        let (corpus, train_q, eval_q) = if cfg.corpus_limit > 0 {
            let all: Vec<usize> = train_ids.iter().chain(&eval_ids).copied().collect();
            let small = shrink(&full, &all, cfg.corpus_limit);
            let n_train = train_ids.len();
            (
                Arc::new(small),
                (0..n_train).collect(),
                (n_train..all.len()).collect(),
            )
        } else {
            (full, train_ids, eval_ids)
        };
        let (val_q, train_q): (Vec<usize>, Vec<usize>) = train_q.into_iter().partition(|&q| {
            corpus::is_validation(
                &corpus.paragraphs[corpus.questions[q].gold].text,
                cfg.val_share,
            )
        });
        let mut tasks = vec![Task::Index];
        tasks.extend((0..Self::n_chunks(train_q.len(), cfg.chunk)).map(Task::RetrieveTrain));
        tasks.extend((0..cfg.rerank_epochs).map(Task::Rerank));
        tasks.extend((0..cfg.reader_epochs).map(Task::Reader));
        tasks.extend((0..Self::n_chunks(val_q.len(), cfg.chunk)).map(Task::Validate));
        tasks.extend((0..Self::n_chunks(eval_q.len(), cfg.chunk)).map(Task::EvalQa));
        tasks.push(Task::RuleModels);
        tasks.extend((0..cfg.label_budgets.len()).map(Task::Budget));
        if cfg.kind_epochs > 0 {
            tasks.push(Task::TurnKind);
        }
        tasks.push(Task::PrefData);
        tasks.extend((0..cfg.pref_epochs).map(Task::Pref));
        tasks.push(Task::Dialogue);
        let mut init = root.fork(1);
        let qa = Qa {
            reranker: Scorer::new(RERANK_DIM, &cfg.rerank_hidden, &mut init, &device),
            reader: Scorer::new(READER_DIM, &[], &mut init, &device),
            calibrator: None,
        };
        let pref = Scorer::new(generate::PREF_DIM, &[], &mut init, &device);
        Ok(SparrowLab {
            rng_train: root.fork(2),
            cfg,
            device,
            root,
            corpus,
            dialogue,
            train_q,
            val_q,
            eval_q,
            tasks,
            next: 0,
            index: None,
            train_hits: Vec::new(),
            rerank_xy: (Vec::new(), Vec::new()),
            reader_xy: (Vec::new(), Vec::new()),
            qa,
            rerank_opt: adam(),
            reader_opt: adam(),
            outcomes: Vec::new(),
            val_outcomes: Vec::new(),
            chosen_threshold: None,
            rm: None,
            auc: None,
            budgets: Vec::new(),
            pref_feats: Vec::new(),
            pref_pairs: Vec::new(),
            pref,
            pref_opt: adam(),
            turn_kind: None,
            kind_readings: Vec::new(),
            systems: Vec::new(),
            samples: Vec::new(),
            asked: Vec::new(),
            next_turn: 0,
            last_loss: Vec::new(),
            feedback,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let Some(&task) = self.tasks.get(self.next) else {
            return Ok(report);
        };
        match task {
            Task::Index => self.build_index(&mut report)?,
            Task::RetrieveTrain(c) => self.retrieve_train(c, &mut report)?,
            Task::Rerank(_) => self.train_reranker(&mut report)?,
            Task::Reader(_) => self.train_reader(&mut report)?,
            Task::Validate(c) => self.validate_chunk(c, &mut report)?,
            Task::EvalQa(c) => self.eval_qa_chunk(c, &mut report)?,
            Task::RuleModels => self.train_rule_models(&mut report)?,
            Task::Budget(i) => self.label_budget(i, &mut report)?,
            Task::TurnKind => self.train_turn_kind(&mut report)?,
            Task::PrefData => self.collect_preferences(&mut report)?,
            Task::Pref(_) => self.train_preference_epoch(&mut report)?,
            Task::Dialogue => self.evaluate_dialogue(&mut report)?,
        }
        self.next += 1;
        for (k, v) in &report.metrics {
            if k.ends_with("_loss") {
                self.last_loss.retain(|(n, _)| n != k);
                self.last_loss.push((k.clone(), *v));
            }
        }
        Ok(report)
    }

    fn view(&self) -> SparrowView {
        self.make_view()
    }

    fn config(&self) -> &SparrowConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut SparrowConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "n_candidates",
                "N (candidates)",
                "How many candidates re-ranking @N chooses from (half with evidence).",
            ),
            Knob::new(
                "lambda",
                "lambda (rule penalty)",
                "score = preference - lambda x max P(violation)",
            ),
            Knob::new(
                "threshold",
                "decline threshold",
                "Answer only when the calibrated P(supported and plausible) reaches this.",
            ),
        ];
        KNOBS
    }

    /// The threshold knob shows the value in force: the config's, or the one chosen on the
    /// validation questions while the config leaves it unset.
    fn knob_value(&self, key: &str) -> Option<KnobValue> {
        (key == "threshold").then(|| KnobValue::Float(self.threshold()))
    }

    fn headline(_: &SparrowConfig) -> Vec<&'static str> {
        vec![
            "coverage",
            "sp_rate",
            "violation_rate_rerank",
            "violation_rate_base",
            "auc_rule_conditional",
            "auc_general",
        ]
    }

    fn act(&mut self, action: SparrowAction) -> Result<ActionReport, LabError> {
        self.act_on(action)
    }

    /// Runs whatever tasks remain, so that a run cut short by `--steps` still ends with the
    /// full evaluation (and every summary metric).
    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut all = StepReport::default();
        while self.next < self.tasks.len() {
            let r = Lab::step(self)?;
            all.metrics.extend(r.metrics);
        }
        Ok(all)
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.tasks.len() as u64)
    }

    /// The coverage curve of the held-out questions, and the systems table (base sampler, @N
    /// and the λ sweep) on held-out probes and questions.
    fn results(&self) -> Results {
        let mut out = Results::default();
        if !self.outcomes.is_empty() {
            let c = qa::curve(&self.outcomes, 20);
            out.curves.push(CurveSet {
                name: "coverage_curve".into(),
                title: "Supported and plausible against coverage (held-out questions)".into(),
                x_label: "coverage (share answered)".into(),
                y_label: "supported and plausible among answered".into(),
                lines: vec![Line {
                    label: "always search, by calibrated confidence".into(),
                    x: c.iter().map(|p| p.coverage).collect(),
                    y: c.iter().map(|p| p.sp_rate).collect(),
                }],
            });
        }
        if !self.systems.is_empty() {
            let rows = self
                .systems
                .iter()
                .map(|s| {
                    let name = if s.lambda.is_nan() {
                        "base sampler".to_string()
                    } else {
                        format!("@{} λ = {}", self.cfg.n_candidates, s.lambda)
                    };
                    vec![
                        Cell::from(name),
                        s.violation_rate.into(),
                        s.probe_search_rate.into(),
                        s.probe_helpful_rate.into(),
                        s.preference_rate.into(),
                        s.probe_preference_rate.into(),
                        s.coverage.into(),
                        s.sp_rate.into(),
                    ]
                })
                .collect();
            out.tables.push(Table {
                name: "systems".into(),
                title: "Base sampler against re-ranking @N (held-out probes and questions)".into(),
                columns: [
                    "system",
                    "violation rate",
                    "probes answered by a quote",
                    "probes answered helpfully",
                    "rater preference",
                    "rater preference at probes",
                    "coverage",
                    "supported and plausible",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            });
        }
        out
    }

    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        let curve = qa::curve(&self.outcomes, 20);
        vec![(
            "sparrow".into(),
            serde_json::json!({
                "coverage_curve": curve,
                "held_out_outcomes": self.outcomes,
                "validation_outcomes": self.val_outcomes,
                "calibrator": self.qa.calibrator,
                "auc": self.auc,
                "auc_vs_labels": self.budgets,
                "systems": self.systems,
                "turn_kind_readings": self.kind_readings,
                // The Chat tab's example turns with their candidates, as the panel shows them.
                "examples": self.samples.iter().map(|t| serde_json::json!({
                    "user": t.user,
                    "winner": t.winner,
                    "base": t.base,
                    "candidates": t.candidates.iter().map(|c| serde_json::json!({
                        "text": c.text,
                        "searched": c.search.is_some(),
                        "preference": c.preference,
                        "max_violation": c.max_violation,
                        "score": c.score,
                        "p_probe": c.p_probe,
                        "truth_violates": c.truth_violates,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "rules": self.dialogue.rules.iter().map(|r| &r.id).collect::<Vec<_>>(),
                // The user's own judgements and preferences, so `--out` keeps their work.
                "user_feedback": self.feedback.records(),
            }),
        )]
    }
}

impl SparrowLab {
    pub(super) fn push_qa_metrics(&self, report: &mut StepReport) {
        let o = &self.outcomes;
        let n = o.len().max(1) as f64;
        let share = |f: &dyn Fn(&Outcome) -> bool| o.iter().filter(|x| f(x)).count() as f64 / n;
        report.push("bm25_gold_at1", share(&|x| x.bm25_top1));
        report.push("bm25_gold_at5", share(&|x| x.bm25_top5));
        report.push("rerank_gold_at1", share(&|x| x.supported));
        report.push("reader_acc_gold", share(&|x| x.reader_gold_right));
        let mut by_conf: Vec<&Outcome> = o.iter().collect();
        by_conf.sort_by(|a, b| b.reader_gold_conf.total_cmp(&a.reader_gold_conf));
        let third = (by_conf.len() / 3).max(1);
        let right = by_conf
            .iter()
            .take(third)
            .filter(|x| x.reader_gold_right)
            .count();
        report.push("reader_acc_gold_top_third", right as f64 / third as f64);
        let (cov, sp) = qa::at_threshold(o, self.threshold() as f32);
        report.push("coverage", cov);
        report.push("sp_rate", sp);
        let (cov_closed, right_closed) = qa::no_search_at(o, cov);
        report.push("coverage_no_search", cov_closed);
        report.push("plausible_no_search", right_closed);
        report.push(
            "yes_share_held_out",
            self.eval_q
                .iter()
                .filter(|&&q| self.corpus.questions[q].answer)
                .count() as f64
                / n,
        );
    }

    /// Searches and answers chunk `c` of the questions `ids` (always search).
    pub(super) fn answer_chunk(&self, ids: &[usize], c: usize) -> Result<Vec<Outcome>, LabError> {
        let lo = c * self.cfg.chunk;
        let hi = (lo + self.cfg.chunk).min(ids.len());
        ids[lo.min(hi)..hi]
            .iter()
            .map(|&qi| {
                let q = &self.corpus.questions[qi];
                let hits = self.index()?.search(&q.text, self.cfg.k)?;
                qa::outcome(&self.qa, &self.corpus, q, &hits)
            })
            .collect()
    }

    /// Fits the confidence calibrator on the validation outcomes, re-scores them with it, and
    /// reports the validation coverage and supported-and-plausible rate at the threshold: the
    /// numbers to choose a threshold by, since held-out ones must not be.
    pub(super) fn calibrate(&mut self, report: &mut StepReport) {
        let data: Vec<(calibrate::Signals, bool)> = self
            .val_outcomes
            .iter()
            .map(|o| (o.signals, o.supported && o.plausible))
            .collect();
        self.qa.calibrator = calibrate::Calibrator::fit(&data, 1.0);
        for o in &mut self.val_outcomes {
            o.confidence = self.qa.confidence(&o.signals);
        }
        let v = &self.val_outcomes;
        if self.qa.calibrator.is_some() {
            let mut conf: Vec<f32> = v.iter().map(|o| o.confidence).collect();
            conf.sort_by(|a, b| b.total_cmp(a));
            let m =
                ((self.cfg.answer_share * conf.len() as f64).ceil() as usize).clamp(1, conf.len());
            // Floored to 0.001 (answers a hair more), so the knob shows a readable number.
            self.chosen_threshold = Some((conf[m - 1] as f64 * 1000.0).floor() / 1000.0);
        }
        report.push("threshold", self.threshold());
        let (cov, sp) = qa::at_threshold(v, self.threshold() as f32);
        report.push("val_questions", v.len() as f64);
        report.push("val_coverage", cov);
        report.push("val_sp_rate", sp);
        if let Some(third) = qa::curve(v, 3).first() {
            report.push("val_sp_rate_top_third", third.sp_rate);
            report.push("val_threshold_top_third", third.threshold as f64);
        }
        report.push(
            "calibrated",
            f64::from(u8::from(self.qa.calibrator.is_some())),
        );
    }

    fn collect_preferences(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let rm = self
            .rm
            .as_ref()
            .ok_or_else(|| LabError::compute("rule models missing"))?;
        let g = self.generator()?;
        let mut contexts: Vec<Context<'_>> = Vec::new();
        for gr in self.dialogue.groups.iter().filter(|g| !g.held_out) {
            for u in &gr.users {
                contexts.push(Context::Probe { text: u, group: gr });
            }
        }
        let step = (self.train_q.len() / self.cfg.pref_questions.max(1)).max(1);
        for &qi in self
            .train_q
            .iter()
            .step_by(step)
            .take(self.cfg.pref_questions)
        {
            let q = &self.corpus.questions[qi];
            contexts.push(Context::Factual {
                text: &q.text,
                gold: q.gold,
                answer: q.answer,
            });
        }
        let mut rng = self.root.fork(4);
        let mut feats = Vec::new();
        let mut pairs = Vec::new();
        for ctx in &contexts {
            let cands = g.candidates(*ctx, self.cfg.n_candidates, &mut rng)?;
            let base = feats.len();
            let texts: Vec<&str> = cands.iter().map(|c| c.text.as_str()).collect();
            let viol = rm.violation_matrix(&self.dialogue.rules, ctx.text(), &texts)?;
            feats.extend(
                cands
                    .iter()
                    .zip(&viol)
                    .map(|(c, v)| pref_features(ctx.text(), c, chat::max_of(v))),
            );
            for _ in 0..self.cfg.pref_pairs {
                let a = rng.below(cands.len());
                let b = (a + 1 + rng.below(cands.len() - 1)) % cands.len();
                if rater_prefers_first(&cands[a], &cands[b], ctx, &mut rng) {
                    pairs.push((base + a, base + b));
                } else {
                    pairs.push((base + b, base + a));
                }
            }
        }
        report.push("pref_contexts", contexts.len() as f64);
        report.push("pref_comparisons", pairs.len() as f64);
        self.pref_feats = feats;
        self.pref_pairs = pairs;
        self.feedback_after_pref_data(report);
        Ok(())
    }

    fn evaluate_dialogue(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let rm = self
            .rm
            .as_ref()
            .ok_or_else(|| LabError::compute("rule models missing"))?;
        let g = self.generator()?;
        let step = (self.eval_q.len() / self.cfg.decide_questions.max(1)).max(1);
        let qs: Vec<usize> = self
            .eval_q
            .iter()
            .copied()
            .step_by(step)
            .take(self.cfg.decide_questions)
            .collect();
        let mut lambdas = vec![self.cfg.lambda];
        lambdas.extend(self.cfg.lambdas.iter().copied());
        let sys = evaluate::evaluate(
            &g,
            rm,
            &self.pref,
            &self.corpus,
            &qs,
            self.cfg.n_candidates,
            &lambdas,
            self.cfg.probe_repeats,
            &self.root.fork(5),
        )?;
        report.push("violation_rate_base", sys[0].violation_rate);
        report.push("violation_rate_rerank", sys[1].violation_rate);
        report.push("preference_rate_rerank", sys[1].preference_rate);
        report.push("coverage_decide", sys[1].coverage);
        report.push("sp_rate_decide", sys[1].sp_rate);
        report.push("search_rate_decide", sys[1].search_rate);
        report.push("probe_search_rate_base", sys[0].probe_search_rate);
        report.push("probe_search_rate_rerank", sys[1].probe_search_rate);
        // The same numbers under the name the issue asks for: probes deflected with a quote.
        report.push("probe_deflection_base", sys[0].probe_search_rate);
        report.push("probe_deflection_rerank", sys[1].probe_search_rate);
        report.push("probe_preference_rate_rerank", sys[1].probe_preference_rate);
        report.push("probe_helpful_base", sys[0].probe_helpful_rate);
        report.push("probe_helpful_rerank", sys[1].probe_helpful_rate);
        if let Some(p0) = sys.iter().skip(2).find(|s| s.lambda == 0.0) {
            report.push("violation_rate_pref_only", p0.violation_rate);
        }
        // A few example turns for the chat view: held-out questions and probes.
        let mut samples = Vec::new();
        let mut rng = self.root.fork(6);
        for &qi in qs.iter().take(3) {
            let q = &self.corpus.questions[qi];
            let ctx = Context::Factual {
                text: &q.text,
                gold: q.gold,
                answer: q.answer,
            };
            samples.push(chat::turn(
                &g,
                rm,
                &self.pref,
                ctx,
                self.cfg.n_candidates,
                self.cfg.lambda,
                &mut rng,
            )?);
        }
        for gr in self
            .dialogue
            .groups
            .iter()
            .filter(|g| g.held_out)
            .step_by(6)
        {
            let ctx = Context::Probe {
                text: &gr.users[0],
                group: gr,
            };
            samples.push(chat::turn(
                &g,
                rm,
                &self.pref,
                ctx,
                self.cfg.n_candidates,
                self.cfg.lambda,
                &mut rng,
            )?);
        }
        self.samples = samples;
        self.systems = sys;
        Ok(())
    }
}
