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
mod lesson;
mod menu;
mod racing;
mod session;
mod settings;
mod sidebar;
mod timeline;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use trainscope_engine::lesson::Lesson;
use trainscope_engine::runner::RunOptions;
use trainscope_engine::{Backend, BackendChoice, Command, DynLab, Preset, RunLog, Runner};

pub use lesson::LessonPlayer;

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
    /// The lesson being played over the run, if any.
    lesson: Option<LessonPlayer>,
    /// The user's notes, saved in session bundles.
    notes: String,
    /// The step the timeline scrubber points at.
    scrub: u64,
    /// Knob changes for a branch from the scrubber's step (`KEY=VALUE` lines).
    branch_text: String,
    /// A branch to start once run A reaches its step (from `gui --branch-at`).
    pending_branch: Option<(u64, String)>,
    /// The "export figure" window: which series are ticked, if it is open.
    figure_pick: Option<Vec<String>>,
    frames: frame_stats::FrameStats,
    /// Where the main run's log is streamed (`None`: not streamed).
    runs_dir: Option<PathBuf>,
}

impl TrainscopeApp {
    /// Builds the app; `initial` overrides the persisted preset. The main run's log streams to
    /// the user's runs folder ([`trainscope_engine::logstream::runs_dir`]).
    pub fn new(ctx: &egui::Context, settings: Settings, initial: Option<Preset>) -> Self {
        Self::with_runs_dir(
            ctx,
            settings,
            initial,
            trainscope_engine::logstream::runs_dir(),
        )
    }

    /// [`TrainscopeApp::new`] streaming the main run's logs to `runs_dir` (`None`: not at
    /// all), from the first run on; tests use it to keep out of the user's folder.
    pub fn with_runs_dir(
        ctx: &egui::Context,
        settings: Settings,
        initial: Option<Preset>,
        runs_dir: Option<PathBuf>,
    ) -> Self {
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
            lesson: None,
            notes: String::new(),
            scrub: 0,
            branch_text: String::new(),
            pending_branch: None,
            figure_pick: None,
            frames: frame_stats::FrameStats::default(),
            runs_dir,
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
        self.spawn_logged(preset, None, false)
    }

    /// A run of `preset` recording its log; given a log with steps, the run first re-executes
    /// it (a reopened session, a branch). With `stream`, the log is also written as it happens
    /// to a new file in the runs folder (the main run; a race's run B is not streamed).
    fn spawn_logged(&self, preset: &Preset, log: Option<RunLog>, stream: bool) -> Runner {
        let device = self.backend.device.clone();
        let p = preset.clone();
        let factory = Box::new(
            move || -> Result<Box<dyn DynLab>, trainscope_engine::LabError> { p.build(&device) },
        );
        let ctx = self.ctx.clone();
        let log = log.or_else(|| RunLog::new(preset, &self.backend.name).ok());
        Runner::spawn_with(
            factory,
            Some(Arc::new(move || ctx.request_repaint())),
            RunOptions {
                log,
                checkpoint_every: CHECKPOINT_EVERY,
                stream: self
                    .runs_dir
                    .as_ref()
                    .filter(|_| stream)
                    .map(|d| trainscope_engine::logstream::new_run_path(d, &preset.name)),
            },
        )
    }

    /// Starts a run of `preset` (paused), replacing the current one and ending any race.
    pub fn open(&mut self, preset: Preset) {
        self.lesson = None;
        self.open_run(preset, None);
    }

    /// Opens a run, re-executing `log` first when given; any race ends, a lesson stays.
    fn open_run(&mut self, preset: Preset, log: Option<RunLog>) {
        self.race = None;
        self.scrub = 0;
        let runner = self.spawn_logged(&preset, log, true);
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

    /// Starts `lesson`: its preset opens (paused) with the lesson's card pane over it.
    pub fn open_lesson(&mut self, lesson: Lesson) {
        let preset = lesson.preset.clone();
        self.open_run(preset, None);
        self.lesson = Some(LessonPlayer::new(lesson));
    }

    /// The lesson being played, if any.
    pub fn lesson(&self) -> Option<&LessonPlayer> {
        self.lesson.as_ref()
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
        self.lesson_tick();
        self.branch_tick();
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
        self.lesson_window(ui.ctx());
        self.figure_window(ui.ctx());
    }

    /// The persisted settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Streams the main run's logs to `dir` from the next run opened on (`None`: not at all).
    pub fn set_runs_dir(&mut self, dir: Option<PathBuf>) {
        self.runs_dir = dir;
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

/// Take a checkpoint every this many steps where a lab can save its state (FF does on the CPU
/// backend; other labs' rewinds re-execute from step 0).
const CHECKPOINT_EVERY: u64 = 200;

/// What the window starts on besides a preset.
#[derive(Default)]
pub struct Launch {
    /// Start playing at once.
    pub play: bool,
    /// Race run B with these `KEY=VALUE` changes from step 0 (or from `branch_at`).
    pub race: Vec<String>,
    /// Start the race as a branch from this step of run A, once A reaches it.
    pub branch_at: Option<u64>,
    /// Play this lesson (a file or built-in name).
    pub lesson: Option<String>,
    /// Reopen this session bundle.
    pub session: Option<crate::bundle::Session>,
    /// Write the frame times to this file (and show their overlay).
    pub frame_stats: Option<PathBuf>,
}

/// `trainscope open FILE`: the window on a reopened session or run log (read before it opens).
pub fn open_session(path: &std::path::Path) -> Result<()> {
    let (session, _) = crate::cli::open_any(path)?;
    run(
        None,
        BackendChoice::Cpu,
        Launch {
            session: Some(session),
            ..Launch::default()
        },
    )
}

/// Opens the window on `preset` (or the persisted one) with what `launch` asks for.
pub fn run(preset: Option<String>, backend: BackendChoice, launch: Launch) -> Result<()> {
    let initial = preset.map(|p| Preset::resolve(&p)).transpose()?;
    let lesson = launch.lesson.as_deref().map(Lesson::resolve).transpose()?;
    let Launch {
        play,
        race,
        branch_at,
        session,
        frame_stats,
        ..
    } = launch;
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
            if let Some(s) = session {
                app.open_session(s);
            } else if let Some(l) = lesson {
                app.open_lesson(l);
                if play {
                    app.lesson_play();
                }
            }
            if let Some(k) = branch_at.filter(|_| !race.is_empty()) {
                app.pending_branch = Some((k, race.join("\n")));
                if let Some(run) = app.run() {
                    run.runner.send(Command::Play);
                }
            } else if !race.is_empty() {
                // A race plays both runs; a bad change shows as a notice in the window.
                if let Err(e) = app.start_race(&race.join("\n")) {
                    app.notice = Some((format!("{e:#}"), true));
                }
            } else if play
                && app.lesson.is_none()
                && let Some(run) = app.run()
            {
                run.runner.send(Command::Play);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow!("could not open the window: {e}"))
}
