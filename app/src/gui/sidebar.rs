//! The two side columns: the lab and preset list on the left; on the right the race controls,
//! the knobs, and the preset's description and effective config.

use trainscope_engine::{Command, labs};
use trainscope_panels::knob_editor;

use super::TrainscopeApp;

impl TrainscopeApp {
    /// The left column: every lab with its presets; clicking one opens it.
    pub(super) fn lab_list(&mut self, ui: &mut egui::Ui) {
        ui.heading("Labs");
        let mut pick = None;
        for entry in labs::all() {
            ui.add_space(4.0);
            ui.strong(entry.name).on_hover_text(entry.paper);
            ui.label(egui::RichText::new(entry.summary).small());
            for p in self.presets.iter().filter(|p| p.lab == entry.id) {
                let selected = self
                    .run
                    .as_ref()
                    .is_some_and(|r| r.preset.name == p.name && r.preset.source == p.source);
                if ui
                    .selectable_label(selected, format!("  {}", p.name))
                    .on_hover_text(&p.title)
                    .clicked()
                {
                    pick = Some(p.clone());
                }
            }
        }
        if let Some(p) = pick {
            self.open(p);
        }
    }

    fn race_controls(&mut self, ui: &mut egui::Ui) {
        ui.collapsing("Race a variant", |ui| {
            ui.label(
                egui::RichText::new(
                    "Restarts this run from step 0 (keeping the knob values above) and starts \
                     run B beside it: the same lab and seed with the settings below changed. \
                     Both then play; the Compare tab overlays their curves.",
                )
                .small(),
            );
            let label = ui.label("Changes for run B (KEY=VALUE, one per line):");
            ui.add(
                egui::TextEdit::multiline(&mut self.race_text)
                    .hint_text("lr=0.01")
                    .desired_rows(3)
                    .code_editor(),
            )
            .labelled_by(label.id);
            ui.horizontal(|ui| {
                if ui.button("Race from step 0").clicked() {
                    let text = self.race_text.clone();
                    if let Err(e) = self.start_race(&text) {
                        self.notice = Some((format!("{e:#}"), true));
                    }
                }
                if self.race.is_some() && ui.button("End race").clicked() {
                    self.race = None;
                }
            });
            if let Some(r) = &self.race {
                ui.weak(format!("racing B: {}", r.changes.join(", ")));
            }
        });
    }

    /// The right column.
    pub(super) fn side(&mut self, ui: &mut egui::Ui) {
        if self.run.is_none() {
            return;
        }
        self.race_controls(ui);
        ui.add_space(8.0);
        let Some(run) = &self.run else { return };
        ui.heading("Knobs");
        ui.label(egui::RichText::new("Changes apply live and are marked on the charts.").small());
        let mut knobs = run.runner.read(|s| s.knobs.clone());
        if let Some(p) = &self.lesson
            && !p.lesson.hide.is_empty()
        {
            // The lesson hides some controls to keep the class on what it is about.
            knobs = knobs
                .iter()
                .filter(|k| !p.lesson.hide.contains(&k.name))
                .cloned()
                .collect();
            ui.weak(format!("(the lesson hides: {})", p.lesson.hide.join(", ")));
        }
        if let Some((name, value)) = knob_editor(ui, &knobs, &mut self.knob_edits) {
            run.runner.send(Command::SetKnob(name, value));
        }
        ui.add_space(8.0);
        ui.collapsing("Notes (saved with the session)", |ui| {
            ui.add(
                egui::TextEdit::multiline(&mut self.notes)
                    .hint_text("What you tried and saw…")
                    .desired_rows(4),
            );
        });
        let Some(run) = &self.run else { return };
        ui.collapsing("Preset", |ui| {
            ui.label(&run.preset.description);
            ui.weak(format!("source: {}", run.preset.source));
        });
        ui.collapsing("Effective config", |ui| {
            egui::Grid::new("cfg").num_columns(2).show(ui, |ui| {
                for (k, v) in &run.preset.config {
                    ui.monospace(k);
                    ui.monospace(v.to_string());
                    ui.end_row();
                }
            });
        });
    }
}
