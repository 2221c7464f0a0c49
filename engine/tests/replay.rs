//! Seed + run log = the run, for every registered preset: a live run with a knob change
//! mid-run and a final evaluation, replayed from its log, gives the same metrics point for
//! point; rewinding to an earlier step and playing on to the end gives the uninterrupted run.
//! A lab added later is covered by registering it. The toy lab covers actions, refused inputs
//! and checkpoints.

use std::time::Duration;

use trainscope_engine::runlog::{self, Curves, EventKind, RunLog};
use trainscope_engine::runner::RunOptions;
use trainscope_engine::testing::{ToyConfig, ToyLab};
use trainscope_engine::{
    Backend, Command, Device, DynLab, KnobKind, KnobSpec, KnobValue, Lab, Preset, Runner, Status,
};
use trainscope_engine::{labs, logstream};

const WAIT: Duration = Duration::from_secs(600);

fn spawn(preset: &Preset, checkpoint_every: u64) -> Runner {
    let p = preset.clone();
    let log = RunLog::new(preset, "cpu").expect("log header");
    Runner::spawn_with(
        Box::new(move || p.build(&Backend::cpu().device)),
        None,
        RunOptions {
            log: Some(log),
            checkpoint_every,
            ..RunOptions::default()
        },
    )
}

/// Steps `n` and waits until the run is paused there.
fn step(r: &Runner, n: u64) {
    let target = r.read(|s| s.step) + n;
    r.send(Command::Step(n));
    assert!(
        r.wait_until(WAIT, |s| (s.step == target && s.status == Status::Paused)
            || s.status == Status::Failed),
        "stepping to {target}"
    );
    assert_ne!(
        r.read(|s| s.status),
        Status::Failed,
        "{:?}",
        r.read(|s| s.message.clone())
    );
}

/// Sends a command that logs an event and waits until the log has `events` events.
fn logged(r: &Runner, cmd: Command, events: usize) {
    r.send(cmd);
    assert!(
        r.wait_until(WAIT, |s| s.log.events.len() == events),
        "the event was logged"
    );
}

fn finish(r: &Runner, events: usize) {
    logged(r, Command::Finish, events);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Finished));
}

/// A value of the knob other than its current one, inside its range.
fn other_value(k: &KnobSpec) -> Option<KnobValue> {
    let v = match (&k.kind, &k.value) {
        (KnobKind::Float { min, max, .. }, KnobValue::Float(x)) => {
            let y = if *x > *min {
                (x + min) / 2.0
            } else {
                (x + max) / 2.0
            };
            KnobValue::Float(y)
        }
        (KnobKind::Int { min, max }, KnobValue::Int(i)) => {
            KnobValue::Int(if i > min { i - 1 } else { (*i + 1).min(*max) })
        }
        (KnobKind::Bool, KnobValue::Bool(b)) => KnobValue::Bool(!b),
        (KnobKind::Choice(options), KnobValue::Choice(c)) => {
            KnobValue::Choice(options.iter().find(|o| **o != c.as_str())?.to_string())
        }
        _ => return None,
    };
    (v != k.value).then_some(v)
}

fn curves(r: &Runner) -> Curves {
    r.read(|s| Curves::of(&s.series))
}

#[test]
fn every_preset_replays_exactly_and_rewinds_to_the_uninterrupted_run() {
    for entry in labs::all() {
        for mut p in Preset::builtins().expect("presets parse") {
            if p.lab != entry.id {
                continue;
            }
            for s in entry.tiny {
                p.apply_set(s).expect("tiny setting");
            }
            let r = spawn(&p, 0);
            step(&r, 1);
            // A knob change mid-run (the first knob that has another legal value).
            let knobs = r.read(|s| s.knobs.clone());
            let mut events = 0;
            if let Some((k, v)) = knobs.iter().find_map(|k| other_value(k).map(|v| (k, v))) {
                events += 1;
                logged(&r, Command::SetKnob(k.name.clone(), v), events);
            }
            step(&r, 2);
            events += 1;
            finish(&r, events);
            let live = curves(&r);
            let log = r.read(|s| s.current_log());
            assert_eq!(log.steps, 3, "{}", p.name);

            // Re-executed headless from the log (through JSON, as a bundle stores it).
            let log = RunLog::from_json(&log.to_json().expect("json")).expect("reads back");
            let replayed = runlog::replay(&log, &Backend::cpu().device, &mut |_| true)
                .unwrap_or_else(|e| panic!("{}: replay: {e}", p.name));
            assert_eq!(
                live.first_difference(&Curves::of(&replayed.series)),
                None,
                "{}: the replay differs",
                p.name
            );

            // Back to step 2 (after the knob change), then on to the end again.
            r.send(Command::Rewind(2));
            assert!(r.wait_until(WAIT, |s| s.step == 2
                && s.status == Status::Paused
                && s.replaying.is_none()));
            step(&r, 1);
            finish(&r, events);
            assert_eq!(
                live.first_difference(&curves(&r)),
                None,
                "{}: rewinding to 2 and playing on differs from the uninterrupted run",
                p.name
            );
            r.stop_and_join();
        }
    }
}

