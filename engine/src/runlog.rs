//! The run log: what a run was built from and every input that changed its computation, each
//! with the step at which it took effect. Labs are deterministic on the CPU backend, so
//! **seed + log = the run**: [`Replay`] re-executes a log through the type-erased
//! [`DynLab`] and gets every metric back exactly.
//!
//! The log is generic: it records knob changes ([`DynLab::set_knob`]), actions
//! ([`DynLab::act`], e.g. Sparrow's judgements and preferences), the final evaluation
//! ("evaluate now" or the automatic one at the planned end) and race starts. A lab gets
//! replay and rewind without code of its own as long as it keeps the contract's rule: all that
//! changes its computation arrives through its config, its seed, knobs and actions, and all its
//! randomness comes from the seeded [`crate::rng::Rng`].
//!
//! An event at step `k` happened after `k` steps had been taken (before step `k + 1`); events
//! of one step keep their order. Rewinding to step `k` keeps the events at steps `<= k`.

use serde::{Deserialize, Serialize};

use crate::error::{LabError, panic_text};
use crate::lab::{DynLab, KnobValue, StepReport};
use crate::preset::Preset;
use crate::series::SeriesStore;

/// The version of the run log format this build writes and reads.
pub const LOG_FORMAT: u32 = 1;

/// One input to a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A knob changed.
    Knob {
        /// The knob (a config key).
        name: String,
        /// Its new value.
        value: KnobValue,
    },
    /// One of the lab's actions, in its serde form.
    Act {
        /// The action.
        action: serde_json::Value,
    },
    /// The lab's final evaluation ran ("evaluate now", or the automatic one at the planned end).
    Finish,
    /// A race started beside this run: run B is this preset with `changes` applied. The event
    /// does not change this run's computation; it is there so that the log tells the story.
    Race {
        /// The `KEY=VALUE` settings of run B.
        changes: Vec<String>,
        /// The step of this run that B branched from (0 = B started from scratch).
        from: u64,
    },
}

/// An input and when it took effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Steps taken when it took effect.
    pub step: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
    /// Whether the lab accepted it (a refused knob or action is logged too, since even a
    /// refused change may have touched the lab's state; replay expects the same refusal).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub ok: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// A run's log: its preset (with the effective config), backend and inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunLog {
    /// [`LOG_FORMAT`] of the writer.
    pub format: u32,
    /// The preset's name.
    pub preset: String,
    /// The lab id.
    pub lab: String,
    /// The seed.
    pub seed: u64,
    /// The preset as TOML with the effective config at step 0 (every key, seed included).
    pub preset_toml: String,
    /// The backend the run used (metrics are exact on the CPU backend only).
    pub backend: String,
    /// Inputs in the order they took effect.
    pub events: Vec<Event>,
    /// Steps the run had taken when the log was written.
    pub steps: u64,
}

impl RunLog {
    /// An empty log of a run of `preset` on `backend`.
    pub fn new(preset: &Preset, backend: &str) -> Result<RunLog, LabError> {
        Ok(RunLog {
            format: LOG_FORMAT,
            preset: preset.name.clone(),
            lab: preset.lab.clone(),
            seed: preset.seed,
            preset_toml: preset.to_toml()?,
            backend: backend.to_string(),
            events: Vec::new(),
            steps: 0,
        })
    }

    /// The preset the run was built from.
    pub fn preset(&self) -> Result<Preset, LabError> {
        Preset::parse(
            &self.preset_toml,
            &self.preset,
            &format!("run log of {}", self.preset),
        )
    }

    /// Appends an event at `step`.
    pub fn push(&mut self, step: u64, kind: EventKind, ok: bool) {
        self.events.push(Event { step, kind, ok });
    }

    /// Forgets the events after step `k` (see the module docs).
    pub fn truncate(&mut self, k: u64) {
        self.events.retain(|e| e.step <= k);
        self.steps = self.steps.min(k);
    }

    /// The log as pretty JSON.
    pub fn to_json(&self) -> Result<String, LabError> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(|e| LabError::Preset(format!("writing the run log: {e}")))
    }

    /// Reads a log written by [`RunLog::to_json`]; a newer format is refused by name.
    pub fn from_json(text: &str) -> Result<RunLog, LabError> {
        let bad = |m: String| LabError::Preset(format!("run log: {m}"));
        let raw: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let format = raw.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
        if format > u64::from(LOG_FORMAT) {
            return Err(bad(format!(
                "format {format} is newer than this Trainscope reads ({LOG_FORMAT}); update it"
            )));
        }
        serde_json::from_value(raw).map_err(|e| bad(e.to_string()))
    }
}

/// Appends a report's metrics to the history at `step`.
pub fn record(series: &mut SeriesStore, step: u64, report: StepReport) {
    for (name, value) in report.metrics {
        series.push(&name, step as f64, value);
    }
}

