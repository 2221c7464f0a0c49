//! The HetNet panel renders a view taken from a short real run, with its series.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::hetnet::{HetnetConfig, HetnetLab};
use trainscope_engine::{Backend, Lab, RunState, SeriesStore, Status};
use trainscope_panels::{PlotSettings, lab_panel};

fn state() -> RunState {
    let cfg = HetnetConfig {
        seed: 2,
        episodes: 6,
        slots_per_episode: 10,
        hidden: vec![8],
        batch_size: 8,
        replay: 100,
        probe_size: 8,
        ..HetnetConfig::default()
    };
    let mut lab = HetnetLab::new(cfg, &Backend::cpu().device).expect("lab");
    let mut series = SeriesStore::new();
    for s in 1..=45u64 {
        for (name, v) in lab.step().expect("step").metrics {
            series.push(&name, s as f64, v);
        }
    }
    series.mark(20, "lambda = 0.5");
    RunState {
        status: Status::Paused,
        step: 45,
        view: Some(Arc::new(lab.view())),
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn hetnet_panel_renders_a_view_from_a_short_run() {
    let state = state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1300.0))
        .build_ui(move |ui| {
            lab_panel(ui, "hetnet", &state, &settings);
        });
    harness.run();
    harness.get_by_label("episode 5 of 6, slot 5 of 10");
    harness.get_by_label("PQL λ = 1.00 (margin penalty)");
    assert!(
        harness
            .query_by_label_contains("Sum rate / WMMSE")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Policy drift: share of the states an agent visited")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Link colour: SINR")
            .is_some()
    );
    harness.get_by_label("macro BS");
    harness.get_by_label("AP4");
    // The map's method selector switches to WMMSE's powers.
    harness.get_by_label("WMMSE").click();
    harness.run();
}
