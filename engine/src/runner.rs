//! One worker thread per run: commands in, frames out.
//!
//! The worker owns the lab. The UI sends [`Command`]s and reads the newest [`RunState`] under a
//! lock that the worker holds only while publishing (at most ~30 times a second), so drawing never
//! waits on training. A panic inside a lab becomes that run's error; a non-finite metric pauses
//! the run and names the series and step.
//!
//! # What a frame costs
//!
//! The GUI snapshots the state every frame ([`Runner::snapshot`]) and the worker publishes up to
//! ~30 times a second, so neither may copy what can be large: the metric history and the view.
//!
//! - **Views are rebuilt only when they may have changed.** A frame asks the lab for a new view
//!   (and its knobs) only if the lab stepped or a command reached it (a knob, reset, finish)
//!   since the last view was taken. Commands that do not reach the lab (play, pause, speed),
//!   the publish on going idle and the frames of a throttled run between two steps keep the
//!   previous view. A lab whose view is costly and changes less often than it steps also
//!   reports a [`DynLab::view_version`]: when it equals the version of the view on screen, that
//!   view is kept. The view is an `Arc`, so a snapshot shares it.
//! - **The history is shared, not copied.** The worker appends to its own
//!   `Arc<SeriesStore>` outside the lock and publishes it by cloning the `Arc`; appending to a
//!   store the state (or a GUI snapshot) still shares copies only the touched series' chunk
//!   lists and short tails, never the points (see [`crate::series`]). The lock is held only to
//!   swap pointers and small fields, so a snapshot never waits on a long publish.
//!
//! # The run log, rewind and replay
//!
//! The worker keeps the run's [`RunLog`]: every knob change, action, final evaluation and race
//! start with the step at which it took effect (refused ones too), published with each frame
//! where it changed. [`Command::Rewind`] goes back to an earlier step by rebuilding the lab and
//! re-executing the log up to there (from the nearest checkpoint when the lab keeps them, see
//! [`crate::lab::Lab::save_state`]), publishing its progress in [`RunState::replaying`]; the
//! events after that step are dropped, so what the user does next is a new branch.
//! [`Runner::spawn_with`] given a log with steps replays it before the first frame is played.
//! Given [`RunOptions::stream`], the worker also writes the log to that file as it happens
//! (see [`crate::logstream`]): every input the moment it is applied, rewinds and resets, the
//! step count at least once a second while stepping and whenever the run goes idle, and an
//! `end` line when the worker stops normally.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{LabError, panic_text};
use crate::lab::{AnyView, DynLab, KnobSpec, KnobValue};
use crate::logstream::LogStream;
use crate::results::Results;
use crate::runlog::{self, EventKind, LOG_FORMAT, Replay, RunLog, record};
use crate::series::SeriesStore;

/// Builds (and on reset rebuilds) the run's lab, on the worker thread.
pub type LabFactory = Box<dyn Fn() -> Result<Box<dyn DynLab>, LabError> + Send>;
/// Called after each published frame, e.g. to ask the GUI for a repaint.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Minimum time between two published frames.
const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Building the lab (loading data, initialising the model).
    Loading,
    /// Built and waiting for a command.
    Paused,
    /// Stepping.
    Running,
    /// Reached its planned length and ran its final evaluation.
    Finished,
    /// Stopped by an error; see the message. Reset to try again.
    Failed,
}

/// Commands a run accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Step continuously.
    Play,
    /// Stop stepping.
    Pause,
    /// Take this many steps, then pause.
    Step(u64),
    /// Rebuild the lab from its config and forget the history.
    Reset,
    /// Change a knob live; a marker is recorded at the current step.
    SetKnob(String, KnobValue),
    /// Carry out one of the lab's actions (its serde form); its metrics are recorded at the
    /// current step, and an error is shown as the run's message.
    Act(serde_json::Value),
    /// Limit the step rate (steps per second); `None` runs flat out.
    SetSpeed(Option<f64>),
    /// Run the lab's final evaluation now.
    Finish,
    /// Go back to step `k` (at most the current step): rebuild, re-execute the log up to `k`
    /// and drop the events after it; the run is then paused at `k`.
    Rewind(u64),
    /// Record an event that does not reach the lab (e.g. [`EventKind::Race`]) in the log.
    Log(EventKind),
    /// End the worker thread.
    Stop,
}

