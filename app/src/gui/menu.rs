//! The menu bar: file actions, view options and the backend choice.

use trainscope_engine::BackendChoice;

use super::TrainscopeApp;

impl TrainscopeApp {
    pub(super) fn menu(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file_menu(ui));
            ui.menu_button("View", |ui| self.view_menu(ui));
            ui.separator();
            let mut choice = self.settings.backend;
            egui::ComboBox::from_id_salt("backend")
                .selected_text(format!("backend: {}", self.backend.name))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut choice, BackendChoice::Cpu, "CPU (burn flex)");
                    ui.selectable_value(&mut choice, BackendChoice::Gpu, "GPU (burn wgpu)");
                })
                .response
                .accessible_name("compute backend");
            if choice != self.settings.backend {
                self.set_backend(choice);
            }
        });
    }

    fn file_menu(&mut self, ui: &mut egui::Ui) {
        if ui.button("Open preset…").clicked() {
            self.open_preset_dialog();
        }
        if ui
            .button("Save preset as…")
            .on_hover_text("With the current knob values")
            .clicked()
        {
            self.save_preset_dialog();
        }
        ui.separator();
        if ui
            .button("Save session…")
            .on_hover_text("One file with the run's log, metrics, figures and your notes")
            .clicked()
        {
            self.save_session_dialog();
        }
        if ui
            .button("Open session…")
            .on_hover_text("Reopens a saved session by re-executing its log")
            .clicked()
        {
            self.open_session_dialog();
        }
        let log_file = self
            .run
            .as_ref()
            .and_then(|r| r.runner.read(|s| s.log_file.clone()));
        if ui
            .button("Reopen last run log")
            .on_hover_text(format!(
                "Every run's log is written as it happens, to {}. This re-executes the newest \
                 one before this run's (after a crash, up to its last second).{}",
                self.runs_dir
                    .as_ref()
                    .map_or("(no data folder)".to_string(), |d| d.display().to_string()),
                log_file.map_or(String::new(), |f| format!(
                    "\nThis run's log: {}",
                    f.display()
                ))
            ))
            .clicked()
        {
            self.reopen_last_log();
        }
        ui.menu_button("Lessons", |ui| {
            for l in trainscope_engine::lesson::Lesson::builtins().unwrap_or_default() {
                if ui.button(&l.title).on_hover_text(&l.summary).clicked() {
                    self.open_lesson(l);
                }
            }
        });
        ui.separator();
        if ui
            .button("Export figure…")
            .on_hover_text("A publication figure (SVG and PNG) of chosen series")
            .clicked()
        {
            self.open_figure_window();
        }
        if ui.button("Export panel as PNG…").clicked() {
            self.export_png_dialog();
        }
        if ui.button("Export series as CSV…").clicked() {
            self.export_csv_dialog();
        }
        ui.separator();
        if ui.button("Quit").clicked() {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn view_menu(&mut self, ui: &mut egui::Ui) {
        ui.checkbox(&mut self.settings.plot.show_legend, "Legends");
        ui.checkbox(
            &mut self.settings.plot.show_raw,
            "Raw series under smoothed lines",
        );
        ui.add(egui::Slider::new(&mut self.settings.plot.smoothing, 0.0..=0.99).text("smoothing"));
        if ui.checkbox(&mut self.settings.dark, "Dark theme").changed() {
            ui.ctx().set_theme(self.settings.theme());
        }
    }
}
