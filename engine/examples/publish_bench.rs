//! Hand-run benchmark of what a live run costs the GUI and the worker besides training (not a
//! test: timings depend on the machine):
//!
//! A. a run state of 20 series × 50k pushed points, kept at the default capacity (2048 points a
//!    series) and at a capacity that keeps all 50k: the GUI's per-frame snapshot
//!    (`RunState::clone`), and the worker's publish of one frame of new points (20 series × 33
//!    points, ~1000 steps/s at 30 frames/s), alone and while the GUI holds a snapshot;
//! B. a real runner on a lab with 20 series and a 50k-token view: steps per second and views
//!    built flat out while a "GUI" thread snapshots at 60 Hz, views built at 10 steps/s, and
//!    views built by 100 commands that do not touch the lab; and flat out again with the lab
//!    reporting a view version that changes every 100k steps (an "evaluation").
//!
//! `cargo run -p trainscope-engine --example publish_bench --config 'profile.dev.package.trainscope-engine.opt-level=3'`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use trainscope_engine::lab::{Knob, Lab, LabConfig, NoAction, StepReport};
use trainscope_engine::{Command, Device, DynLab, LabError, RunState, Runner, SeriesStore, Status};

const SERIES: usize = 20;
const POINTS: usize = 50_000;
/// New points per series in one published frame.
const PER_FRAME: usize = 33;
const TOKENS: usize = 50_000;

fn filled_state(capacity: usize) -> RunState {
    let mut state = RunState::default();
    let mut store = SeriesStore::with_capacity(capacity);
    for step in 0..POINTS {
        for s in 0..SERIES {
            store.push(&name(s), step as f64, (step * (s + 1)) as f64);
        }
    }
    state.series = store.into();
    state
}

fn name(s: usize) -> String {
    format!("metric_{s:02}")
}

/// Median over 51 samples of the time of one call of `f`, in microseconds; a sample averages
/// as many calls as fit in about a millisecond. The median, because other work on a shared
/// machine makes single samples noisy.
fn median_us(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64() * 1e6;
    let reps = (1000.0 / once.max(1e-3)).clamp(1.0, 1000.0) as usize;
    let mut t: Vec<f64> = (0..51)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / reps as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// One published frame as the runner does it: append to the worker's own store (copying on
/// write what the state shares), then hand the state a pointer to it. (Before the history was
/// shared, the worker appended to the state's store in place, under the lock.)
fn push_frame(worker: &mut Arc<SeriesStore>, state: &mut RunState, next: &mut usize) {
    let names: Vec<String> = (0..SERIES).map(name).collect();
    let store = Arc::make_mut(worker);
    for _ in 0..PER_FRAME {
        for (s, n) in names.iter().enumerate() {
            store.push(n, *next as f64, (*next * (s + 1)) as f64);
        }
        *next += 1;
    }
    state.series = worker.clone();
}

fn part_a(capacity: usize) {
    let mut state = filled_state(capacity);
    let stored: usize = state
        .series
        .names()
        .iter()
        .filter_map(|n| state.series.get(n))
        .map(|s| s.stored_len())
        .sum();
    let snapshot = median_us(|| {
        std::hint::black_box(state.clone());
    });
    let mut worker = state.series.clone();
    let mut next = POINTS;
    let publish = median_us(|| push_frame(&mut worker, &mut state, &mut next));
    // The GUI draws from its snapshot while the worker publishes the next frame.
    let mut held = Vec::new();
    for _ in 0..51 {
        let snap = state.clone();
        let t = Instant::now();
        push_frame(&mut worker, &mut state, &mut next);
        held.push(t.elapsed().as_secs_f64() * 1e6);
        drop(snap);
    }
    held.sort_by(f64::total_cmp);
    let contended = held[held.len() / 2];
    println!(
        "A capacity {capacity:>6} ({stored:>7} points stored): snapshot {snapshot:>9.2} µs, \
         publish {publish:>8.1} µs, publish while a snapshot is held {contended:>8.1} µs"
    );
}

/// The token lab's config: only a seed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct TokenConfig {
    seed: u64,
}

impl LabConfig for TokenConfig {}

/// A language-model-like lab: 20 metrics a step and a view of 50k tokens with their losses.
struct TokenLab {
    cfg: TokenConfig,
    step: u64,
    tokens: Vec<String>,
    losses: Vec<f32>,
    views: Arc<AtomicUsize>,
    /// Steps per view version (`None`: no version reported).
    every: Option<u64>,
}

#[derive(Clone)]
#[allow(dead_code)] // Only built, to cost what a real token view costs.
struct TokenView {
    step: u64,
    tokens: Vec<String>,
    losses: Vec<f32>,
}

