//! The eframe shell: lab and preset list, the selected lab's panel with its run bar and knobs,
//! preset open/save, PNG and CSV export, persisted settings.
//!
//! One file per concern: this one holds the app state, opening runs and the frame layout;
//! `settings` what persists, `menu` the menu bar, `sidebar` the two side columns, `central`
//! the run bar and panel (and the one call site of `lab_panel`), `racing` the A/B race, `files`
//! the file dialogs and exports.

mod central;
mod files;
mod frame_stats;
mod menu;
mod racing;
mod settings;
mod sidebar;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use trainscope_engine::{Backend, BackendChoice, Command, DynLab, Preset, Runner};

pub use racing::Race;
use racing::RaceTab;
pub use settings::Settings;

/// The run on screen.
pub struct ActiveRun {
    /// The preset it was built from (knob changes are folded in when saving).
    pub preset: Preset,
    /// Its worker.
    pub runner: Runner,
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
    frames: frame_stats::FrameStats,
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
            frames: frame_stats::FrameStats::default(),
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
            // Every knob is a config key, so its value saves as that key.
            let _ = p.set_value(&k.name, k.value.to_toml());
        }
        Some(p)
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
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let t0 = std::time::Instant::now();
        self.draw(ui);
        self.frames.record(frame.info().cpu_usage, t0.elapsed());
        self.frames.show(ui.ctx());
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.save(storage);
    }
}

/// Opens the window; `race` (KEY=VALUE changes) starts a race at launch; `frame_stats` is a
/// file the frame times are written to (and shows their overlay).
pub fn run(
    preset: Option<String>,
    backend: BackendChoice,
    play: bool,
    race: Vec<String>,
    frame_stats: Option<PathBuf>,
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
            let mut settings = Settings::load(cc.storage);
            if backend != BackendChoice::Cpu {
                settings.backend = backend;
            }
            cc.egui_ctx.set_theme(settings.theme());
            let mut app = TrainscopeApp::new(&cc.egui_ctx, settings, initial);
            app.frames = frame_stats::FrameStats::new(frame_stats);
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
