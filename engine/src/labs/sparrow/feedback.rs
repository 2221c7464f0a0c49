//! The user's own feedback joins training. In the Chat tab a user marks a candidate of one of
//! their asked turns as breaking (or keeping) a rule, or prefers one candidate to another. Each
//! such item is added to the user's data (and appended to `feedback_file` when one is set),
//! then the reward models retrain at once and every asked turn is re-scored, so the user sees
//! the table, and perhaps the winner, change. `set_knob` runs on the runner's worker thread, so
//! the retraining happens in the background: the GUI keeps drawing meanwhile.
//!
//! Knob texts (turn = index in the view's asked turns, newest first; candidate = row):
//! - `mark`: `"TURN CANDIDATE RULE_ID violates|complies"`;
//! - `prefer`: `"TURN WINNER LOSER"`.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SparrowLab;
use super::chat::ChatTurn;
use super::dialogue::{Judgement, Rule};
use super::generate::pref_features_of;
use super::retrain::{Cache, HeldOutAuc};
use super::scorer::Scorer;
use crate::data::text::Sparse;
use crate::error::LabError;
use crate::lab::{KnobKind, KnobSpec, KnobValue, StepReport};

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

fn side_features(user: &str, s: &Side) -> Sparse {
    pref_features_of(user, &s.text, s.searched, s.reader_conf, s.p_retrieval)
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
                    {
                        return Err("reader_conf and p_retrieval must be in [0, 1]".into());
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

/// Parses a candidate index of `turn`.
fn index(word: &str, what: &str, n: usize) -> Result<usize, String> {
    let i: usize = word
        .parse()
        .map_err(|_| format!("{what} must be a whole number, not `{word}`"))?;
    if i >= n {
        return Err(format!(
            "{what} {i} does not exist (there are {n}: 0 to {})",
            n.saturating_sub(1)
        ));
    }
    Ok(i)
}

/// Parses `"TURN CANDIDATE RULE_ID violates|complies"` against the asked turns.
pub fn parse_mark(
    text: &str,
    asked: &[ChatTurn],
    rules: &[Rule],
) -> Result<(usize, usize, usize, bool), String> {
    let w: Vec<&str> = text.split_whitespace().collect();
    if w.len() != 4 {
        return Err(format!(
            "expected `TURN CANDIDATE RULE_ID violates|complies` (e.g. `0 3 medical violates`), \
             got `{text}`"
        ));
    }
    let (turn, cand) = turn_and_candidate(w[0], w[1], asked)?;
    let rule = rules.iter().position(|r| r.id == w[2]).ok_or_else(|| {
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        format!(
            "no rule with id `{}`; the ids are: {}",
            w[2],
            ids.join(", ")
        )
    })?;
    let violates = match w[3] {
        "violates" => true,
        "complies" => false,
        other => {
            return Err(format!(
                "the last word must be `violates` or `complies`, not `{other}`"
            ));
        }
    };
    Ok((turn, cand, rule, violates))
}

/// Parses `"TURN WINNER LOSER"` against the asked turns.
pub fn parse_prefer(text: &str, asked: &[ChatTurn]) -> Result<(usize, usize, usize), String> {
    let w: Vec<&str> = text.split_whitespace().collect();
    if w.len() != 3 {
        return Err(format!(
            "expected `TURN WINNER LOSER` (e.g. `0 2 5`: in turn 0, candidate 2 is better than \
             candidate 5), got `{text}`"
        ));
    }
    let (turn, win) = turn_and_candidate(w[0], w[1], asked)?;
    let lose = index(w[2], "candidate", asked[turn].candidates.len())?;
    if win == lose {
        return Err("prefer one candidate to a different one".into());
    }
    Ok((turn, win, lose))
}

fn turn_and_candidate(t: &str, c: &str, asked: &[ChatTurn]) -> Result<(usize, usize), String> {
    if asked.is_empty() {
        return Err("ask a question first: there is no asked turn to judge".into());
    }
    let turn = index(t, "turn", asked.len())?;
    let cand = index(c, "candidate", asked[turn].candidates.len())?;
    Ok((turn, cand))
}

/// The `mark` and `prefer` knobs (text; the Chat tab's buttons send them too).
pub(super) fn knob_specs() -> Vec<KnobSpec> {
    vec![
        KnobSpec {
            name: "mark".into(),
            label: "mark a candidate".into(),
            help: "TURN CANDIDATE RULE_ID violates|complies, e.g. `0 3 medical violates` \
                   (turn 0 = your newest question; or use the Chat tab's buttons). The rule \
                   model retrains on it at once."
                .into(),
            kind: KnobKind::Text { max_len: 200 },
            value: KnobValue::Text(String::new()),
        },
        KnobSpec {
            name: "prefer".into(),
            label: "prefer a candidate".into(),
            help: "TURN WINNER LOSER, e.g. `0 2 5` (in your newest question, candidate 2 is \
                   better than 5; or use the Chat tab). The preference model retrains on it."
                .into(),
            kind: KnobKind::Text { max_len: 200 },
            value: KnobValue::Text(String::new()),
        },
    ]
}

impl SparrowLab {
    /// The `mark` and `prefer` knobs: parse, record, retrain, re-score.
    pub(super) fn feedback_knob(&mut self, knob: &str, value: KnobValue) -> Result<(), LabError> {
        let bad = |m: String| LabError::Knob(knob.to_string(), m);
        let (KnobValue::Text(text) | KnobValue::Choice(text)) = value else {
            return Err(bad("expected text".into()));
        };
        if !self.trained() {
            return Err(bad(
                "the agent is still training; judge its answers once the run is done".into(),
            ));
        }
        let started = std::time::Instant::now();
        let took = |t: std::time::Instant| format!("(in {:.1} s)", t.elapsed().as_secs_f64());
        if knob == "mark" {
            let (turn, cand, rule, violates) =
                parse_mark(&text, &self.asked, &self.dialogue.rules).map_err(bad)?;
            let t = &self.asked[turn];
            let rec = Record::Judgement {
                rule: self.dialogue.rules[rule].id.clone(),
                user: t.user.clone(),
                agent: t.candidates[cand].text.clone(),
                violates,
            };
            self.feedback.append(&rec)?;
            self.feedback.add(rec, &self.dialogue.rules).map_err(bad)?;
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
        } else {
            let (turn, win, lose) = parse_prefer(&text, &self.asked).map_err(bad)?;
            let t = &self.asked[turn];
            let side = |i: usize| {
                let r = &t.candidates[i];
                Side {
                    text: r.text.clone(),
                    searched: r.search.is_some(),
                    reader_conf: r.reader_conf,
                    p_retrieval: r.p_retrieval,
                }
            };
            let before = t.candidates[win].preference - t.candidates[lose].preference;
            let rec = Record::Preference {
                user: t.user.clone(),
                winner: side(win),
                loser: side(lose),
            };
            self.feedback.append(&rec)?;
            self.feedback.add(rec, &self.dialogue.rules).map_err(bad)?;
            self.retrain_preference()?;
            self.rescore_asked()?;
            let t = &self.asked[turn];
            let after = t.candidates[win].preference - t.candidates[lose].preference;
            self.feedback.pref_status = format!(
                "preference model retrained, candidate {win} minus {lose}: {before:+.2} -> \
                 {after:+.2} {}",
                took(started)
            );
        }
        let mut report = std::mem::take(&mut self.feedback.pending);
        self.feedback.push_counts(&mut report);
        self.feedback.pending = report;
        Ok(())
    }

    /// Hands over the metrics of the feedback knobs since the last call.
    pub(super) fn take_feedback_metrics(&mut self) -> StepReport {
        std::mem::take(&mut self.feedback.pending)
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
