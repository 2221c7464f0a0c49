//! The runner's commands, driven on the toy lab.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use trainscope_engine::testing::{ToyConfig, ToyLab};
use trainscope_engine::{Command, Device, DynLab, KnobValue, Lab, RunState, Runner, Status};

const WAIT: Duration = Duration::from_secs(20);

fn toy(cfg: ToyConfig) -> Runner {
    Runner::spawn(
        Box::new(move || {
            Ok(Box::new(ToyLab::new(cfg.clone(), &Device::default())?) as Box<dyn DynLab>)
        }),
        None,
    )
}

/// A toy run whose `view()` calls are counted.
fn counted_toy(cfg: ToyConfig) -> (Runner, Arc<AtomicU64>) {
    let views = Arc::new(AtomicU64::new(0));
    let counter = views.clone();
    let r = Runner::spawn(
        Box::new(move || {
            let lab = ToyLab::new(cfg.clone(), &Device::default())?.count_views(counter.clone());
            Ok(Box::new(lab) as Box<dyn DynLab>)
        }),
        None,
    );
    (r, views)
}

#[test]
fn step_play_pause_knob_reset() {
    let r = toy(ToyConfig::default());
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::Step(5));
    assert!(r.wait_until(WAIT, |s| s.step == 5 && s.status == Status::Paused));
    assert_eq!(r.read(|s| s.series.get("loss").map(|x| x.count())), Some(5));

    r.send(Command::Play);
    assert!(r.wait_until(WAIT, |s| s.step > 50));
    r.send(Command::Pause);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    let stopped_at = r.read(|s| s.step);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(r.read(|s| s.step), stopped_at, "a paused run does not step");

    r.send(Command::SetKnob("lr".into(), KnobValue::Float(0.2)));
    assert!(r.wait_until(WAIT, |s| s.series.markers().len() == 1));
    assert_eq!(r.read(|s| s.series.markers()[0].step), stopped_at);
    assert!(r.read(|s| s.knobs[0].value == KnobValue::Float(0.2)));
    // An action's metrics are recorded at the step it happened, with a marker; success leaves
    // no message (the line is for errors), a bad action leaves one.
    r.send(Command::Act(
        serde_json::json!({"action": "nudge", "by": 1.5}),
    ));
    assert!(r.wait_until(WAIT, |s| s.series.markers().len() == 2));
    let nudged = r.read(|s| s.series.get("nudged").and_then(|x| x.last()));
    assert_eq!(nudged.map(|p| p[0]), Some(stopped_at as f64));
    assert!(r.read(|s| s.message.is_none()));
    r.send(Command::Act(serde_json::json!({"action": "shove"})));
    assert!(r.wait_until(WAIT, |s| {
        s.message
            .as_deref()
            .is_some_and(|m| m.starts_with("action: "))
    }));
    r.send(Command::SetKnob("lr".into(), KnobValue::Float(7.0)));
    assert!(r.wait_until(WAIT, |s| {
        s.message.as_deref().is_some_and(|m| m.contains("outside"))
    }));

    r.send(Command::Reset);
    assert!(r.wait_until(WAIT, |s| s.step == 0
        && s.status == Status::Paused
        && s.series.names().is_empty()));
    r.stop_and_join();
}

#[test]
fn speed_limit_throttles_and_view_updates() {
    let r = toy(ToyConfig::default());
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::SetSpeed(Some(50.0)));
    r.send(Command::Play);
    std::thread::sleep(Duration::from_millis(300));
    let steps = r.read(|s| s.step);
    // 50 steps/s for 0.3 s is about 15 steps; unthrottled it would be many thousands.
    assert!(steps < 200, "throttled run took {steps} steps");
    assert!(r.read(|s| s.max_rate == Some(50.0)));
    let view = r.read(|s| s.view.clone()).expect("a view is published");
    assert!(view.downcast_ref::<(u64, f64)>().is_some());
    r.stop_and_join();
}

#[test]
fn panic_becomes_an_error_message() {
    let r = toy(ToyConfig {
        panic_at: 3,
        ..Default::default()
    });
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::Play);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Failed));
    let msg = r.read(|s| s.message.clone()).unwrap_or_default();
    assert!(
        msg.contains("panicked at step 3") && msg.contains("toy lab"),
        "{msg}"
    );
    // The run can be reset after a failure.
    r.send(Command::Reset);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused && s.message.is_none()));
    r.stop_and_join();
}

