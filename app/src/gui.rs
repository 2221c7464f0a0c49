//! The eframe shell: lab and preset list, the selected lab's panel with its run bar and knobs,
//! preset open/save, PNG and CSV export, persisted settings.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use trainscope_engine::{Backend, BackendChoice, Command, DynLab, KnobValue, Preset, Runner, labs};
use trainscope_panels::{PlotSettings, knob_editor, lab_panel, race, run_bar};

const SETTINGS_KEY: &str = "trainscope-settings";

/// What persists between launches (window geometry is persisted by eframe itself).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The preset open last.
    pub preset: String,
    /// Backend the user chose.
    pub backend: BackendChoice,
    /// Plot appearance.
    pub plot: PlotSettings,
    /// Dark theme.
    pub dark: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            preset: "ff-mnist-quick".into(),
            backend: BackendChoice::Cpu,
            plot: PlotSettings::default(),
            dark: true,
        }
    }
}

/// The run on screen.
pub struct ActiveRun {
    /// The preset it was built from (knob changes are folded in when saving).
    pub preset: Preset,
    /// Its worker.
    pub runner: Runner,
}

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
enum RaceTab {
    Compare,
    PanelA,
    PanelB,
}

/// A screenshot on its way to a PNG file.
type PendingShot = Arc<Mutex<Option<Arc<egui::ColorImage>>>>;

/// The application state.
pub struct TrainscopeApp {
    settings: Settings,
    presets: Vec<Preset>,
    run: Option<ActiveRun>,
    race: Option<Race>,
    race_text: String,
    race_tab: RaceTab,
    race_series: Option<Vec<String>>,
    backend: Backend,
    notice: Option<(String, bool)>,
    knob_edits: HashMap<String, f64>,
    panel_rect: egui::Rect,
    shot: Option<(PathBuf, PendingShot)>,
    ctx: egui::Context,
}

impl TrainscopeApp {
    /// Builds the app; `initial` overrides the persisted preset.
    pub fn new(ctx: &egui::Context, settings: Settings, initial: Option<Preset>) -> Self {
        let presets = Preset::builtins().unwrap_or_default();
        let backend = Backend::select(settings.backend);
        let mut app = TrainscopeApp {
            notice: backend.notice.clone().map(|n| (n, false)),
            settings,
            presets,
            run: None,
            race: None,
            race_text: String::new(),
            race_tab: RaceTab::Compare,
            race_series: None,
            backend,
            knob_edits: HashMap::new(),
            panel_rect: egui::Rect::NOTHING,
            shot: None,
            ctx: ctx.clone(),
        };
        let start = initial.or_else(|| {
            app.presets
                .iter()
                .find(|p| p.name == app.settings.preset)
                .cloned()
        });
        if let Some(p) = start.or_else(|| app.presets.first().cloned()) {
            app.open(p);
        }
        app
    }

    fn spawn(&self, preset: &Preset) -> Runner {
        let device = self.backend.device.clone();
        let p = preset.clone();
        let factory = Box::new(
            move || -> Result<Box<dyn DynLab>, trainscope_engine::LabError> { p.build(&device) },
        );
        let ctx = self.ctx.clone();
        Runner::spawn(factory, Some(Arc::new(move || ctx.request_repaint())))
    }

    /// Starts a run of `preset` (paused), replacing the current one and ending any race.
    pub fn open(&mut self, preset: Preset) {
        self.race = None;
        let runner = self.spawn(&preset);
        self.settings.preset = preset.name.clone();
        if !self
            .presets
            .iter()
            .any(|q| q.name == preset.name && q.source == preset.source)
        {
            self.presets.push(preset.clone());
        }
        self.knob_edits.clear();
        self.run = Some(ActiveRun { preset, runner });
    }

    /// The current run, if any.
    pub fn run(&self) -> Option<&ActiveRun> {
        self.run.as_ref()
    }

