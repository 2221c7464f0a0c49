//! The user's own feedback joins training. In the Chat tab a user marks a candidate of one of
//! their asked turns as breaking (or keeping) a rule, or prefers one candidate to another. Each
//! such item is added to the user's data (and appended to `feedback_file` when one is set),
//! then the reward models retrain at once and every asked turn is re-scored, so the user sees
//! the table, and perhaps the winner, change. An action runs on the runner's worker thread, so
//! the retraining happens in the background: the GUI keeps drawing meanwhile.
//!
//! Both arrive as typed actions ([`super::SparrowAction`]), addressed by the asked turn's
//! stable id and the candidate's row.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::dialogue::{Judgement, Rule};
use super::generate::pref_features_of;
use super::retrain::{Cache, HeldOutAuc};
use super::scorer::Scorer;
use super::{ASKED_KEPT, SparrowLab};
use crate::data::text::Sparse;
use crate::error::LabError;
use crate::lab::{ActionReport, StepReport};

/// How much one user item counts against one authored item. A user's handful of labels would
/// vanish among the 1,104 authored training judgements (and ~3,100 simulated comparisons at the
/// default settings) at weight 1;
/// at 5 a few clicks visibly move the model while the authored data still dominates. Live
/// retraining weights each user item by this in the loss; the initial training, which has no
/// per-example weights, repeats each loaded user item this many times instead.
pub const USER_WEIGHT: usize = 5;

/// Largest feedback file loaded (bytes).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Epochs of the live warm-start retrain of the rule-conditional model.
pub const LIVE_RULE_EPOCHS: usize = 3;

/// Epochs of the live warm-start retrain of the preference model.
pub const LIVE_PREF_EPOCHS: usize = 2;

/// Adam learning rate of the live rule-model retrain. Lower than the initial training's 0.01:
/// a fresh Adam's first steps move every touched weight by about the learning rate, which at
/// 0.01 shakes a trained model more than a few new labels justify.
pub const LIVE_RULE_LR: f64 = 0.003;

/// Adam learning rate of the live preference-model retrain, lower than the initial 0.01 for the
/// same reason: at 0.01 a fresh Adam's drift over the ~3,100 simulated pairs outweighed the
/// user's one pair (the margin of a preferred candidate moved the wrong way).
pub const LIVE_PREF_LR: f64 = 0.003;

/// The live preference retrain repeats each user pair [`USER_WEIGHT`] × this: since the
/// preference model also reads the turn-kind and rule-model signals, the simulated pairs pull
/// on it harder than before, and at [`USER_WEIGHT`] alone one preference did not move it.
pub const LIVE_PREF_BOOST: usize = 5;

/// Seed stream of the live retrains (the same every time: the retrain with and without the
/// user's labels differ only in those labels).
pub(super) const LIVE_STREAM: u64 = 0xfeed_0000;

/// One candidate of a user preference: what the preference model reads of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Side {
    /// The agent turn.
    pub text: String,
    /// Whether it searched (showed evidence).
    pub searched: bool,
    /// Reader confidence.
    pub reader_conf: f32,
    /// Re-ranker probability of its evidence.
    pub p_retrieval: f32,
    /// The turn-kind classifier's P(the user turn is a provocation) when it was recorded
    /// (files written before it existed read as 0, a factual question).
    #[serde(default)]
    pub p_probe: f32,
    /// The rule model's largest P(violation) of the candidate when it was recorded (0 in
    /// files written before it existed).
    #[serde(default)]
    pub max_violation: f32,
}

/// One item of the user's feedback; one JSON line of `feedback_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// The agent turn `agent` after `user` breaks (or keeps) rule `rule` (its id).
    Judgement {
        /// Rule id.
        rule: String,
        /// The user turn.
        user: String,
        /// The agent turn.
        agent: String,
        /// Breaks the rule (true) or keeps it (false).
        violates: bool,
    },
    /// After `user`, the user prefers `winner` to `loser`.
    Preference {
        /// The user turn.
        user: String,
        /// The preferred candidate.
        winner: Side,
        /// The other one.
        loser: Side,
    },
}