/// Applies one input to a lab at `step`, marking and recording what it produced in `series`
/// exactly as a live run does (the runner calls this too). A panic inside the lab is returned
/// as `Err(text)` in the outer result.
pub fn apply(
    lab: &mut dyn DynLab,
    series: &mut SeriesStore,
    step: u64,
    kind: &EventKind,
) -> Result<Result<(), LabError>, String> {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match kind {
        EventKind::Knob { name, value } => lab.set_knob(name, value.clone()).map(|()| {
            series.mark(step, format!("{name} = {value}"));
        }),
        EventKind::Act { action } => lab.act(action).map(|report| {
            let what = action
                .get("action")
                .and_then(|a| a.as_str())
                .unwrap_or("action");
            series.mark(step, what.to_string());
            record(series, step, report.metrics);
        }),
        EventKind::Finish => lab.finish().map(|report| record(series, step, report)),
        EventKind::Race { .. } => Ok(()),
    }));
    run.map_err(|p| panic_text(&*p))
}

/// A lab being re-executed from a log, with the history it produced.
pub struct Replay {
    /// The lab.
    pub lab: Box<dyn DynLab>,
    /// The metric history, recorded as a live run records it.
    pub series: SeriesStore,
    /// Steps taken.
    pub step: u64,
}

impl Replay {
    /// Starts from a freshly built lab (at step 0), recording into a store of `capacity`
    /// points per series (use the live run's, so that the stored points compare exactly).
    pub fn new(lab: Box<dyn DynLab>, capacity: usize) -> Replay {
        Replay {
            lab,
            series: SeriesStore::with_capacity(capacity),
            step: 0,
        }
    }

    /// Builds the log's lab on `device` and returns it at step 0.
    pub fn start(log: &RunLog, device: &burn::tensor::Device) -> Result<Replay, LabError> {
        let preset = log.preset()?;
        let lab = guarded(|| preset.build(device))?;
        Ok(Replay::new(lab, crate::series::DEFAULT_CAPACITY))
    }

    /// Re-executes `events` up to step `to`: applies the events at each step from the current
    /// one to `to` (inclusive) and steps in between. `progress(step)` is called after every
    /// step; returning false stops early (the replay stays consistent at that step). Returns
    /// an error naming the step when the lab fails or an event's outcome differs from the log.
    pub fn run_to(
        &mut self,
        events: &[Event],
        to: u64,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(), LabError> {
        let mut i = events.partition_point(|e| e.step < self.step);
        loop {
            while let Some(e) = events.get(i).filter(|e| e.step == self.step) {
                let outcome =
                    apply(&mut *self.lab, &mut self.series, self.step, &e.kind).map_err(|p| {
                        LabError::Compute(format!("the lab panicked at step {}: {p}", self.step))
                    })?;
                if outcome.is_ok() != e.ok {
                    return Err(LabError::Compute(format!(
                        "replay diverged at step {}: the log says {:?} was {}, the replay {}",
                        self.step,
                        e.kind,
                        if e.ok { "accepted" } else { "refused" },
                        match &outcome {
                            Ok(()) => "accepted it".to_string(),
                            Err(err) => format!("refused it ({err})"),
                        }
                    )));
                }
                i += 1;
            }
            if self.step >= to {
                return Ok(());
            }
            let lab = &mut self.lab;
            let report = guarded(|| lab.step()).map_err(|e| match e {
                LabError::Compute(m) => LabError::Compute(m),
                other => LabError::Compute(format!("step {}: {other}", self.step + 1)),
            })?;
            self.step += 1;
            record(&mut self.series, self.step, report);
            if !progress(self.step) {
                return Ok(());
            }
        }
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T, LabError>) -> Result<T, LabError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(LabError::Compute(format!(
            "the lab panicked: {}",
            panic_text(&*p)
        )))
    })
}

/// Re-executes a whole log on `device` (`progress` as for [`Replay::run_to`]).
pub fn replay(
    log: &RunLog,
    device: &burn::tensor::Device,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<Replay, LabError> {
    let mut r = Replay::start(log, device)?;
    r.run_to(&log.events, log.steps, progress)?;
    Ok(r)
}

/// A run's history as plain data: every series' stored points in first-seen order, and the
/// markers as `(step, label)`. What bundles store as CSV and replay checks compare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// `(series, points)` in first-seen order.
    pub series: Vec<(String, Vec<[f64; 2]>)>,
    /// Markers (knob changes, actions), oldest first.
    pub markers: Vec<(u64, String)>,
}

impl Curves {
    /// The stored points of a history.
    pub fn of(store: &SeriesStore) -> Curves {
        Curves {
            series: store
                .names()
                .iter()
                .filter_map(|n| store.get(n).map(|s| (n.clone(), s.points())))
                .collect(),
            markers: store
                .markers()
                .iter()
                .map(|m| (m.step, m.label.clone()))
                .collect(),
        }
    }

