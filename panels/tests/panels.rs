//! The panels render canned views, and the run bar drives a real runner.

use std::sync::Arc;
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::ff::{DigitSample, FfView, Goodness, LayerGoodness};
use trainscope_engine::testing::{ToyConfig, ToyLab};
use trainscope_engine::{Device, DynLab, Lab, RunState, Runner, SeriesStore, Status};
use trainscope_panels::{PlotSettings, lab_panel, run_bar};

fn canned_ff_state() -> RunState {
    let layer = |shift: f32| LayerGoodness {
        pos: (0..200)
            .map(|i| 2.0 + shift + (i % 7) as f32 * 0.3)
            .collect(),
        neg: (0..200).map(|i| 0.2 + (i % 5) as f32 * 0.2).collect(),
    };
    let view = FfView {
        step: 1200,
        epoch: 2.0,
        thresholds: vec![2.0, 2.0],
        goodness: Goodness::Mean,
        layers: vec![layer(0.5), layer(1.0)],
        samples: (0..12)
            .map(|i| DigitSample {
                pixels: (0..784).map(|p| ((p * 7 + i) % 256) as u8).collect(),
                label: (i % 10) as u8,
                ff_pred: ((i + usize::from(i == 3)) % 10) as u8,
                goodness: std::array::from_fn(|c| c as f32),
                bp_pred: Some((i % 10) as u8),
            })
            .collect(),
        test_error: Some(0.031),
        bp_test_error: Some(0.019),
        sizes: (60_000, 10_000),
    };
    let mut series = SeriesStore::new();
    for s in 1..=1200u64 {
        series.push("ff_loss", s as f64, 1.0 / s as f64);
        series.push("bp_loss", s as f64, 0.5 / s as f64);
        if s % 600 == 0 {
            series.push("test_error", s as f64, 0.05);
            series.push("bp_test_error", s as f64, 0.03);
        }
    }
    series.mark(600, "lr = 0.001");
    RunState {
        status: Status::Paused,
        step: 1200,
        view: Some(Arc::new(view)),
        series,
        ..RunState::default()
    }
}

#[test]
fn ff_panel_renders_a_canned_view() {
    let state = canned_ff_state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1200.0))
        .build_ui(move |ui| lab_panel(ui, "ff", &state, &settings));
    harness.run();
    harness.get_by_label("FF test error 3.10%");
    harness.get_by_label("BP test error 1.90%");
    harness.get_by_label("layer 1");
    harness.get_by_label("layer 2");
    harness.get_by_label("FF: 4 (wrong)");
    assert!(
        harness
            .query_by_label_contains("Goodness per layer")
            .is_some()
    );
}

#[test]
fn a_run_without_a_view_shows_loading() {
    let state = RunState::default();
    let settings = PlotSettings::default();
    let mut harness = Harness::new_ui(move |ui| lab_panel(ui, "ff", &state, &settings));
    // The spinner keeps repainting, so step a few frames rather than waiting to settle.
    harness.run_steps(3);
    assert!(harness.query_by_label_contains("Loading").is_some());
}

#[test]
fn run_bar_buttons_drive_a_real_runner() {
    let runner = Arc::new(Runner::spawn(
        Box::new(|| {
            Ok(Box::new(ToyLab::new(ToyConfig::default(), &Device::default())?) as Box<dyn DynLab>)
        }),
        None,
    ));
    assert!(runner.wait_until(Duration::from_secs(10), |s| s.status == Status::Paused));
    let r2 = runner.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 200.0))
        .build_ui(move |ui| {
            let state = r2.read(|s| s.clone());
            run_bar(ui, &r2, &state, "cpu (test)");
        });
    harness.run();
    harness.get_by_label("Step").click();
    harness.run();
    assert!(runner.wait_until(Duration::from_secs(10), |s| s.step == 1));
    harness.get_by_label("Play").click();
    harness.run();
    assert!(runner.wait_until(Duration::from_secs(10), |s| s.step > 20
        && s.status == Status::Running));
    harness.run();
    harness.get_by_label("Pause").click();
    harness.run();
    assert!(runner.wait_until(Duration::from_secs(10), |s| s.status == Status::Paused));
    harness.get_by_label("Reset").click();
    harness.run();
    assert!(runner.wait_until(Duration::from_secs(10), |s| s.step == 0
        && s.status == Status::Paused));
    assert!(
        harness
            .query_by_label_contains("backend: cpu (test)")
            .is_some()
    );
}