    /// The run racing the current one, if any.
    pub fn race(&self) -> Option<&Race> {
        self.race.as_ref()
    }

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
        self.send_both(Command::Play);
        Ok(())
    }

    /// Sends a command to run A and, during a race, to run B too.
    fn send_both(&self, cmd: Command) {
        if let Some(r) = &self.race {
            r.runner.send(cmd.clone());
        }
        if let Some(r) = &self.run {
            r.runner.send(cmd);
        }
    }

    fn set_backend(&mut self, choice: BackendChoice) {
        self.settings.backend = choice;
        self.backend = Backend::select(choice);
        self.notice = self.backend.notice.clone().map(|n| (n, false));
        if let Some(r) = self.run.take() {
            self.open(r.preset);
        }
    }

    /// The preset with the run's current knob values folded in.
    fn current_preset(&self) -> Option<Preset> {
        let run = self.run.as_ref()?;
        let mut p = run.preset.clone();
        let knobs = run.runner.read(|s| s.knobs.clone());
        for k in knobs.iter() {
            let v = match k.value.clone() {
                KnobValue::Bool(b) => toml::Value::Boolean(b),
                KnobValue::Int(i) => toml::Value::Integer(i),
                KnobValue::Float(f) => toml::Value::Float(f),
                KnobValue::Choice(c) | KnobValue::Text(c) => toml::Value::String(c),
            };
            // A knob the config does not know (none today) is simply not saved.
            let _ = p.set_value(&k.name, v);
        }
        Some(p)
    }

    fn open_preset_dialog(&mut self) {
        let Some(path) = rfd::FileDialog::new()
            .add_filter("preset", &["toml"])
            .pick_file()
        else {
            return;
        };
        match Preset::load(&path) {
            Ok(p) => self.open(p),
            Err(e) => self.notice = Some((e.to_string(), true)),
        }
    }

    fn save_preset_dialog(&mut self) {
        let Some(p) = self.current_preset() else {
            return;
        };
        let Some(path) = rfd::FileDialog::new()
            .add_filter("preset", &["toml"])
            .set_file_name(format!("{}.toml", p.name))
            .save_file()
        else {
            return;
        };
        let result = p.to_toml().map_err(|e| anyhow!("{e}")).and_then(|t| {
            std::fs::write(&path, t).map_err(|e| anyhow!("writing {}: {e}", path.display()))
        });
        self.notice = Some(match result {
            Ok(()) => (format!("saved {}", path.display()), false),
            Err(e) => (e.to_string(), true),
        });
    }

    fn export_csv_dialog(&mut self) {
        let Some(run) = &self.run else { return };
        let Some(path) = rfd::FileDialog::new()
            .add_filter("CSV", &["csv"])
            .set_file_name(format!("{}-metrics.csv", run.preset.name))
            .save_file()
        else {
            return;
        };
        let store = run.runner.read(|s| s.series.clone());
        self.notice = Some(match crate::export::write_csv(&store, &path) {
            Ok(()) => (format!("wrote {}", path.display()), false),
            Err(e) => (format!("{e:#}"), true),
        });
    }

    fn export_png_dialog(&mut self) {
        let name = self
            .run
            .as_ref()
            .map_or("panel".to_string(), |r| r.preset.name.clone());
        let Some(path) = rfd::FileDialog::new()
            .add_filter("PNG", &["png"])
            .set_file_name(format!("{name}.png"))
            .save_file()
        else {
            return;
        };
        let slot: PendingShot = Arc::new(Mutex::new(None));
        let s2 = slot.clone();
        let ctx = self.ctx.clone();
        self.ctx.request_screenshot(move |img| {
            if let Ok(mut g) = s2.lock() {
                *g = Some(img);
            }
            ctx.request_repaint();
        });
        self.shot = Some((path, slot));
    }

    fn poll_screenshot(&mut self, pixels_per_point: f32) {
        let Some((path, slot)) = &self.shot else {
            return;
        };
        let img = slot.lock().ok().and_then(|mut g| g.take());
        let Some(img) = img else { return };
        let r = self.panel_rect;
        let phys = egui::Rect::from_min_max(
            (r.min.to_vec2() * pixels_per_point).to_pos2(),
            (r.max.to_vec2() * pixels_per_point).to_pos2(),
        );
        self.notice = Some(match crate::export::write_png(&img, phys, path) {
            Ok(()) => (format!("wrote {}", path.display()), false),
            Err(e) => (format!("{e:#}"), true),
        });
        self.shot = None;
    }

    fn menu(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
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
            });
            ui.menu_button("View", |ui| {
                ui.checkbox(&mut self.settings.plot.show_legend, "Legends");
                ui.checkbox(
                    &mut self.settings.plot.show_raw,
                    "Raw series under smoothed lines",
                );
                ui.add(
                    egui::Slider::new(&mut self.settings.plot.smoothing, 0.0..=0.99)
                        .text("smoothing"),
                );
                if ui.checkbox(&mut self.settings.dark, "Dark theme").changed() {
                    ui.ctx().set_theme(if self.settings.dark {
                        egui::Theme::Dark
                    } else {
                        egui::Theme::Light
                    });
                }
            });
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

    fn lab_list(&mut self, ui: &mut egui::Ui) {
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

    fn side(&mut self, ui: &mut egui::Ui) {
        if self.run.is_none() {
            return;
        }
        self.race_controls(ui);
        ui.add_space(8.0);
        let Some(run) = &self.run else { return };
        ui.heading("Knobs");
        ui.label(egui::RichText::new("Changes apply live and are marked on the charts.").small());
        let knobs = run.runner.read(|s| s.knobs.clone());
        if let Some((name, value)) = knob_editor(ui, &knobs, &mut self.knob_edits) {
            run.runner.send(Command::SetKnob(name, value));
        }
        ui.add_space(8.0);
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

    fn central(&mut self, ui: &mut egui::Ui) {
        let Some(run) = &self.run else {
            ui.label("Pick a preset on the left.");
            return;
        };
        let state = run.runner.snapshot();
        let title = run.preset.title.clone();
        let lab = run.preset.lab.clone();
        let label_a = format!("A: {}", run.preset.name);
        let race_b = self
            .race
            .as_ref()
            .map(|r| (r.runner.snapshot(), format!("B: {}", r.changes.join(", "))));
        let settings = self.settings.plot.clone();
        ui.heading(title);
        if let Some((state_b, label_b)) = race_b {
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
            for (tag, color, runner, st) in [
                (
                    "A",
                    race::COLOR_A,
                    self.run.as_ref().map(|r| &r.runner),
                    &state,
                ),
                (
                    "B",
                    race::COLOR_B,
                    self.race.as_ref().map(|r| &r.runner),
                    &state_b,
                ),
            ] {
                if let Some(runner) = runner {
                    // Two run bars on one screen: their widgets need distinct ids.
                    ui.push_id(tag, |ui| {
                        ui.colored_label(color, format!("Run {tag}"));
                        run_bar(ui, runner, st, &self.backend.name);
                    });
                }
            }
            self.notice_line(ui);
            ui.separator();
            let tab = self.race_tab;
            let selected = &mut self.race_series;
            let inner = egui::ScrollArea::vertical().show(ui, |ui| match tab {
                RaceTab::Compare => {
                    race::show(
                        ui,
                        race::RaceSide {
                            label: &label_a,
                            state: &state,
                        },
                        race::RaceSide {
                            label: &label_b,
                            state: &state_b,
                        },
                        selected,
                        &settings,
                    );
                    (false, Vec::new())
                }
                RaceTab::PanelA => (false, lab_panel(ui, &lab, &state, &settings)),
                RaceTab::PanelB => (true, lab_panel(ui, &lab, &state_b, &settings)),
            });
            self.panel_rect = inner.inner_rect;
            // A panel's own controls change the run whose panel was clicked.
            let (to_b, changes) = inner.inner;
            let runner = if to_b {
                self.race.as_ref().map(|r| &r.runner)
            } else {
                self.run.as_ref().map(|r| &r.runner)
            };
            if let Some(runner) = runner {
                for (name, value) in changes {
                    runner.send(Command::SetKnob(name, value));
                }
            }
            return;
        }
        run_bar(ui, &run.runner, &state, &self.backend.name);
        self.notice_line(ui);
        ui.separator();
        let inner =
            egui::ScrollArea::vertical().show(ui, |ui| lab_panel(ui, &lab, &state, &settings));
        self.panel_rect = inner.inner_rect;
        if let Some(run) = &self.run {
            for (name, value) in inner.inner {
                run.runner.send(Command::SetKnob(name, value));
            }
        }
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

    fn shortcuts(&self, ctx: &egui::Context) {
        let Some(run) = &self.run else { return };
        if ctx.memory(|m| m.focused().is_some()) {
            return;
        }
        if ctx.input(|i| i.key_pressed(egui::Key::Space)) {
            let running = run
                .runner
                .read(|s| s.status == trainscope_engine::Status::Running);
            self.send_both(if running {
                Command::Pause
            } else {
                Command::Play
            });
        }
    }

    /// Draws one frame (also used by the UI tests).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.shortcuts(ui.ctx());
        self.poll_screenshot(ui.ctx().pixels_per_point());
        egui::Panel::top("menu").show(ui, |ui| self.menu(ui));
        egui::Panel::left("labs")
            .resizable(true)
            .default_size(230.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.lab_list(ui));
            });
        egui::Panel::right("knobs")
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.side(ui));
            });
        egui::CentralPanel::default_margins().show(ui, |ui| self.central(ui));
    }

    /// The persisted settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
}

impl eframe::App for TrainscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}

/// Opens the window; `race` (KEY=VALUE changes) starts a race at launch.
pub fn run(
    preset: Option<String>,
    backend: BackendChoice,
    play: bool,
    race: Vec<String>,
) -> Result<()> {
    let initial = preset.map(|p| Preset::resolve(&p)).transpose()?;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Trainscope")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "trainscope",
        options,
        Box::new(move |cc| {
            let mut settings: Settings = cc
                .storage
                .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
                .unwrap_or_default();
            if backend != BackendChoice::Cpu {
                settings.backend = backend;
            }
            cc.egui_ctx.set_theme(if settings.dark {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
            let mut app = TrainscopeApp::new(&cc.egui_ctx, settings, initial);
            if !race.is_empty() {
                // A race plays both runs; a bad change shows as a notice in the window.
                if let Err(e) = app.start_race(&race.join("\n")) {
                    app.notice = Some((format!("{e:#}"), true));
                }
            } else if play && let Some(run) = app.run() {
                run.runner.send(Command::Play);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow!("could not open the window: {e}"))
}
