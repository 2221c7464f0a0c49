//! Session bundles and publication figures in the window: File → Save session / Open session,
//! and the "Export figure" window (SVG, PNG, CSV and the preset, drawn from the run's series).

use std::path::Path;

use trainscope_engine::{Curves, Preset};

use super::TrainscopeApp;
use crate::bundle::{self, EXTENSION, Session};
use crate::figure::Figure;

impl TrainscopeApp {
    /// The current run as a session: its log up to this frame, its history and the notes.
    pub fn session(&self) -> Option<Session> {
        let run = self.run.as_ref()?;
        let state = run.runner.snapshot();
        Some(Session::new(
            state.current_log(),
            Curves::of(&state.series),
            self.notes.clone(),
        ))
    }

    /// Replaces the session notes.
    pub fn set_notes(&mut self, notes: &str) {
        self.notes = notes.to_string();
    }

    /// Writes the current session to `path`; the result is shown as the notice.
    pub fn save_session(&mut self, path: &Path) {
        let result = match self.session() {
            Some(s) => bundle::save(path, &s),
            None => Err(anyhow::anyhow!("nothing to save: open a preset first")),
        };
        self.notice = Some(match result {
            Ok(()) => (format!("saved session {}", path.display()), false),
            Err(e) => (format!("{e:#}"), true),
        });
    }

    /// Reopens a session: its preset's lab is rebuilt and its log re-executed to where it was
    /// saved (a progress bar shows while it replays). The notes come back too.
    pub fn open_session(&mut self, session: Session) {
        match session.log.preset() {
            Ok(preset) => {
                self.lesson = None;
                self.notes = session.notes.clone();
                let steps = session.log.steps;
                self.open_run(preset, Some(session.log));
                self.scrub = steps;
            }
            Err(e) => self.notice = Some((format!("{e}"), true)),
        }
    }

    /// Reopens the newest streamed run log other than the current run's (after a crash, the
    /// run comes back to the last step its log recorded).
    pub fn reopen_last_log(&mut self) {
        let current = self
            .run
            .as_ref()
            .and_then(|r| r.runner.read(|s| s.log_file.clone()));
        let Some(dir) = self.runs_dir.clone() else {
            self.notice = Some(("no folder for run logs".into(), true));
            return;
        };
        let last = trainscope_engine::logstream::list_runs(&dir)
            .into_iter()
            .rev()
            .find(|p| Some(p) != current.as_ref());
        let Some(path) = last else {
            self.notice = Some((format!("no earlier run log in {}", dir.display()), true));
            return;
        };
        match crate::cli::open_any(&path) {
            Ok((s, _)) => {
                self.open_session(s);
                self.notice = Some((format!("reopened {}", path.display()), false));
            }
            Err(e) => self.notice = Some((format!("{e:#}"), true)),
        }
    }

    pub(super) fn save_session_dialog(&mut self) {
        let name = self
            .run
            .as_ref()
            .map_or("session".to_string(), |r| r.preset.name.clone());
        let Some(path) = rfd::FileDialog::new()
            .add_filter("Trainscope session", &[EXTENSION])
            .set_file_name(format!("{name}.{EXTENSION}"))
            .save_file()
        else {
            return;
        };
        self.save_session(&path);
    }

    pub(super) fn open_session_dialog(&mut self) {
        let Some(path) = rfd::FileDialog::new()
            .add_filter("Trainscope session", &[EXTENSION])
            .pick_file()
        else {
            return;
        };
        // A bundle that cannot be read leaves the current run as it is.
        match bundle::open(&path) {
            Ok(s) => self.open_session(s),
            Err(e) => self.notice = Some((format!("{e:#}"), true)),
        }
    }

    /// Opens the "Export figure" window with the lab's headline series ticked.
    pub(super) fn open_figure_window(&mut self) {
        let Some(run) = &self.run else { return };
        let store = run.runner.read(|s| s.series.clone());
        let headline = run
            .preset
            .entry()
            .map(|e| (e.headline)(&run.preset.config))
            .unwrap_or_default();
        let mut pick: Vec<String> = headline
            .iter()
            .filter(|h| store.get(h).is_some())
            .map(|h| h.to_string())
            .collect();
        if pick.is_empty() {
            pick.extend(store.names().first().cloned());
        }
        self.figure_pick = Some(pick);
    }

    /// Writes the figure of the ticked series next to `stem` (SVG, PNG, CSV, preset).
    pub fn export_figure(&mut self, stem: &Path, series: &[String]) {
        let Some(run) = &self.run else { return };
        let state = run.runner.snapshot();
        let fig = Figure::of(&Curves::of(&state.series), series, &run.preset.title);
        let preset = self.current_preset().and_then(|p: Preset| p.to_toml().ok());
        self.notice = Some(match fig.export(stem, preset.as_deref()) {
            Ok(paths) => (
                format!(
                    "wrote {}",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                false,
            ),
            Err(e) => (format!("{e:#}"), true),
        });
    }

    pub(super) fn figure_window(&mut self, ctx: &egui::Context) {
        let Some(mut pick) = self.figure_pick.take() else {
            return;
        };
        let Some(run) = &self.run else { return };
        let store = run.runner.read(|s| s.series.clone());
        let name = run.preset.name.clone();
        let mut open = true;
        let mut export = false;
        egui::Window::new("Export figure")
            .open(&mut open)
            .default_width(360.0)
            .show(ctx, |ui| {
                ui.label(
                    "Draws the ticked series on one plot with title, axis labels, legend and \
                     the knob-change markers, as SVG and PNG, with the series as CSV and the \
                     preset beside them.",
                );
                egui::ScrollArea::vertical()
                    .max_height(300.0)
                    .show(ui, |ui| {
                        for n in store.names() {
                            let mut on = pick.contains(n);
                            if ui.checkbox(&mut on, n.as_str()).changed() {
                                if on {
                                    pick.push(n.clone());
                                } else {
                                    pick.retain(|p| p != n);
                                }
                            }
                        }
                    });
                export = ui
                    .add_enabled(
                        !pick.is_empty(),
                        egui::Button::new("Export SVG, PNG and CSV…"),
                    )
                    .clicked();
            });
        if export
            && let Some(path) = rfd::FileDialog::new()
                .set_file_name(format!("{name}-figure"))
                .save_file()
        {
            let stem = path.with_extension("");
            self.export_figure(&stem, &pick);
        }
        if open {
            self.figure_pick = Some(pick);
        }
    }
}