/// The newest published state of a run. Cloning it is cheap: the history, the view and the
/// knobs are shared `Arc`s.
#[derive(Clone)]
pub struct RunState {
    /// Where the run is.
    pub status: Status,
    /// Steps taken since the last reset.
    pub step: u64,
    /// Recent stepping rate.
    pub steps_per_sec: f64,
    /// Metric history, shared with the worker (copy-on-write there).
    pub series: Arc<SeriesStore>,
    /// The lab's latest snapshot for drawing.
    pub view: Option<AnyView>,
    /// The lab's latest structured results (curves and tables).
    pub results: Option<Arc<Results>>,
    /// The lab's knobs and their current values.
    pub knobs: Arc<[KnobSpec]>,
    /// An error or notice for the user.
    pub message: Option<String>,
    /// The lab's planned run length.
    pub planned_steps: Option<u64>,
    /// The step-rate limit in force.
    pub max_rate: Option<f64>,
    /// Incremented on every publish.
    pub frame: u64,
    /// The run log as of the last change to it (its `steps` may lag; use [`RunState::step`]).
    pub log: Arc<RunLog>,
    /// While a rewind or replay re-executes: `(step reached, target step)`.
    pub replaying: Option<(u64, u64)>,
    /// The latest rewind: `(the checkpoint's step it started from, 0 = re-executed from the
    /// start; the step it went to)`.
    pub rewound: Option<(u64, u64)>,
    /// The file the log is streamed to, while it is (see [`RunOptions::stream`]).
    pub log_file: Option<std::path::PathBuf>,
    /// Why the log is not (or no longer) streamed to its file, if it is not.
    pub log_error: Option<String>,
}

impl RunState {
    /// The log with its step count brought up to this frame, for saving.
    pub fn current_log(&self) -> RunLog {
        let mut log = (*self.log).clone();
        log.steps = self.step;
        log
    }
}

/// How [`Runner::spawn_with`] starts a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The run's log header (preset, backend). When it has steps or events, the worker
    /// re-executes it to its `steps` before taking commands (opening a saved session).
    pub log: Option<RunLog>,
    /// Take a checkpoint every this many steps where the lab can save its state (0 = never).
    pub checkpoint_every: u64,
    /// Write the log to this file as it happens (JSON lines, see [`crate::logstream`]); a
    /// write error is shown as the run's message and streaming stops, the run goes on.
    pub stream: Option<std::path::PathBuf>,
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            status: Status::Loading,
            step: 0,
            steps_per_sec: 0.0,
            series: Arc::new(SeriesStore::new()),
            view: None,
            results: None,
            knobs: Arc::new([]),
            message: None,
            planned_steps: None,
            max_rate: None,
            frame: 0,
            log: Arc::new(RunLog::default()),
            replaying: None,
            rewound: None,
            log_file: None,
            log_error: None,
        }
    }
}

/// A handle to a run's worker thread. Dropping it stops the worker (without waiting for it).
pub struct Runner {
    tx: Sender<Command>,
    state: Arc<Mutex<RunState>>,
    thread: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<RunState>) -> MutexGuard<'_, RunState> {
    // A poisoned lock only means a panic happened while publishing; the data is still usable.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runner {
    /// Starts a worker that builds the lab with `factory` and waits, paused, for commands.
    pub fn spawn(factory: LabFactory, waker: Option<Waker>) -> Runner {
        Runner::spawn_with(factory, waker, RunOptions::default())
    }

    /// Starts a worker as [`Runner::spawn`] does, with a log header to record into (and to
    /// replay first when it has steps) and checkpoints; see [`RunOptions`].
    pub fn spawn_with(factory: LabFactory, waker: Option<Waker>, options: RunOptions) -> Runner {
        let (tx, rx) = mpsc::channel();
        let mut log = options.log.unwrap_or_default();
        log.format = LOG_FORMAT;
        let replay_to = (log.steps > 0 || !log.events.is_empty()).then_some(log.steps);
        let state = Arc::new(Mutex::new(RunState::default()));
        let worker = Worker {
            factory,
            lab: None,
            rx,
            state: state.clone(),
            waker,
            running: false,
            pending: 0,
            step: 0,
            series: Arc::new(SeriesStore::new()),
            lab_touched: false,
            view_version: None,
            status: Status::Loading,
            message: None,
            max_rate: None,
            last_publish: Instant::now(),
            steps_at_publish: 0,
            rate: 0.0,
            auto_finished: false,
            last_step_at: Instant::now(),
            log,
            log_dirty: true,
            checkpoints: Vec::new(),
            checkpoint_every: options.checkpoint_every,
            replay_to,
            stream_to: options.stream,
            stream: None,
        };
        let thread = std::thread::Builder::new()
            .name("trainscope-run".into())
            .spawn(move || worker.run())
            .ok();
        if thread.is_none() {
            let mut s = lock(&state);
            s.status = Status::Failed;
            s.message = Some("could not start a worker thread".into());
        }
        Runner { tx, state, thread }
    }

    /// Sends a command; ignored if the worker has ended.
    pub fn send(&self, cmd: Command) {
        let _ = self.tx.send(cmd);
    }

    /// Reads the newest state under a brief lock.
    pub fn read<R>(&self, f: impl FnOnce(&RunState) -> R) -> R {
        f(&lock(&self.state))
    }

    /// A copy of the newest state, for drawing a frame from: a few `Arc` clones, whatever the
    /// length of the history or the size of the view.
    pub fn snapshot(&self) -> RunState {
        self.read(RunState::clone)
    }

    /// Polls until `pred` holds or `timeout` passes; returns whether it held. For tests and
    /// headless drivers: the GUI never waits.
    pub fn wait_until(&self, timeout: Duration, pred: impl Fn(&RunState) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.read(&pred) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the worker and waits for it to end.
    pub fn stop_and_join(mut self) {
        self.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Stop);
    }
}

