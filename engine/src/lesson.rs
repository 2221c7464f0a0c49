//! Lessons: a preset plus ordered cards that guide a class through a run. A lesson file lives
//! in `presets/lessons/` (compiled in, like the presets):
//!
//! ```toml
//! title = "Why the second layer needs normalisation"
//! preset = "ff-mnist-quick"
//! summary = "One paragraph for the lesson list."
//! set = ["eval_every=100"]   # optional overrides of the preset, as `--set` takes them
//! hide = ["threshold"]       # knobs hidden while the lesson plays
//!
//! [[card]]
//! at = 0                     # the step this card belongs to; the run is brought there
//! title = "What you are looking at"
//! text = """Short **Markdown**."""
//!
//! [[card]]
//! at = 400
//! title = "Switch it off"
//! text = "..."
//! knobs = { normalize = false }   # scripted knob changes at this step
//! pause = true                    # the run pauses here, with a question
//! question = "What happens to the second layer's goodness?"
//! look = ["goodness_l1"]          # series to look at (drawn in the card)
//! race = ["normalize=true"]       # start a branch from here that races the run
//!
//! [[card]]
//! end = true                      # at the run's planned end, whatever its length
//! title = "..."
//! ```
//!
//! Cards' steps never decrease (`end` cards come last). Knob names, values, series and race changes are checked against
//! the lab when the lesson is read, so a lesson that cannot play is refused with its line.
//! [`Lesson::play`] plays a lesson headless (what `trainscope lesson FILE` prints and CI runs).

use std::path::Path;

use burn::tensor::Device;
use serde::Deserialize;

use crate::error::LabError;
use crate::lab::{KnobKind, KnobValue};
use crate::labs::LabEntry;
use crate::preset::Preset;
use crate::runlog::{self, EventKind, Replay, RunLog};

/// Lessons compiled into the binary: every `presets/lessons/*.toml`, sorted by name.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonFile {
    title: String,
    preset: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    hide: Vec<String>,
    #[serde(default, rename = "card")]
    cards: Vec<CardFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardFile {
    #[serde(default)]
    at: u64,
    #[serde(default)]
    end: bool,
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    knobs: toml::Table,
    #[serde(default)]
    pause: bool,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    look: Vec<String>,
    #[serde(default)]
    race: Vec<String>,
}

/// One card of a lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The step it belongs to.
    pub at: u64,
    /// Whether it belongs to the run's planned end instead (its `at` is then ignored).
    pub end: bool,
    /// Its heading.
    pub title: String,
    /// Short Markdown.
    pub text: String,
    /// Knob changes made when the run reaches `at`.
    pub knobs: Vec<(String, KnobValue)>,
    /// Whether the run pauses at `at`.
    pub pause: bool,
    /// A question for the class at the pause.
    pub question: Option<String>,
    /// Series to look at, drawn with the card.
    pub look: Vec<String>,
    /// Knob changes of a branch started at `at` that races the run.
    pub race: Vec<(String, KnobValue)>,
}

/// A parsed, checked lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// Short name (the file stem).
    pub name: String,
    /// Its title.
    pub title: String,
    /// One paragraph.
    pub summary: String,
    /// The preset it plays, its overrides applied.
    pub preset: Preset,
    /// Knobs hidden while it plays.
    pub hide: Vec<String>,
    /// Its cards, in order.
    pub cards: Vec<Card>,
}

/// The kind of a knob of a lab, if it has that knob.
fn knob_kind(entry: &LabEntry, preset: &Preset, key: &str) -> Option<KnobKind> {
    (entry.knobs)().iter().find(|k| k.key == key)?;
    match entry.ranges.iter().find(|r| r.key == key) {
        Some(r) => Some(r.kind),
        None => matches!(preset.config.get(key), Some(toml::Value::Boolean(_)))
            .then_some(KnobKind::Bool),
    }
}

