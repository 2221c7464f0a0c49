//! Every registered lab has a registered panel, and it draws the view of a tiny run of the
//! lab's first preset (plus the shared results widget over the lab's results).

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::{Backend, Preset, RunState, SeriesStore, Status, labs};
use trainscope_panels::{PlotSettings, lab_panel, panels};

#[test]
fn every_lab_has_a_panel_that_draws_a_tiny_run() {
    let device = Backend::cpu().device;
    for entry in labs::all() {
        assert!(
            panels().iter().any(|p| p.lab == entry.id),
            "lab {} has no registered panel",
            entry.id
        );
        let mut preset = Preset::builtins()
            .expect("presets")
            .into_iter()
            .find(|p| p.lab == entry.id)
            .expect("a preset");
        for s in entry.tiny {
            preset.apply_set(s).expect("tiny setting");
        }
        let mut lab = preset.build(&device).expect("builds");
        let mut series = SeriesStore::default();
        for step in 1..=3u64 {
            let r = lab.step().expect("step");
            for (n, v) in r.metrics {
                series.push(&n, step as f64, v);
            }
        }
        let results = lab.results();
        let state = RunState {
            status: Status::Paused,
            step: 3,
            view: Some(lab.view()),
            series: series.into(),
            ..RunState::default()
        };
        let settings = PlotSettings::default();
        let id = entry.id;
        let mut harness = Harness::builder()
            .with_size(egui::vec2(1400.0, 1400.0))
            .build_ui(move |ui| {
                let _ = lab_panel(ui, id, &state, &settings);
                trainscope_panels::results::show(ui, &results, &settings);
            });
        harness.run();
        assert!(
            harness.query_by_label_contains("internal error").is_none()
                && harness.query_by_label_contains("No panel").is_none(),
            "{id}: the panel did not draw its view"
        );
    }
}
