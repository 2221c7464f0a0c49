//! The timeline scrubber: rewind run A to any earlier step (the lab is rebuilt and its log
//! re-executed, with a progress bar), or branch from that step with other knob values: run B
//! re-executes A's log up to there, takes the changes, and races A on shared axes.

use anyhow::{Result, anyhow};
use trainscope_engine::{Command, EventKind, KnobValue, Preset, RunState};

use super::racing::RaceTab;
use super::{Race, TrainscopeApp};

/// Parses `KEY=VALUE` lines as knob changes against the run's knobs.
fn knob_changes(state: &RunState, text: &str) -> Result<Vec<(String, KnobValue)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, raw) = line
            .split_once('=')
            .ok_or_else(|| anyhow!("branch changes, line {n}: expected KEY=VALUE"))?;
        let key = key.trim();
        let spec = state.knobs.iter().find(|k| k.name == key).ok_or_else(|| {
            anyhow!(
                "branch changes, line {n}: `{key}` is not a knob of this lab (a branch changes \
                 knobs; race from step 0 to change other settings)"
            )
        })?;
        let value = trainscope_engine::preset::parse_value(raw.trim());
        let v = KnobValue::from_toml(&value, &spec.kind).ok_or_else(|| {
            anyhow!("branch changes, line {n}: `{raw}` does not fit knob `{key}`")
        })?;
        let v = spec
            .validate(v)
            .map_err(|e| anyhow!("branch changes, line {n}: {e}"))?;
        out.push((key.to_string(), v));
    }
    if out.is_empty() {
        return Err(anyhow!(
            "type at least one knob change for the branch, e.g. `lr=0.01`"
        ));
    }
    Ok(out)
}

impl TrainscopeApp {
    /// Branches run B from step `k` of run A with knob changes (`KEY=VALUE` lines): B
    /// re-executes A's log up to `k`, makes the changes there, and both play. A keeps its
    /// history; the Compare tab overlays the two from step 0.
    pub fn start_branch(&mut self, k: u64, changes: &str) -> Result<()> {
        let run = self
            .run
            .as_ref()
            .ok_or_else(|| anyhow!("open a preset first"))?;
        let state = run.runner.snapshot();
        if k > state.step {
            return Err(anyhow!("run A has not reached step {k} yet"));
        }
        let changes = knob_changes(&state, changes)?;
        let mut log = state.current_log();
        log.truncate(k);
        log.steps = k;
        let lines: Vec<String> = changes.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let mut preset: Preset = run.preset.clone();
        preset.title = format!(
            "{} [B from step {k}: {}]",
            run.preset.title,
            lines.join(", ")
        );
        let runner = self.spawn_logged(&run.preset, Some(log), false);
        for (name, value) in changes {
            runner.send(Command::SetKnob(name, value));
        }
        run.runner.send(Command::Log(EventKind::Race {
            changes: lines.clone(),
            from: k,
        }));
        self.race = Some(Race {
            preset,
            changes: lines.iter().map(|l| format!("{l} from step {k}")).collect(),
            runner,
        });
        self.race_tab = RaceTab::Compare;
        self.race_series = None;
        self.send_both(Command::Play);
        Ok(())
    }

    /// Starts the branch `gui --branch-at` asked for once run A has reached its step.
    pub(super) fn branch_tick(&mut self) {
        let Some((k, _)) = &self.pending_branch else {
            return;
        };
        let Some(run) = &self.run else { return };
        if run.runner.read(|s| s.step) < *k {
            return;
        }
        if let Some((k, changes)) = self.pending_branch.take() {
            if let Some(run) = &self.run {
                run.runner.send(Command::Pause);
            }
            if let Err(e) = self.start_branch(k, &changes) {
                self.notice = Some((format!("{e:#}"), true));
            }
        }
    }

    /// The scrubber under run A's bar.
    pub(super) fn timeline(&mut self, ui: &mut egui::Ui, state: &RunState) {
        if let Some((done, target)) = state.replaying {
            let frac = if target == 0 {
                1.0
            } else {
                done as f32 / target as f32
            };
            ui.add(
                egui::ProgressBar::new(frac)
                    .show_percentage()
                    .text(format!("re-executing the run log: step {done} of {target}")),
            );
            return;
        }
        let mut rewind = false;
        let mut branch = false;
        ui.horizontal_wrapped(|ui| {
            ui.label("Timeline:");
            self.scrub = self.scrub.min(state.step);
            ui.add(
                egui::Slider::new(&mut self.scrub, 0..=state.step.max(1))
                    .text("step")
                    .clamping(egui::SliderClamping::Always),
            )
            .on_hover_text("An earlier step of run A, to rewind to or branch from");
            rewind = ui
                .add_enabled(self.scrub < state.step, egui::Button::new("Rewind here"))
                .on_hover_text(
                    "Rebuild the lab and re-execute its log up to this step; what you do next is \
                     a new branch (the later part is dropped)",
                )
                .clicked();
            let label = ui.label("branch with");
            ui.add(
                egui::TextEdit::singleline(&mut self.branch_text)
                    .hint_text("lr=0.01")
                    .desired_width(120.0),
            )
            .labelled_by(label.id);
            branch = ui
                .button("Branch and race")
                .on_hover_text(
                    "Run B re-executes run A up to this step, takes these knob values (KEY=VALUE, \
                     separate several with ;) and races A on shared axes",
                )
                .clicked();
        });
        if rewind && let Some(run) = &self.run {
            self.race = None;
            run.runner.send(Command::Rewind(self.scrub));
        }
        if branch {
            let text = self.branch_text.replace(';', "\n");
            if let Err(e) = self.start_branch(self.scrub, &text) {
                self.notice = Some((format!("{e:#}"), true));
            }
        }
    }
}