struct Worker {
    factory: LabFactory,
    lab: Option<Box<dyn DynLab>>,
    rx: Receiver<Command>,
    state: Arc<Mutex<RunState>>,
    waker: Option<Waker>,
    running: bool,
    pending: u64,
    step: u64,
    /// The history; the published state shares it, so appends copy on write.
    series: Arc<SeriesStore>,
    /// Whether the lab stepped or a command reached it since its view was last taken.
    lab_touched: bool,
    /// The [`DynLab::view_version`] of the published view (`None`: unknown or none yet).
    view_version: Option<u64>,
    status: Status,
    message: Option<String>,
    max_rate: Option<f64>,
    last_publish: Instant,
    steps_at_publish: u64,
    rate: f64,
    auto_finished: bool,
    last_step_at: Instant,
    log: RunLog,
    /// Whether the log changed since it was last published.
    log_dirty: bool,
    /// Saved lab states, oldest first, with the history at that step.
    checkpoints: Vec<Checkpoint>,
    checkpoint_every: u64,
    /// A log to re-execute up to this step before the first command.
    replay_to: Option<u64>,
    /// Where to stream the log (opened when the worker starts).
    stream_to: Option<std::path::PathBuf>,
    stream: Option<LogStream>,
}

/// A lab's saved state after a step, and the history as it was then (shared, not copied).
struct Checkpoint {
    step: u64,
    state: Vec<u8>,
    series: Arc<SeriesStore>,
}

/// Most checkpoints kept, and most bytes they may hold together; beyond either, every other one
/// is dropped (so they thin out evenly over the run).
const MAX_CHECKPOINTS: usize = 64;
const MAX_CHECKPOINT_BYTES: usize = 512 << 20;

impl Worker {
    fn run(mut self) {
        if let Some(path) = self.stream_to.take() {
            match LogStream::create(&path, &self.log) {
                Ok(s) => {
                    lock(&self.state).log_file = Some(path);
                    self.stream = Some(s);
                }
                Err(e) => {
                    lock(&self.state).log_error = Some(format!("the run log is not written: {e}"))
                }
            }
        }
        self.work();
        let step = self.step;
        self.stream_write(|s| s.end(step));
    }

    /// Writes to the streamed log, if there is one; on an error, says so and stops streaming.
    fn stream_write(&mut self, f: impl FnOnce(&mut LogStream) -> Result<(), LabError>) {
        let Some(s) = self.stream.as_mut() else {
            return;
        };
        if let Err(e) = f(s) {
            self.stream = None;
            let mut st = lock(&self.state);
            st.log_file = None;
            st.log_error = Some(format!("the run log stopped being written: {e}"));
        }
    }

    /// Logs an input in memory and in the streamed file.
    fn log_event(&mut self, kind: EventKind, ok: bool) {
        self.log.push(self.step, kind, ok);
        self.log_dirty = true;
        if let Some(e) = self.log.events.last().cloned() {
            self.stream_write(|s| s.event(&e));
        }
    }

