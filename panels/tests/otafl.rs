//! The OTA-FL panel renders a view taken from a short real run, with its series.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::otafl::{ModelKind, OtaflConfig, OtaflLab};
use trainscope_engine::{Backend, Lab, RunState, SeriesStore, Status};
use trainscope_panels::{PlotSettings, lab_panel};

fn state() -> RunState {
    let cfg = OtaflConfig {
        seed: 2,
        aps: 6,
        antennas: 2,
        clients: 8,
        pilots: 4,
        participants: 6,
        model: ModelKind::Logreg,
        rounds: 6,
        eval_every: 2,
        eval_test: 100,
        test_limit: 100,
        train_limit: 2000,
        sweep_reps: 2,
        sweep_dim: 50,
        lsfd_samples: 4,
        ..OtaflConfig::default()
    };
    let mut lab = OtaflLab::new(cfg, &Backend::cpu().device).expect("lab");
    let mut series = SeriesStore::new();
    for s in 1..=4u64 {
        for (name, v) in lab.step().expect("step").metrics {
            series.push(&name, s as f64, v);
        }
    }
    series.mark(3, "client_power_dbm = 0");
    RunState {
        status: Status::Paused,
        step: 4,
        view: Some(Arc::new(lab.view())),
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn otafl_panel_renders_a_view_from_a_short_run() {
    let state = state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1300.0))
        .build_ui(move |ui| {
            lab_panel(ui, "otafl", &state, &settings);
        });
    harness.run();
    harness.get_by_label("round 4 of 6");
    harness.get_by_label("4 pilots for 8 clients");
    assert!(
        harness
            .query_by_label_contains("Test accuracy against round")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("per-entry aggregation error")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("4 of 7 powers computed")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("not taking part, hollow (2)")
            .is_some()
    );
    // The map's receiver selector switches to the cellular BS's view of the clients.
    harness
        .get_all_by_label("cellular MMSE (L·N antennas)")
        .next()
        .expect("a selector button")
        .click();
    harness.run();
}