impl Lab for TokenLab {
    const ID: &'static str = "tokens";
    const NAME: &'static str = "Token view benchmark";
    const PAPER: &'static str = "none";
    const SUMMARY: &'static str = "A large per-token view, for timing publishes.";
    const TINY: &'static [&'static str] = &[];

    type Config = TokenConfig;
    type View = TokenView;
    type Action = NoAction;

    fn new(cfg: TokenConfig, _device: &Device) -> Result<Self, LabError> {
        Ok(TokenLab {
            cfg,
            step: 0,
            tokens: (0..TOKENS).map(|i| format!("tok{}", i % 997)).collect(),
            losses: (0..TOKENS).map(|i| (i % 13) as f32 * 0.1).collect(),
            views: Arc::new(AtomicUsize::new(0)),
            every: None,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        self.step += 1;
        let i = self.step as usize % TOKENS;
        self.losses[i] = (self.step % 7) as f32;
        let mut r = StepReport::default();
        for s in 0..SERIES {
            r.push(name(s), (self.step as usize * (s + 1)) as f64);
        }
        Ok(r)
    }

    fn view(&self) -> TokenView {
        self.views.fetch_add(1, Ordering::Relaxed);
        TokenView {
            step: self.step,
            tokens: self.tokens.clone(),
            losses: self.losses.clone(),
        }
    }

    fn config(&self) -> &TokenConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut TokenConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        &[]
    }

    fn headline(_: &TokenConfig) -> Vec<&'static str> {
        Vec::new()
    }

    fn view_version(&self) -> Option<u64> {
        self.every.map(|e| self.step / e)
    }
}

fn token_runner(every: Option<u64>) -> (Runner, Arc<AtomicUsize>) {
    let views = Arc::new(AtomicUsize::new(0));
    let v2 = views.clone();
    let runner = Runner::spawn(
        Box::new(move || {
            let mut lab = TokenLab::new(TokenConfig::default(), &Device::default())?;
            lab.views = v2.clone();
            lab.every = every;
            Ok(Box::new(lab) as Box<dyn DynLab>)
        }),
        None,
    );
    (runner, views)
}

/// Plays flat out for 2 s while this thread snapshots like a GUI at 60 Hz.
fn flat_out(label: &str, every: Option<u64>) {
    let (runner, views) = token_runner(every);
    assert!(runner.wait_until(Duration::from_secs(30), |s| s.status == Status::Paused));
    let before = views.load(Ordering::Relaxed);
    runner.send(Command::Play);
    let t = Instant::now();
    let mut snap_us = Vec::new();
    while t.elapsed() < Duration::from_secs(2) {
        let s = Instant::now();
        let state = runner.read(|s| s.clone());
        snap_us.push(s.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(&state);
        drop(state);
        std::thread::sleep(Duration::from_millis(16));
    }
    runner.send(Command::Pause);
    assert!(runner.wait_until(Duration::from_secs(30), |s| s.status == Status::Paused));
    let secs = t.elapsed().as_secs_f64();
    let steps = runner.read(|s| s.step);
    let snap = snap_us.iter().sum::<f64>() / snap_us.len().max(1) as f64;
    println!(
        "B flat out{label}: {:.0} steps/s, {} views built in {secs:.1} s, GUI snapshot {snap:.2} µs",
        steps as f64 / secs,
        views.load(Ordering::Relaxed) - before,
    );
    runner.stop_and_join();
}

fn part_b() {
    flat_out("", None);
    let (runner, views) = token_runner(None);
    assert!(runner.wait_until(Duration::from_secs(30), |s| s.status == Status::Paused));

    // Throttled to 10 steps/s for 2 s.
    let before = views.load(Ordering::Relaxed);
    let steps0 = runner.read(|s| s.step);
    runner.send(Command::SetSpeed(Some(10.0)));
    runner.send(Command::Play);
    std::thread::sleep(Duration::from_secs(2));
    runner.send(Command::Pause);
    assert!(runner.wait_until(Duration::from_secs(30), |s| s.status == Status::Paused));
    println!(
        "B at 10 steps/s for 2 s: {} steps, {} views built",
        runner.read(|s| s.step) - steps0,
        views.load(Ordering::Relaxed) - before
    );

    // Commands that do not touch the lab, while paused.
    let before = views.load(Ordering::Relaxed);
    for i in 0..100 {
        runner.send(if i % 2 == 0 {
            Command::SetSpeed(None)
        } else {
            Command::Pause
        });
    }
    // Commands run in order: once this one shows, all have run.
    runner.send(Command::SetSpeed(Some(5.0)));
    assert!(runner.wait_until(Duration::from_secs(30), |s| s.max_rate == Some(5.0)));
    println!(
        "B 101 speed/pause commands while paused: {} views built",
        views.load(Ordering::Relaxed) - before
    );
    runner.stop_and_join();
    flat_out(", view version every 100k steps", Some(100_000));
}

fn main() {
    println!(
        "{SERIES} series × {POINTS} points; a frame adds {PER_FRAME} points a series; \
         the view holds {TOKENS} tokens"
    );
    part_a(trainscope_engine::series::DEFAULT_CAPACITY);
    part_a(65_536);
    part_b();
}