    fn work(&mut self) {
        match self.replay_to.take() {
            Some(k) => self.rewind(k),
            None => self.build(true),
        }
        loop {
            let busy = self.running || self.pending > 0;
            let cmd = if busy {
                match self.rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                // Going idle: make sure the final state of the last burst is visible.
                self.publish(true);
                match self.rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            if let Some(c) = cmd {
                if !self.handle(c) {
                    return;
                }
                continue;
            }
            if let Some(rate) = self.max_rate {
                let due = self.last_step_at + Duration::from_secs_f64(1.0 / rate.max(1e-3));
                let now = Instant::now();
                if now < due {
                    self.publish(false);
                    match self.rx.recv_timeout(due - now) {
                        Ok(c) => {
                            if !self.handle(c) {
                                return;
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    continue;
                }
            }
            self.do_step();
            self.publish(false);
        }
    }

    fn build(&mut self, first: bool) {
        self.status = Status::Loading;
        if !first {
            self.publish(true);
        }
        let made = catch_unwind(AssertUnwindSafe(|| (self.factory)()));
        self.lab = None;
        // A new lab: its first view is taken whatever version it reports.
        self.lab_touched = true;
        self.view_version = None;
        match made {
            Ok(Ok(lab)) => {
                self.lab = Some(lab);
                self.status = Status::Paused;
            }
            Ok(Err(e)) => self.fail(format!("could not build the lab: {e}")),
            Err(p) => self.fail(format!(
                "the lab panicked while building: {}",
                panic_text(&*p)
            )),
        }
        self.publish(true);
    }

    fn fail(&mut self, message: String) {
        self.status = Status::Failed;
        self.message = Some(message);
        self.running = false;
        self.pending = 0;
    }

    fn pause(&mut self) {
        self.running = false;
        self.pending = 0;
        if self.status == Status::Running {
            self.status = Status::Paused;
        }
    }

    /// Handles one command; returns false when the worker should end.
    fn handle(&mut self, cmd: Command) -> bool {
        let usable = self.lab.is_some() && self.status != Status::Failed;
        match cmd {
            Command::Play if usable => {
                self.running = true;
                self.status = Status::Running;
                self.message = None;
            }
            Command::Step(n) if usable => {
                self.pending += n;
                self.status = Status::Running;
                self.message = None;
            }
            Command::Play | Command::Step(_) => {}
            Command::Pause => self.pause(),
            Command::Reset => {
                self.log.events.clear();
                self.log.steps = 0;
                self.log_dirty = true;
                self.stream_write(LogStream::reset);
                self.checkpoints.clear();
                self.running = false;
                self.pending = 0;
                self.step = 0;
                self.message = None;
                self.auto_finished = false;
                // A fresh store: GUI snapshots of the old history stay valid while they live.
                let capacity = self.series.capacity();
                self.series = Arc::new(SeriesStore::with_capacity(capacity));
                self.build(false);
            }
            Command::SetKnob(name, value) => {
                if self.usable_lab() {
                    // Even a refused change may have touched the lab's state.
                    self.lab_touched = true;
                    if let Some(Err(e)) =
                        self.apply(EventKind::Knob { name, value }, "a knob change")
                    {
                        self.message = Some(e.to_string());
                    }
                }
            }
            Command::Act(action) => self.act(action),
            Command::SetSpeed(rate) => self.max_rate = rate.filter(|r| *r > 0.0),
            Command::Finish => self.finish(),
            Command::Rewind(k) => {
                let k = k.min(self.step);
                self.rewind(k);
            }
            Command::Log(kind) => self.log_event(kind, true),
            Command::Stop => return false,
        }
        self.publish(true);
        true
    }

    fn usable_lab(&self) -> bool {
        self.lab.is_some()
    }

    /// Applies an input to the lab through [`runlog::apply`] and logs it at the current step.
    /// `None`: there is no lab, or it panicked (the run has then failed, naming `what`).
    fn apply(&mut self, kind: EventKind, what: &str) -> Option<Result<(), crate::LabError>> {
        let lab = self.lab.as_mut()?;
        let series = Arc::make_mut(&mut self.series);
        match runlog::apply(&mut **lab, series, self.step, &kind) {
            Ok(outcome) => {
                self.log_event(kind, outcome.is_ok());
                Some(outcome)
            }
            Err(p) => {
                self.lab = None;
                self.fail(format!("the lab panicked in {what}: {p}"));
                None
            }
        }
    }

    fn act(&mut self, action: serde_json::Value) {
        if !self.usable_lab() {
            return;
        }
        self.lab_touched = true;
        match self.apply(EventKind::Act { action }, "an action") {
            // The run's message line is for errors and warnings; what a successful action
            // did shows in the panel (the asked turn, the feedback status line).
            Some(Ok(())) => self.message = None,
            Some(Err(e)) => self.message = Some(e.to_string()),
            None => {}
        }
    }

    fn finish(&mut self) {
        self.pause();
        if !self.usable_lab() {
            return;
        }
        self.lab_touched = true;
        match self.apply(EventKind::Finish, "its final evaluation") {
            Some(Ok(())) => self.status = Status::Finished,
            Some(Err(e)) => self.fail(format!("final evaluation failed: {e}")),
            None => {}
        }
    }

    /// Rebuilds the lab and re-executes the log up to step `k` (see the module docs).
    fn rewind(&mut self, k: u64) {
        self.pause();
        self.log.truncate(k);
        self.log_dirty = true;
        self.stream_write(|s| s.rewind(k));
        self.checkpoints.retain(|c| c.step <= k);
        let events = self.log.events.clone();
        self.build(false);
        let Some(mut lab) = self.lab.take() else {
            return;
        };
        let capacity = self.series.capacity();
        let mut start = (0, Arc::new(SeriesStore::with_capacity(capacity)));
        while let Some(c) = self.checkpoints.last() {
            if lab.load_state(&c.state).is_ok() {
                start = (c.step, c.series.clone());
                break;
            }
            // A checkpoint the lab refuses is useless; rebuild so no half-restored state stays.
            self.checkpoints.pop();
            match catch_unwind(AssertUnwindSafe(|| (self.factory)())) {
                Ok(Ok(l)) => lab = l,
                _ => break,
            }
        }
        let mut replay = Replay {
            lab,
            series: Arc::unwrap_or_clone(start.1),
            step: start.0,
        };
        let (state, waker) = (self.state.clone(), self.waker.clone());
        let mut last = Instant::now();
        let mut progress = |s: u64| {
            if last.elapsed() >= FRAME_INTERVAL {
                last = Instant::now();
                {
                    let mut st = lock(&state);
                    st.replaying = Some((s, k));
                    st.step = s;
                    st.frame += 1;
                }
                if let Some(w) = &waker {
                    w();
                }
            }
            true
        };
        publish_progress(&self.state, self.waker.as_ref(), replay.step, k);
        let result = replay.run_to(&events, k, &mut progress);
        {
            let mut st = lock(&self.state);
            st.replaying = None;
            st.rewound = Some((start.0, k));
        }
        self.step = replay.step;
        self.series = Arc::new(replay.series);
        self.lab = Some(replay.lab);
        self.lab_touched = true;
        self.view_version = None;
        self.auto_finished = events.iter().any(|e| e.kind == EventKind::Finish);
        self.status = if events
            .last()
            .is_some_and(|e| e.kind == EventKind::Finish && e.step == k)
        {
            Status::Finished
        } else {
            Status::Paused
        };
        if let Err(e) = result {
            self.fail(format!("replaying the log to step {k}: {e}"));
        }
    }

    fn do_step(&mut self) {
        let Some(lab) = self.lab.as_mut() else {
            self.pause();
            return;
        };
        self.last_step_at = Instant::now();
        self.lab_touched = true;
        match catch_unwind(AssertUnwindSafe(|| lab.step())) {
            Ok(Ok(report)) => {
                self.step += 1;
                let step = self.step;
                let bad = report.first_non_finite().map(str::to_string);
                record(Arc::make_mut(&mut self.series), step, report);
                if self.checkpoint_every > 0
                    && step.is_multiple_of(self.checkpoint_every)
                    && let Some(state) = lab.save_state()
                {
                    let held: usize = self.checkpoints.iter().map(|c| c.state.len()).sum();
                    if self.checkpoints.len() >= MAX_CHECKPOINTS
                        || held + state.len() > MAX_CHECKPOINT_BYTES
                    {
                        let mut i = 0;
                        self.checkpoints.retain(|_| {
                            i += 1;
                            i % 2 == 0
                        });
                    }
                    self.checkpoints.push(Checkpoint {
                        step,
                        state,
                        series: self.series.clone(),
                    });
                }
                if let Some(series) = bad {
                    self.pause();
                    self.message = Some(format!(
                        "non-finite value in series `{series}` at step {step}; the run is paused \
                         (try a smaller learning rate, then reset)"
                    ));
                    return;
                }
                if self.pending > 0 {
                    self.pending -= 1;
                    if self.pending == 0 && !self.running {
                        self.status = Status::Paused;
                    }
                }
                let planned = lab.planned_steps();
                if self.running && !self.auto_finished && planned == Some(step) {
                    self.auto_finished = true;
                    self.finish();
                }
            }
            Ok(Err(e)) => self.fail(format!("step {} failed: {e}", self.step + 1)),
            Err(p) => {
                self.lab = None;
                self.fail(format!(
                    "the lab panicked at step {}: {}",
                    self.step + 1,
                    panic_text(&*p)
                ));
            }
        }
    }

    /// Publishes the newest frame if `force` or if a frame interval has passed.
    fn publish(&mut self, force: bool) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_publish);
        if !force && elapsed < FRAME_INTERVAL {
            return;
        }
        let secs = elapsed.as_secs_f64();
        if secs > 0.0 {
            let inst = (self.step.saturating_sub(self.steps_at_publish)) as f64 / secs;
            self.rate = if self.running || self.pending > 0 {
                if self.rate == 0.0 {
                    inst
                } else {
                    0.7 * self.rate + 0.3 * inst
                }
            } else {
                0.0
            };
        }
        self.last_publish = now;
        self.steps_at_publish = self.step;
        let step = self.step;
        self.stream_write(|s| s.steps(step, force));
        let (view, knobs, results) = self.take_view();
        let planned = self.lab.as_ref().and_then(|l| l.planned_steps());
        let knobs: Option<Arc<[KnobSpec]>> = knobs.map(Into::into);
        let log = std::mem::take(&mut self.log_dirty).then(|| {
            let mut l = self.log.clone();
            l.steps = self.step;
            Arc::new(l)
        });
        // Only pointers change hands under the lock; what they replace is dropped after it, as
        // freeing a large view or history can take a while.
        let replaced = {
            let mut s = lock(&self.state);
            let old_series = std::mem::replace(&mut s.series, self.series.clone());
            let old_view = match view {
                Some(v) => s.view.replace(v),
                None => None,
            };
            let old_knobs = knobs.map(|k| std::mem::replace(&mut s.knobs, k));
            let old_results = match results {
                Some(r) => s.results.replace(r),
                None => None,
            };
            s.status = self.status;
            s.step = self.step;
            s.steps_per_sec = self.rate;
            s.planned_steps = planned;
            s.message = self.message.clone();
            s.max_rate = self.max_rate;
            s.frame += 1;
            let old_log = log.map(|l| std::mem::replace(&mut s.log, l));
            (old_series, old_view, old_knobs, old_results, old_log)
        };
        drop(replaced);
        if let Some(w) = &self.waker {
            w();
        }
    }

    /// The lab's view, knobs and results for this frame, or `None` for each that is still on
    /// screen (see the module docs for the rule; results follow the view). A panic while taking
    /// them fails the run like a panic in a step.
    fn take_view(&mut self) -> Taken {
        if !std::mem::take(&mut self.lab_touched) {
            return (None, None, None);
        }
        let Some(lab) = self.lab.as_ref() else {
            return (None, None, None);
        };
        let last = self.view_version;
        let taken = catch_unwind(AssertUnwindSafe(|| {
            let version = lab.view_version();
            let fresh = version.is_none() || version != last;
            let view = fresh.then(|| lab.view());
            let results = fresh.then(|| Arc::new(lab.results()));
            (version, view, lab.knobs(), results)
        }));
        match taken {
            Ok((version, view, knobs, results)) => {
                self.view_version = version;
                (view, Some(knobs), results)
            }
            Err(p) => {
                self.lab = None;
                self.fail(format!(
                    "the lab panicked while drawing its view at step {}: {}",
                    self.step,
                    panic_text(&*p)
                ));
                (None, None, None)
            }
        }
    }
}

/// A frame's fresh view, knobs and results (each `None` when unchanged).
type Taken = (Option<AnyView>, Option<Vec<KnobSpec>>, Option<Arc<Results>>);

/// Publishes only a replay's progress (the worker is busy re-executing).
fn publish_progress(state: &Mutex<RunState>, waker: Option<&Waker>, step: u64, target: u64) {
    {
        let mut s = lock(state);
        s.status = Status::Loading;
        s.replaying = Some((step, target));
        s.step = step;
        s.frame += 1;
    }
    if let Some(w) = waker {
        w();
    }
}