/// What the Chat tab shows of the user's contribution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackSummary {
    /// Rule judgements so far (loaded and new).
    pub judgements: usize,
    /// Preferences so far (loaded and new).
    pub preferences: usize,
    /// What the last retrain of each model did (empty before the first).
    pub status: String,
    /// Where they are saved (empty = memory only).
    pub file: String,
}

/// The user's feedback and the live-retraining state.
#[derive(Default)]
pub struct Feedback {
    pub(super) file: Option<PathBuf>,
    pub(super) records: Vec<Record>,
    pub(super) judgements: Vec<Judgement>,
    pub(super) pairs: Vec<(Sparse, Sparse)>,
    /// What the last rule-model and preference-model retrains did.
    pub(super) rule_status: String,
    pub(super) pref_status: String,
    pub(super) pending: StepReport,
    pub(super) live_auc: f64,
    pub(super) sim_pairs: usize,
    pub(super) cache: Option<Cache>,
    /// The reward models as the run trained them: every live retrain starts from these.
    pub(super) base_rule: Option<Scorer>,
    pub(super) base_pref: Option<Scorer>,
    /// Held-out AUC of the live retrain without the user's labels (the control).
    pub(super) control_auc: Option<HeldOutAuc>,
}

fn to_judgement(rule: usize, user: &str, agent: &str, violates: bool) -> Judgement {
    Judgement {
        rule,
        user: user.to_string(),
        agent: agent.to_string(),
        violates,
        held_out: false,
        // Not from an authored template group.
        group: usize::MAX,
    }
}

fn took(t: std::time::Instant) -> String {
    format!("(in {:.1} s)", t.elapsed().as_secs_f64())
}

fn side_features(user: &str, s: &Side) -> Sparse {
    pref_features_of(
        user,
        &s.text,
        s.searched,
        s.reader_conf,
        s.p_retrieval,
        s.p_probe,
        s.max_violation,
    )
}