    /// The points of one series.
    pub fn get(&self, name: &str) -> Option<&[[f64; 2]]> {
        self.series
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_slice())
    }

    /// The latest value of every series.
    pub fn last_values(&self) -> Vec<(String, f64)> {
        self.series
            .iter()
            .filter_map(|(n, p)| p.last().map(|q| (n.clone(), q[1])))
            .collect()
    }

    /// The CSV form: `step,series,value` rows, then `step,marker,"label"` rows. Values are
    /// written in Rust's shortest round-trip form, so reading them back is exact.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("step,series,value\n");
        for (name, points) in &self.series {
            for [x, y] in points {
                out.push_str(&format!("{x},{name},{y}\n"));
            }
        }
        for (step, label) in &self.markers {
            out.push_str(&format!("{step},marker,\"{}\"\n", label.replace('"', "'")));
        }
        out
    }

    /// Reads [`Curves::to_csv`]'s form; errors name the line.
    pub fn from_csv(text: &str) -> Result<Curves, LabError> {
        let mut c = Curves::default();
        for (i, line) in text.lines().enumerate().skip(1) {
            let bad = |m: &str| LabError::Preset(format!("metrics.csv line {}: {m}", i + 1));
            let mut parts = line.splitn(3, ',');
            let (Some(x), Some(name), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected step,series,value"));
            };
            if name == "marker" {
                let step = x.parse::<u64>().map_err(|_| bad("bad marker step"))?;
                c.markers.push((step, value.trim_matches('"').to_string()));
                continue;
            }
            let x = x.parse::<f64>().map_err(|_| bad("bad step"))?;
            let y = value.parse::<f64>().map_err(|_| bad("bad value"))?;
            match c.series.iter_mut().find(|(n, _)| n == name) {
                Some((_, p)) => p.push([x, y]),
                None => c.series.push((name.to_string(), vec![[x, y]])),
            }
        }
        Ok(c)
    }

    /// The first difference between a recorded history (`self`) and a replayed one, in words
    /// naming the series and the step; `None` when they are identical.
    pub fn first_difference(&self, replayed: &Curves) -> Option<String> {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        for (name, rec) in &self.series {
            let Some(rep) = replayed.get(name) else {
                return Some(format!("series `{name}` is missing from the replay"));
            };
            for (i, p) in rec.iter().enumerate() {
                match rep.get(i) {
                    None => {
                        return Some(format!(
                            "series `{name}` ends early in the replay: recorded step {} is missing",
                            p[0]
                        ));
                    }
                    Some(q) if !same(p[0], q[0]) || !same(p[1], q[1]) => {
                        return Some(format!(
                            "series `{name}` differs first at step {}: recorded {}, replayed {} \
                             (at step {})",
                            p[0], p[1], q[1], q[0]
                        ));
                    }
                    Some(_) => {}
                }
            }
            if rep.len() > rec.len() {
                return Some(format!(
                    "series `{name}` has more points in the replay: step {} was not recorded",
                    rep[rec.len()][0]
                ));
            }
        }
        if let Some((name, _)) = replayed.series.iter().find(|(n, _)| self.get(n).is_none()) {
            return Some(format!(
                "series `{name}` appears in the replay but was not recorded"
            ));
        }
        for (i, m) in self.markers.iter().enumerate() {
            if replayed.markers.get(i) != Some(m) {
                return Some(format!(
                    "marker `{}` at step {} differs in the replay",
                    m.1, m.0
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_json_and_newer_formats_are_refused() {
        let mut log = RunLog {
            format: LOG_FORMAT,
            preset: "x".into(),
            lab: "toy".into(),
            seed: 1,
            preset_toml: String::new(),
            backend: "cpu".into(),
            events: Vec::new(),
            steps: 9,
        };
        log.push(
            2,
            EventKind::Knob {
                name: "lr".into(),
                value: KnobValue::Float(0.5),
            },
            true,
        );
        log.push(
            3,
            EventKind::Knob {
                name: "n".into(),
                value: KnobValue::Int(4),
            },
            false,
        );
        log.push(
            4,
            EventKind::Act {
                action: serde_json::json!({"action": "nudge", "by": 1.0}),
            },
            true,
        );
        log.push(9, EventKind::Finish, true);
        let text = log.to_json().expect("json");
        assert_eq!(RunLog::from_json(&text).expect("reads back"), log);
        let newer = text.replace("\"format\": 1", "\"format\": 99");
        let e = RunLog::from_json(&newer).expect_err("newer").to_string();
        assert!(e.contains("format 99") && e.contains("newer"), "{e}");
        log.truncate(3);
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.steps, 3);
    }

    #[test]
    fn curves_round_trip_through_csv_and_name_the_first_difference() {
        let mut st = SeriesStore::new();
        st.push("loss", 1.0, 0.1 + 0.2);
        st.push("loss", 2.0, 1.0 / 3.0);
        st.push("acc", 2.0, 0.5);
        st.mark(1, "lr = 0.1000");
        let c = Curves::of(&st);
        let back = Curves::from_csv(&c.to_csv()).expect("csv");
        assert_eq!(back, c);
        assert_eq!(c.first_difference(&back), None);
        let mut other = SeriesStore::new();
        other.push("loss", 1.0, 0.1 + 0.2);
        other.push("loss", 2.0, 0.333);
        other.push("acc", 2.0, 0.5);
        let d = c.first_difference(&Curves::of(&other)).expect("differs");
        assert!(d.contains("`loss`") && d.contains("step 2"), "{d}");
    }
}
