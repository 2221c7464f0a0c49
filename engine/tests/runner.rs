//! The runner's commands, driven on the toy lab.

use std::time::Duration;

use trainscope_engine::testing::{ToyConfig, ToyLab};
use trainscope_engine::{Command, Device, DynLab, KnobValue, Lab, Runner, Status};

const WAIT: Duration = Duration::from_secs(20);

fn toy(cfg: ToyConfig) -> Runner {
    Runner::spawn(
        Box::new(move || {
            Ok(Box::new(ToyLab::new(cfg.clone(), &Device::default())?) as Box<dyn DynLab>)
        }),
        None,
    )
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
    // An action's metrics are recorded at the step it happened, with a marker and its message.
    r.send(Command::Act(
        serde_json::json!({"action": "nudge", "by": 1.5}),
    ));
    assert!(r.wait_until(WAIT, |s| s.series.markers().len() == 2));
    let nudged = r.read(|s| s.series.get("nudged").and_then(|x| x.last()));
    assert_eq!(nudged.map(|p| p[0]), Some(stopped_at as f64));
    assert!(r.read(|s| s.message.as_deref() == Some("x nudged by 1.5")));
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