impl Feedback {
    /// Loads earlier feedback from `path` (JSON lines; `""` = none, memory only). A missing
    /// file is fine (it is created on the first new item); a malformed line is an error that
    /// names the file and the line.
    pub fn load(path: &str, rules: &[Rule]) -> Result<Feedback, LabError> {
        let mut fb = Feedback::default();
        if path.is_empty() {
            return Ok(fb);
        }
        let p = PathBuf::from(path);
        fb.file = Some(p.clone());
        // A feedback file grows by one short line per click; anything this big is not one.
        if let Ok(meta) = std::fs::metadata(&p)
            && meta.len() > MAX_FILE_BYTES
        {
            return Err(LabError::data(
                path,
                format!(
                    "{} bytes is more than a feedback file can be ({MAX_FILE_BYTES} at most)",
                    meta.len()
                ),
            ));
        }
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fb),
            Err(e) => return Err(LabError::data(path, e.to_string())),
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = |m: String| LabError::data(format!("{path} line {}", i + 1), m);
            let rec: Record = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            fb.add(rec, rules).map_err(at)?;
        }
        Ok(fb)
    }

    /// Adds one record to the in-memory data.
    fn add(&mut self, rec: Record, rules: &[Rule]) -> Result<(), String> {
        match &rec {
            Record::Judgement {
                rule,
                user,
                agent,
                violates,
            } => {
                let r = rules
                    .iter()
                    .position(|x| x.id == *rule)
                    .ok_or_else(|| format!("no rule with id `{rule}`"))?;
                self.judgements
                    .push(to_judgement(r, user, agent, *violates));
            }
            Record::Preference {
                user,
                winner,
                loser,
            } => {
                for side in [winner, loser] {
                    if !(0.0..=1.0).contains(&side.reader_conf)
                        || !(0.0..=1.0).contains(&side.p_retrieval)
                        || !(0.0..=1.0).contains(&side.p_probe)
                        || !(0.0..=1.0).contains(&side.max_violation)
                    {
                        return Err("reader_conf, p_retrieval, p_probe and max_violation \
                             must be in [0, 1]"
                            .into());
                    }
                }
                self.pairs
                    .push((side_features(user, winner), side_features(user, loser)));
            }
        }
        self.records.push(rec);
        Ok(())
    }

    /// Appends one record to the feedback file, if there is one.
    fn append(&self, rec: &Record) -> Result<(), LabError> {
        let Some(p) = &self.file else {
            return Ok(());
        };
        let name = p.display().to_string();
        let line = serde_json::to_string(rec).map_err(|e| LabError::data(&name, e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| LabError::data(&name, e.to_string()))?;
        writeln!(f, "{line}").map_err(|e| LabError::data(&name, e.to_string()))
    }

    /// The training judgements with the user's added, each user item [`USER_WEIGHT`] times
    /// (the initial rule-model training has no per-example weights).
    pub fn with_user<'a>(&'a self, train: &'a [Judgement]) -> Vec<&'a Judgement> {
        let mut out: Vec<&Judgement> = train.iter().collect();
        for j in &self.judgements {
            out.extend(std::iter::repeat_n(j, USER_WEIGHT));
        }
        out
    }

    /// Every record, in the order given (for `artifacts`).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Counts and the last retrain's result, for the view.
    pub fn summary(&self) -> FeedbackSummary {
        FeedbackSummary {
            judgements: self.judgements.len(),
            preferences: self.pairs.len(),
            status: if self.rule_status.is_empty() && self.pref_status.is_empty() {
                String::new()
            } else {
                let done: Vec<&str> = [&self.rule_status, &self.pref_status]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .map(String::as_str)
                    .collect();
                format!(
                    "{} rule judgements, {} preferences; {}",
                    self.judgements.len(),
                    self.pairs.len(),
                    done.join("; ")
                )
            },
            file: self
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }

    fn push_counts(&self, report: &mut StepReport) {
        report.push("user_judgements", self.judgements.len() as f64);
        report.push("user_preferences", self.pairs.len() as f64);
        report.push("auc_rule_conditional_live", self.live_auc);
    }
}

impl SparrowLab {
    /// Candidate `k` of the asked turn with id `turn`, checked.
    fn asked_candidate(&self, turn: u64, k: usize) -> Result<(usize, usize), LabError> {
        if !self.trained() {
            return Err(LabError::Action(
                "the agent is still training; judge its answers once the run is done".into(),
            ));
        }
        let t = self
            .asked
            .iter()
            .position(|t| t.id == turn)
            .ok_or_else(|| {
                LabError::Action(format!(
                    "turn {turn} is not among the asked turns (the newest {ASKED_KEPT} are kept)"
                ))
            })?;
        let n = self.asked[t].candidates.len();
        if k >= n {
            return Err(LabError::Action(format!(
                "candidate {k} does not exist (turn {turn} has {n}: 0 to {})",
                n.saturating_sub(1)
            )));
        }
        Ok((t, k))
    }

    /// The user says candidate `cand` of turn `turn` breaks (or keeps) rule `rule_id`: record
    /// it, retrain the rule model, re-score the asked turns.
    pub(super) fn mark(
        &mut self,
        turn: u64,
        cand: usize,
        rule_id: &str,
        violates: bool,
    ) -> Result<ActionReport, LabError> {
        let (t, cand) = self.asked_candidate(turn, cand)?;
        let rule = self
            .dialogue
            .rules
            .iter()
            .position(|r| r.id == rule_id)
            .ok_or_else(|| {
                let ids: Vec<&str> = self.dialogue.rules.iter().map(|r| r.id.as_str()).collect();
                LabError::Action(format!(
                    "no rule with id `{rule_id}`; the ids are: {}",
                    ids.join(", ")
                ))
            })?;
        let started = std::time::Instant::now();
        let rec = Record::Judgement {
            rule: rule_id.to_string(),
            user: self.asked[t].user.clone(),
            agent: self.asked[t].candidates[cand].text.clone(),
            violates,
        };
        self.record(rec)?;
        let (before, after) = self.retrain_rules()?;
        self.rescore_asked()?;
        self.feedback.rule_status = format!(
            "rule model retrained, held-out AUC {:.3} without your judgements -> {:.3} with \
             them ({}: {:.3} -> {:.3}) {}",
            before.pooled,
            after.pooled,
            self.dialogue.rules[rule].short,
            before.per_rule[rule],
            after.per_rule[rule],
            took(started)
        );
        Ok(self.feedback_report(self.feedback.rule_status.clone()))
    }

    /// The user prefers candidate `win` of turn `turn` to candidate `lose`: record it,
    /// retrain the preference model, re-score the asked turns.
    pub(super) fn prefer(
        &mut self,
        turn: u64,
        win: usize,
        lose: usize,
    ) -> Result<ActionReport, LabError> {
        let (t, win) = self.asked_candidate(turn, win)?;
        let (_, lose) = self.asked_candidate(turn, lose)?;
        if win == lose {
            return Err(LabError::Action(
                "prefer one candidate to a different one".into(),
            ));
        }
        let started = std::time::Instant::now();
        let side = |r: &super::chat::CandidateRow| Side {
            text: r.text.clone(),
            searched: r.search.is_some(),
            reader_conf: r.reader_conf,
            p_retrieval: r.p_retrieval,
            p_probe: r.p_probe,
            max_violation: r.max_violation,
        };
        let turn_now = &self.asked[t];
        let before = turn_now.candidates[win].preference - turn_now.candidates[lose].preference;
        let rec = Record::Preference {
            user: turn_now.user.clone(),
            winner: side(&turn_now.candidates[win]),
            loser: side(&turn_now.candidates[lose]),
        };
        self.record(rec)?;
        self.retrain_preference()?;
        self.rescore_asked()?;
        let turn_now = &self.asked[t];
        let after = turn_now.candidates[win].preference - turn_now.candidates[lose].preference;
        self.feedback.pref_status = format!(
            "preference model retrained, candidate {win} minus {lose}: {before:+.2} -> \
             {after:+.2} {}",
            took(started)
        );
        Ok(self.feedback_report(self.feedback.pref_status.clone()))
    }

    fn record(&mut self, rec: Record) -> Result<(), LabError> {
        self.feedback.append(&rec)?;
        self.feedback
            .add(rec, &self.dialogue.rules)
            .map_err(LabError::Action)
    }

    /// The metrics of a feedback action: what the retrain reported, and the counts.
    fn feedback_report(&mut self, message: String) -> ActionReport {
        let mut metrics = std::mem::take(&mut self.feedback.pending);
        self.feedback.push_counts(&mut metrics);
        ActionReport { message, metrics }
    }

    /// After the initial rule-model training: the live AUC starts at the trained model's, and
    /// the counts of loaded user items are reported.
    pub(super) fn feedback_after_rule_models(&mut self, auc: f64, report: &mut StepReport) {
        self.feedback.live_auc = auc;
        report.push("user_judgements", self.feedback.judgements.len() as f64);
        report.push("auc_rule_conditional_live", auc);
    }

    /// After the simulated comparisons are collected: the user's loaded preferences join them,
    /// each [`USER_WEIGHT`] times.
    pub(super) fn feedback_after_pref_data(&mut self, report: &mut StepReport) {
        self.feedback.sim_pairs = self.pref_pairs.len();
        for (w, l) in &self.feedback.pairs {
            let i = self.pref_feats.len();
            self.pref_feats.push(w.clone());
            self.pref_feats.push(l.clone());
            self.pref_pairs
                .extend(std::iter::repeat_n((i, i + 1), USER_WEIGHT));
        }
        report.push("user_preferences", self.feedback.pairs.len() as f64);
    }
}
