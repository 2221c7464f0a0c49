//! The central area: the run bar(s), notices and the lab's panel, or during a race the tabs
//! that compare runs A and B or show either one's panel.

use trainscope_engine::{Command, RunState, Runner};
use trainscope_panels::{PlotSettings, Request, lab_panel, race, run_bar};

use super::TrainscopeApp;
use super::racing::RaceTab;

impl TrainscopeApp {
    pub(super) fn central(&mut self, ui: &mut egui::Ui) {
        let Some(run) = &self.run else {
            ui.label("Pick a preset on the left.");
            return;
        };
        // One snapshot per run and frame: a few `Arc` clones, however long the history.
        let state = run.runner.snapshot();
        ui.heading(run.preset.title.clone());
        if self.race.is_some() {
            self.race_central(ui, &state);
        } else {
            self.single_central(ui, &state);
        }
    }

    fn single_central(&mut self, ui: &mut egui::Ui, state: &RunState) {
        let Some(run) = &self.run else { return };
        let lab = run.preset.lab.clone();
        run_bar(ui, &run.runner, state, &self.backend.name);
        self.timeline(ui, state);
        self.notice_line(ui);
        if let Some(e) = &state.log_error {
            ui.colored_label(ui.visuals().warn_fg_color, e);
        }
        ui.separator();
        let Some(run) = &self.run else { return };
        let settings = &self.settings.plot;
        let inner = egui::ScrollArea::vertical().show(ui, |ui| {
            show_lab_panel(ui, &lab, state, settings, &run.runner)
        });
        self.panel_rect = inner.inner_rect;
    }

    fn race_central(&mut self, ui: &mut egui::Ui, state: &RunState) {
        let (Some(run), Some(race)) = (&self.run, &self.race) else {
            return;
        };
        let state_b = race.runner.snapshot();
        let lab = run.preset.lab.clone();
        let label_a = format!("A: {}", run.preset.name);
        let label_b = format!("B: {}", race.changes.join(", "));
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.race_tab, RaceTab::Compare, "Compare A and B");
            ui.selectable_value(&mut self.race_tab, RaceTab::PanelA, "Panel of A");
            ui.selectable_value(&mut self.race_tab, RaceTab::PanelB, "Panel of B");
            ui.separator();
            if ui.button("Play both").clicked() {
                self.send_both(Command::Play);
            }
            if ui.button("Pause both").clicked() {
                self.send_both(Command::Pause);
            }
        });
        let (Some(run), Some(race)) = (&self.run, &self.race) else {
            return;
        };
        for (tag, color, runner, st) in [
            ("A", race::COLOR_A, &run.runner, state),
            ("B", race::COLOR_B, &race.runner, &state_b),
        ] {
            // Two run bars on one screen: their widgets need distinct ids.
            ui.push_id(tag, |ui| {
                ui.colored_label(color, format!("Run {tag}"));
                run_bar(ui, runner, st, &self.backend.name);
            });
        }
        self.timeline(ui, state);
        self.notice_line(ui);
        ui.separator();
        let (Some(run), Some(race)) = (&self.run, &self.race) else {
            return;
        };
        let tab = self.race_tab;
        let selected = &mut self.race_series;
        let settings = &self.settings.plot;
        let inner = egui::ScrollArea::vertical().show(ui, |ui| match tab {
            RaceTab::Compare => race::show(
                ui,
                race::RaceSide {
                    label: &label_a,
                    state,
                },
                race::RaceSide {
                    label: &label_b,
                    state: &state_b,
                },
                selected,
                settings,
            ),
            // A panel's own controls change the run whose panel was clicked.
            RaceTab::PanelA => show_lab_panel(ui, &lab, state, settings, &run.runner),
            RaceTab::PanelB => show_lab_panel(ui, &lab, &state_b, settings, &race.runner),
        });
        self.panel_rect = inner.inner_rect;
    }

    fn notice_line(&mut self, ui: &mut egui::Ui) {
        if let Some((msg, is_err)) = self.notice.clone() {
            let color = if is_err {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().weak_text_color()
            };
            ui.horizontal(|ui| {
                ui.colored_label(color, msg);
                if ui.small_button("dismiss").clicked() {
                    self.notice = None;
                }
            });
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The one call site of `lab_panel`.
//
// Every lab's panel is drawn through this function, with the lab's structured results (curves
// and tables) under it, and what the panel's own controls ask for (knob changes and typed
// actions, e.g. Sparrow's "ask", "mark" and "prefer") is sent to the run whose panel it is.
// ----------------------------------------------------------------------------------------------

/// Draws lab `lab`'s panel and results for `state` and sends the panel's requests to `runner`.
fn show_lab_panel(
    ui: &mut egui::Ui,
    lab: &str,
    state: &RunState,
    settings: &PlotSettings,
    runner: &Runner,
) {
    // Closed by default: a collapsed header draws nothing inside it.
    egui::CollapsingHeader::new("Paper scoreboard: paper — this run — our reference")
        .id_salt(("scoreboard", lab))
        .default_open(false)
        .show(ui, |ui| {
            trainscope_panels::scoreboard::show(ui, lab, &state.series)
        });
    for request in lab_panel(ui, lab, state, settings) {
        runner.send(match request {
            Request::Knob(name, value) => Command::SetKnob(name, value),
            Request::Act(action) => Command::Act(action),
        });
    }
    if let Some(results) = state.results.as_ref().filter(|r| !r.is_empty()) {
        ui.separator();
        egui::CollapsingHeader::new("Results: curves and tables")
            .id_salt(("results", lab))
            .default_open(false)
            .show(ui, |ui| {
                trainscope_panels::results::show(ui, results, settings)
            });
    }
}
