//! Racing a variant: run B is run A's preset and seed with a few settings changed, started
//! beside it from step 0.

use anyhow::{Result, anyhow};
use trainscope_engine::{Command, Preset, Runner};

use super::TrainscopeApp;

/// A second run racing the active one: same lab, same seed, a few settings changed.
pub struct Race {
    /// Run B's preset (run A's with `changes` applied).
    pub preset: Preset,
    /// The `KEY=VALUE` lines that make B differ from A.
    pub changes: Vec<String>,
    /// Its worker.
    pub runner: Runner,
}

/// What the central area shows while a race is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RaceTab {
    Compare,
    PanelA,
    PanelB,
}

impl TrainscopeApp {
    /// Starts a race: run A restarts from step 0 with its current knob values, and run B (the
    /// same preset and seed with `changes`, one `KEY=VALUE` per line, applied on top) starts
    /// beside it; both play. Bad lines are reported with their line number and nothing starts.
    pub fn start_race(&mut self, changes: &str) -> Result<()> {
        let Some(base) = self.current_preset() else {
            return Err(anyhow!("open a preset first"));
        };
        // (line number, text) of every change; blank lines and `#` comments are skipped.
        let lines: Vec<(usize, &str)> = changes
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
            .collect();
        if lines.is_empty() {
            return Err(anyhow!(
                "type at least one change for run B, e.g. `lr=0.01` (one KEY=VALUE per line)"
            ));
        }
        let mut variant = base.clone();
        for (n, l) in &lines {
            variant
                .apply_set(l)
                .map_err(|e| anyhow!("race changes, line {n}: {e}"))?;
        }
        if variant.config == base.config && variant.seed == base.seed {
            return Err(anyhow!(
                "these changes leave the preset as it is: run B would repeat run A step for step"
            ));
        }
        let lines: Vec<String> = lines.iter().map(|(_, l)| l.to_string()).collect();
        variant.title = format!("{} [B: {}]", base.title, lines.join(", "));
        self.open(base);
        let runner = self.spawn(&variant);
        self.race = Some(Race {
            preset: variant,
            changes: lines,
            runner,
        });
        self.race_tab = RaceTab::Compare;
        self.race_series = None;
        if let Some(run) = &self.run {
            run.runner
                .send(Command::Log(trainscope_engine::EventKind::Race {
                    changes: self
                        .race
                        .as_ref()
                        .map(|r| r.changes.clone())
                        .unwrap_or_default(),
                    from: 0,
                }));
        }
        self.send_both(Command::Play);
        Ok(())
    }

    /// Sends a command to run A and, during a race, to run B too.
    pub(super) fn send_both(&self, cmd: Command) {
        if let Some(r) = &self.race {
            r.runner.send(cmd.clone());
        }
        if let Some(r) = &self.run {
            r.runner.send(cmd);
        }
    }
}