/// The points and markers of `c` up to step `k`.
fn up_to(c: &Curves, k: u64) -> Curves {
    Curves {
        series: c
            .series
            .iter()
            .map(|(n, p)| {
                let kept: Vec<[f64; 2]> = p.iter().copied().filter(|q| q[0] <= k as f64).collect();
                (n.clone(), kept)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect(),
        markers: c.markers.iter().filter(|m| m.0 <= k).cloned().collect(),
    }
}

/// The log streamed to a file while a run goes reads back before the run ends (no `end` line)
/// and replays to exactly the metrics the live run had at the step it recorded; after the run
/// stops, the whole file replays to the whole run.
#[test]
fn a_log_streamed_during_a_run_replays_to_the_same_metrics_before_the_run_ends() {
    let entry = labs::find("ff").expect("ff");
    let mut p = Preset::resolve("ff-mnist-quick").expect("preset");
    for s in entry.tiny {
        p.apply_set(s).expect("tiny setting");
    }
    // Long enough to be read mid-run at a bounded rate (the planned end is 15 steps an epoch).
    p.apply_set("epochs=100").expect("epochs");
    let dir = std::env::temp_dir().join(format!("ts-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("run.jsonl");
    let pb = p.clone();
    let r = Runner::spawn_with(
        Box::new(move || pb.build(&Backend::cpu().device)),
        None,
        RunOptions {
            log: Some(RunLog::new(&p, "cpu").expect("log header")),
            stream: Some(path.clone()),
            ..RunOptions::default()
        },
    );
    r.send(Command::SetSpeed(Some(100.0)));
    r.send(Command::Play);
    assert!(r.wait_until(WAIT, |s| s.step >= 5));
    logged(&r, Command::SetKnob("lr".into(), KnobValue::Float(0.01)), 1);
    let read = || logstream::read_file(&path).expect("the streamed log reads");
    let end = std::time::Instant::now() + WAIT;
    let (log, info) = loop {
        let (log, info) = read();
        if log.steps >= 30 && !log.events.is_empty() {
            break (log, info);
        }
        assert!(std::time::Instant::now() < end, "no steps line came");
        std::thread::sleep(Duration::from_millis(50));
    };
    let live = curves(&r);
    assert_eq!(
        r.read(|s| s.status),
        Status::Running,
        "the run is still going"
    );
    assert!(!info.ended, "no end line while the run goes");
    // The file is a prefix of the run (it may have just caught up with the live step).
    assert!(r.read(|s| s.step) >= log.steps);
    let replayed = runlog::replay(&log, &Backend::cpu().device, &mut |_| true).expect("replays");
    let replayed = Curves::of(&replayed.series);
    let want = up_to(&live, log.steps);
    assert!(
        want.get("test_error_est").is_some(),
        "held-out estimate recorded"
    );
    assert_eq!(want.first_difference(&replayed), None);
    assert_eq!(want, replayed);

    // Rewinds and the final evaluation are streamed too; the stopped run's file is the run.
    r.send(Command::Pause);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::Rewind(20));
    assert!(r.wait_until(WAIT, |s| s.step == 20 && s.replaying.is_none()));
    step(&r, 4);
    finish(&r, 2);
    let live = curves(&r);
    r.stop_and_join();
    let (log, info) = read();
    assert!(info.ended && log.steps == 24, "{info:?} {}", log.steps);
    let replayed = runlog::replay(&log, &Backend::cpu().device, &mut |_| true).expect("replays");
    assert_eq!(live.first_difference(&Curves::of(&replayed.series)), None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// FF keeps checkpoints: a lab restored from one steps on exactly as the one that saved it
/// (knob changes included), and the runner rewinds from the nearest checkpoint, then plays on
/// to exactly the uninterrupted run.
#[test]
fn ff_rewinds_from_a_checkpoint_to_the_uninterrupted_run() {
    let entry = labs::find("ff").expect("ff");
    let mut p = Preset::resolve("ff-mnist-quick").expect("preset");
    for s in entry.tiny {
        p.apply_set(s).expect("tiny setting");
    }
    let device = Backend::cpu().device;
    let mut a = p.build(&device).expect("build");
    for _ in 0..5 {
        a.step().expect("step");
    }
    a.set_knob("lr", KnobValue::Float(0.01)).expect("knob");
    let saved = a
        .save_state()
        .expect("FF saves its state on the CPU backend");
    let mut b = p.build(&device).expect("build");
    b.load_state(&saved).expect("restores");
    assert_eq!(b.config_table(), a.config_table());
    for i in 6..10 {
        assert_eq!(a.step().expect("a"), b.step().expect("b"), "step {i}");
    }
    assert_eq!(a.finish().expect("a"), b.finish().expect("b"));
    let mut c = p.build(&device).expect("build");
    assert!(c.load_state(&saved[..saved.len() / 2]).is_err());

    // Through the runner: a checkpoint every 3 steps, a knob change at 4, rewind to 8.
    let r = spawn(&p, 3);
    step(&r, 4);
    logged(&r, Command::SetKnob("lr".into(), KnobValue::Float(0.01)), 1);
    step(&r, 8);
    finish(&r, 2);
    let live = curves(&r);
    r.send(Command::Rewind(8));
    assert!(r.wait_until(WAIT, |s| s.step == 8
        && s.replaying.is_none()
        && s.status == Status::Paused));
    assert_eq!(
        r.read(|s| s.rewound),
        Some((6, 8)),
        "from the checkpoint at 6"
    );
    step(&r, 4);
    finish(&r, 2);
    assert_eq!(live.first_difference(&curves(&r)), None);
    r.stop_and_join();
}

fn toy_preset(planned: u64) -> Preset {
    let mut p = Preset::parse("lab = \"ff\"\ntitle = \"t\"\nseed = 5\n", "toy", "toy.toml")
        .expect("a preset to carry the log header");
    p.steps = Some(planned);
    p
}

fn toy_runner(cfg: ToyConfig, log: RunLog, checkpoint_every: u64) -> Runner {
    Runner::spawn_with(
        Box::new(move || {
            Ok(Box::new(ToyLab::new(cfg.clone(), &Device::default())?) as Box<dyn DynLab>)
        }),
        None,
        RunOptions {
            log: Some(log),
            checkpoint_every,
            ..RunOptions::default()
        },
    )
}

#[test]
fn toy_actions_refusals_and_checkpoints_replay_exactly() {
    let cfg = ToyConfig {
        seed: 3,
        ..ToyConfig::default()
    };
    let header = RunLog::new(&toy_preset(20), "cpu").expect("header");
    // From step 7: an action, a race start, five more steps and the final evaluation.
    let the_rest = |r: &Runner| {
        logged(
            r,
            Command::Act(serde_json::json!({"action": "nudge", "by": 0.5})),
            3,
        );
        logged(
            r,
            Command::Log(EventKind::Race {
                changes: vec!["lr=0.2".into()],
                from: 7,
            }),
            4,
        );
        step(r, 5);
        finish(r, 5);
    };
    for checkpoint_every in [0, 3] {
        let r = toy_runner(cfg.clone(), header.clone(), checkpoint_every);
        step(&r, 4);
        logged(&r, Command::SetKnob("lr".into(), KnobValue::Float(0.3)), 1);
        // Refused: out of range. Logged as refused; replay expects the refusal too.
        logged(&r, Command::SetKnob("lr".into(), KnobValue::Float(7.0)), 2);
        step(&r, 3);
        the_rest(&r);
        let live = curves(&r);
        let log = r.read(|s| s.current_log());
        assert!(!log.events[1].ok, "the refused knob is logged as refused");

        // Headless replay of the same inputs on a fresh toy lab.
        let lab: Box<dyn DynLab> =
            Box::new(ToyLab::new(cfg.clone(), &Device::default()).expect("toy"));
        let mut rep = runlog::Replay::new(lab, trainscope_engine::series::DEFAULT_CAPACITY);
        rep.run_to(&log.events, log.steps, &mut |_| true)
            .expect("replays");
        assert_eq!(live.first_difference(&Curves::of(&rep.series)), None);

        // Rewind before the action (from a checkpoint where there is one), redo it, go on.
        r.send(Command::Rewind(5));
        assert!(r.wait_until(WAIT, |s| s.step == 5
            && s.replaying.is_none()
            && s.status == Status::Paused));
        assert_eq!(
            r.read(|s| s.log.events.len()),
            2,
            "events after step 5 are dropped"
        );
        step(&r, 2);
        the_rest(&r);
        assert_eq!(
            live.first_difference(&curves(&r)),
            None,
            "checkpoint_every {checkpoint_every}"
        );

        // A session reopened from the log replays before it takes commands.
        let reopened = toy_runner(cfg.clone(), log.clone(), 0);
        assert!(reopened.wait_until(WAIT, |s| s.step == 12
            && s.replaying.is_none()
            && s.status == Status::Finished));
        assert_eq!(live.first_difference(&curves(&reopened)), None);

        // A log whose inputs the lab no longer accepts is refused, naming the step.
        let mut bad = log.clone();
        bad.events[1].ok = true;
        let lab: Box<dyn DynLab> =
            Box::new(ToyLab::new(cfg.clone(), &Device::default()).expect("toy"));
        let mut rep = runlog::Replay::new(lab, trainscope_engine::series::DEFAULT_CAPACITY);
        let e = rep
            .run_to(&bad.events, bad.steps, &mut |_| true)
            .expect_err("diverges")
            .to_string();
        assert!(e.contains("diverged at step 4"), "{e}");
    }
}
