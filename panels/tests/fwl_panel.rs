//! The FWL and LM panels render canned views, and FWL's buttons send its typed actions.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::fwl::{DocView, FwlView, TestView};
use trainscope_engine::labs::lm::LmView;
use trainscope_engine::{RunState, SeriesStore, Status};
use trainscope_panels::{PlotSettings, Request, lab_panel};

fn canned_fwl_state() -> RunState {
    let pieces: Vec<String> = "HAMLET.\nTo be, or not to be"
        .chars()
        .map(|c| c.to_string())
        .collect();
    let n = pieces.len();
    let view = FwlView {
        step: 300,
        planned: 300,
        data: "Shakespeare, character tokeniser (85 ids)".into(),
        valid: vec![(100, 2.4, 2.3), (200, 2.1, 2.0)],
        steps: vec![(1, [0.01; 6]), (2, [0.02; 6])],
        test: Some(TestView {
            step: 300,
            ppl: [6.5, 5.9, 6.1],
            cost: [3.0, 1.24],
            tokens_per_s: [17000.0, 3000.0, 14000.0],
            by_position: vec![(0.0, 0.02, 0.01), (256.0, 0.05, 0.03), (512.0, 0.08, 0.04)],
            by_span_position: vec![(0.0, 0.05, 0.0), (32.0, 0.05, 0.03)],
            occurrences: vec![("rare word, repeat".into(), 120, 2.5, 0.3, 0.2)],
            docs: 3,
            tokens: 24576,
        }),
        doc: Some(DocView {
            title: "Hamlet".into(),
            pieces,
            base: vec![2.0; n],
            dyneval: (0..n).map(|i| 2.0 - i as f32 * 0.05).collect(),
            fwl: (0..n).map(|i| 2.0 + (i % 3) as f32 * 0.3 - 0.3).collect(),
        }),
        sample: Some(("ROMEO.\n".into(), "What light".into())),
        dyn_lr: 0.03,
        dyn_scope: "all".into(),
        fwl_eval: true,
        temperature: 0.8,
    };
    let mut series = SeriesStore::default();
    for s in 1..=300u64 {
        series.push("loss_base", s as f64, 3.0 - s as f64 * 0.003);
        series.push("loss_fwl", s as f64, 3.0 - s as f64 * 0.0032);
    }
    RunState {
        status: Status::Paused,
        step: 300,
        view: Some(Arc::new(view)),
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn fwl_panel_renders_the_coloured_document_and_sends_actions() {
    let state = canned_fwl_state();
    let settings = PlotSettings::default();
    let sent: Arc<std::sync::Mutex<Vec<Request>>> = Arc::default();
    let sink = sent.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1600.0))
        .build_ui(move |ui| {
            let r = lab_panel(ui, "fwl", &state, &settings);
            if let Ok(mut s) = sink.lock() {
                s.extend(r);
            }
        });
    harness.run();
    harness.get_by_label("baseline ppl 6.500");
    harness.get_by_label("FWL 6.100");
    assert!(
        harness
            .query_by_label_contains("Held-out: Hamlet")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("FWL keeps 67% of dynamic evaluation's gain")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("rare word, repeat")
            .is_some()
    );
    assert!(harness.query_by_label_contains("ROMEO.").is_some());
    harness.get_by_label("continue").click();
    harness.run();
    harness
        .get_by_label("evaluate held-out documents now")
        .click();
    harness.run();
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let json: Vec<String> = sent
        .iter()
        .filter_map(|r| match r {
            Request::Act(v) => Some(v.to_string()),
            Request::Knob(..) => None,
        })
        .collect();
    assert!(
        json.iter()
            .any(|j| j.contains("\"continue\"") && j.contains("ROMEO")),
        "{json:?}"
    );
    assert!(json.iter().any(|j| j.contains("\"evaluate\"")), "{json:?}");
}

#[test]
fn lm_panel_renders_a_canned_view() {
    let view = LmView {
        step: 2000,
        planned: 2000,
        data: "Shakespeare, 85 characters".into(),
        valid: vec![(2000, 1.93)],
        test: Some(1.95),
        sample: None,
        temperature: 0.8,
    };
    let state = RunState {
        status: Status::Paused,
        step: 2000,
        view: Some(Arc::new(view)),
        ..RunState::default()
    };
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_ui(move |ui| {
            lab_panel(ui, "lm", &state, &settings);
        });
    harness.run();
    harness.get_by_label("validation loss 1.930 nats/char");
    harness.get_by_label("test loss 1.950 nats/char");
}