#[test]
fn non_finite_metric_pauses_and_names_series_and_step() {
    let r = toy(ToyConfig {
        nan_at: 7,
        ..Default::default()
    });
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::Play);
    assert!(r.wait_until(WAIT, |s| s.message.is_some()));
    let (status, step, msg) = r.read(|s| (s.status, s.step, s.message.clone().unwrap_or_default()));
    assert_eq!(status, Status::Paused);
    assert_eq!(step, 7);
    assert!(msg.contains("`loss`") && msg.contains("step 7"), "{msg}");
    r.stop_and_join();
}

#[test]
fn a_full_run_finishes_with_its_final_evaluation() {
    let r = toy(ToyConfig {
        planned: 20,
        ..Default::default()
    });
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused));
    r.send(Command::Play);
    assert!(r.wait_until(WAIT, |s| s.status == Status::Finished));
    assert_eq!(r.read(|s| s.step), 20);
    assert!(r.read(|s| s.series.get("final").is_some()));
    r.stop_and_join();
}

#[test]
fn the_view_is_rebuilt_only_when_the_lab_changed() {
    let (r, views) = counted_toy(ToyConfig::default());
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused && s.view.is_some()));
    let built = views.load(Ordering::Relaxed);
    assert_eq!(built, 1, "one view of the new lab");

    // Commands that never reach the lab publish frames but no new view.
    let frame = r.read(|s| s.frame);
    for _ in 0..20 {
        r.send(Command::SetSpeed(None));
        r.send(Command::Pause);
    }
    r.send(Command::SetSpeed(Some(1000.0)));
    assert!(r.wait_until(WAIT, |s| s.max_rate == Some(1000.0)));
    assert!(r.read(|s| s.frame) > frame + 20);
    assert_eq!(views.load(Ordering::Relaxed), built);

    // Steps do bring a new view: at least one per burst, at most one per step.
    r.send(Command::Step(3));
    assert!(r.wait_until(WAIT, |s| s.step == 3 && s.status == Status::Paused));
    let after_steps = views.load(Ordering::Relaxed);
    assert!(
        (built + 1..=built + 3).contains(&after_steps),
        "{after_steps}"
    );
    let view = r.read(|s| s.view.clone()).expect("a view");
    assert_eq!(view.downcast_ref::<(u64, f64)>().map(|v| v.0), Some(3));

    // A knob reaches the lab: exactly one new view, published with the new knob value.
    r.send(Command::SetKnob("lr".into(), KnobValue::Float(0.3)));
    assert!(r.wait_until(WAIT, |s| s.knobs[0].value == KnobValue::Float(0.3)));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(views.load(Ordering::Relaxed), after_steps + 1);
    r.stop_and_join();
}

#[test]
fn a_lab_that_reports_an_unchanged_view_version_keeps_its_view() {
    let (r, views) = counted_toy(ToyConfig {
        view_every: 10,
        ..Default::default()
    });
    assert!(r.wait_until(WAIT, |s| s.status == Status::Paused && s.view.is_some()));
    r.send(Command::Step(25));
    assert!(r.wait_until(WAIT, |s| s.step == 25 && s.status == Status::Paused));
    let shown = |s: &RunState| {
        s.view
            .as_ref()
            .and_then(|v| v.downcast_ref::<(u64, f64)>().map(|v| v.0))
    };
    assert_eq!(r.read(shown), Some(20), "the view as of the last refresh");
    // Versions 0, 1 and 2 exist by step 25: at most one view each.
    let built = views.load(Ordering::Relaxed);
    assert!((2..=3).contains(&built), "{built}");

    // Steps 26..29 keep version 2: the view is not asked for again.
    r.send(Command::Step(4));
    assert!(r.wait_until(WAIT, |s| s.step == 29 && s.status == Status::Paused));
    assert_eq!(views.load(Ordering::Relaxed), built);
    r.send(Command::Step(1));
    assert!(r.wait_until(WAIT, |s| s.step == 30 && s.status == Status::Paused));
    assert!(r.wait_until(WAIT, |s| shown(s) == Some(30)));
    assert_eq!(views.load(Ordering::Relaxed), built + 1);

    // A reset builds a new lab, whose first view is always taken.
    r.send(Command::Reset);
    assert!(r.wait_until(WAIT, |s| s.step == 0 && s.status == Status::Paused));
    assert!(r.wait_until(WAIT, |s| shown(s) == Some(0)));
    r.stop_and_join();
}