fn knob_change(
    entry: &LabEntry,
    preset: &Preset,
    key: &str,
    value: &toml::Value,
) -> Result<(String, KnobValue), String> {
    let kind = knob_kind(entry, preset, key).ok_or_else(|| {
        format!(
            "lab `{}` has no knob `{key}` (knobs: {})",
            entry.id,
            (entry.knobs)()
                .iter()
                .map(|k| k.key)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let v = KnobValue::from_toml(value, &kind)
        .ok_or_else(|| format!("knob `{key}`: {value} does not fit a {kind:?} knob"))?;
    let v = kind.check(v).map_err(|m| format!("knob `{key}`: {m}"))?;
    Ok((key.to_string(), v))
}

impl Lesson {
    /// Parses and checks lesson text; `source` names it in errors.
    pub fn parse(text: &str, name: &str, source: &str) -> Result<Lesson, LabError> {
        let file: LessonFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(String::new(), |s| {
                format!(
                    ":{}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            });
            LabError::Preset(format!("{source}{at}: {}", e.message().trim_end()))
        })?;
        let bad = |m: String| LabError::Preset(format!("{source}: {m}"));
        let mut preset = Preset::resolve(&file.preset).map_err(|e| bad(e.to_string()))?;
        for s in &file.set {
            preset.apply_set(s).map_err(|e| bad(e.to_string()))?;
        }
        let entry = preset.entry()?;
        for h in &file.hide {
            knob_kind(entry, &preset, h)
                .ok_or_else(|| bad(format!("`hide`: lab `{}` has no knob `{h}`", entry.id)))?;
        }
        if file.cards.is_empty() {
            return Err(bad("a lesson needs at least one [[card]]".into()));
        }
        let mut cards = Vec::new();
        let mut last = 0;
        let mut ended = false;
        for (i, c) in file.cards.into_iter().enumerate() {
            let n = i + 1;
            if ended && !c.end {
                return Err(bad(format!(
                    "card {n} (`{}`) comes after a card at the run's end",
                    c.title
                )));
            }
            ended |= c.end;
            if !c.end && c.at < last {
                return Err(bad(format!(
                    "card {n} (`{}`) is at step {}, before the card ahead of it (step {last})",
                    c.title, c.at
                )));
            }
            if !c.end {
                last = c.at;
            }
            let knobs = c
                .knobs
                .iter()
                .map(|(k, v)| knob_change(entry, &preset, k, v))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| bad(format!("card {n}: {m}")))?;
            let race = c
                .race
                .iter()
                .map(|line| {
                    let (k, v) = line
                        .split_once('=')
                        .ok_or_else(|| format!("race change `{line}`: expected KEY=VALUE"))?;
                    let value = crate::preset::parse_value(v.trim());
                    knob_change(entry, &preset, k.trim(), &value)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| bad(format!("card {n}: {m}")))?;
            cards.push(Card {
                at: c.at,
                end: c.end,
                title: c.title,
                text: c.text,
                knobs,
                pause: c.pause,
                question: c.question,
                look: c.look,
                race,
            });
        }
        Ok(Lesson {
            name: name.to_string(),
            title: file.title,
            summary: file.summary,
            preset,
            hide: file.hide,
            cards,
        })
    }

    /// Reads a lesson file, or a built-in lesson by name.
    pub fn resolve(arg: &str) -> Result<Lesson, LabError> {
        let path = Path::new(arg);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| LabError::Io {
                context: format!("reading lesson {arg}"),
                source: e,
            })?;
            return Lesson::parse(&text, &stem, arg);
        }
        match BUILTIN.iter().find(|(n, _)| *n == stem) {
            Some((n, t)) => Lesson::parse(t, n, &format!("presets/lessons/{n}.toml (built in)")),
            None => Err(LabError::Preset(format!(
                "no lesson file `{arg}` and no built-in lesson of that name (built in: {})",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Every built-in lesson, parsed.
    pub fn builtins() -> Result<Vec<Lesson>, LabError> {
        BUILTIN
            .iter()
            .map(|(n, t)| Lesson::parse(t, n, &format!("presets/lessons/{n}.toml (built in)")))
            .collect()
    }

    /// Squeezes the cards' steps so the last card is at step `last` at most (keeping their
    /// order), for a lesson played on tiny settings in tests.
    pub fn fit(&mut self, last: u64) {
        let end = self.cards.last().map_or(0, |c| c.at);
        if end <= last || end == 0 {
            return;
        }
        for c in &mut self.cards {
            c.at = ((c.at as f64) * last as f64 / end as f64).round() as u64;
        }
    }

    /// The step a card belongs to, given the run's planned length.
    pub fn step_of(&self, card: &Card, planned: Option<u64>) -> u64 {
        if card.end {
            let last = self.cards.iter().filter(|c| !c.end).map(|c| c.at).max();
            planned.unwrap_or(0).max(last.unwrap_or(0))
        } else {
            card.at
        }
    }

    /// Plays the lesson headless on `device`: brings the run to each card's step, makes the
    /// card's knob changes (logged, as the GUI's player logs them), starts its race, and hands
    /// `show` each card with the run (and the racing branch, if any) at that point. Returns the
    /// run's log.
    pub fn play(
        &self,
        device: &Device,
        show: &mut dyn FnMut(&CardAt<'_>),
    ) -> Result<RunLog, LabError> {
        let mut log = RunLog::new(&self.preset, "cpu")?;
        let lab = self.preset.build(device)?;
        let mut run = Replay::new(lab, crate::series::DEFAULT_CAPACITY);
        let mut branch: Option<Replay> = None;
        for (i, card) in self.cards.iter().enumerate() {
            let at = self.step_of(card, run.lab.planned_steps());
            let step = |r: &mut Replay| r.run_to(&[], at, &mut |_| true);
            step(&mut run)?;
            if let Some(b) = branch.as_mut() {
                step(b)?;
            }
            for (name, value) in &card.knobs {
                let kind = EventKind::Knob {
                    name: name.clone(),
                    value: value.clone(),
                };
                let outcome = runlog::apply(&mut *run.lab, &mut run.series, run.step, &kind)
                    .map_err(LabError::Compute)?;
                outcome.map_err(|e| {
                    LabError::Preset(format!("card {} (`{}`): {e}", i + 1, card.title))
                })?;
                log.push(run.step, kind, true);
            }
            if !card.race.is_empty() {
                let mut b = Replay::start(&log, device)?;
                b.run_to(&log.events, run.step, &mut |_| true)?;
                for (name, value) in &card.race {
                    b.lab.set_knob(name, value.clone())?;
                    b.series.mark(b.step, format!("{name} = {value}"));
                }
                log.push(
                    run.step,
                    EventKind::Race {
                        changes: card.race.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                        from: run.step,
                    },
                    true,
                );
                branch = Some(b);
            }
            show(&CardAt {
                index: i,
                card,
                run: &run,
                branch: branch.as_ref(),
            });
        }
        log.steps = run.step;
        Ok(log)
    }
}

/// A card and the run at its step, as [`Lesson::play`] hands it over.
pub struct CardAt<'a> {
    /// The card's position (0-based).
    pub index: usize,
    /// The card.
    pub card: &'a Card,
    /// The run at the card's step.
    pub run: &'a Replay,
    /// The branch racing the run, once a card has started one.
    pub branch: Option<&'a Replay>,
}
