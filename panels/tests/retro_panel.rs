//! The RETRO panel renders a canned view: the coloured document, the hovered chunk's
//! neighbours with their distances, and its buttons send the lab's typed actions.

use std::sync::Arc;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::retro::{DocView, EvalView, NeighbourView, RetroView, SampleView};
use trainscope_engine::{RunState, SeriesStore, Status};
use trainscope_panels::{PlotSettings, Request, lab_panel};

fn neighbour(text: &str, dist: f32, duplicate: bool) -> NeighbourView {
    NeighbourView {
        chunk: text.into(),
        continuation: "and its continuation".into(),
        dist,
        source: "Hamlet".into(),
        duplicate,
        matched: if duplicate { 1.0 } else { 0.25 },
    }
}

fn canned() -> RunState {
    let pieces: Vec<String> = [
        "The", " Prince", " of", " Denmark", " is", " Hamlet", ".", "\n",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let n = pieces.len();
    let view = RetroView {
        step: 275,
        planned: 275,
        phase: "done training".into(),
        data: "Wikipedia, 600 documents".into(),
        retriever: "minilm".into(),
        valid: vec![(100, 5.0, 4.9, 5.1)],
        retrofit: vec![(5, 4.95)],
        eval: Some(EvalView {
            step: 275,
            bpb: vec![
                ("baseline".into(), 3.5),
                ("RETRO (retrieval on)".into(), 3.25),
                ("RETRO, retrieval off".into(), 3.6),
                ("retrofit (frozen baseline + CCA)".into(), 3.4),
            ],
            by_k: vec![(1.0, 3.3), (2.0, 3.25)],
            by_db: vec![(0.1, 3.4), (1.0, 3.25)],
            leakage: vec![(0.125, 3.55, 3.45, 3.5), (1.0, 3.5, 3.25, 3.4)],
            leakage_dup: vec![(0.125, 3.55, 3.45, 3.5), (1.0, 3.4, 2.1, 2.9)],
            kept: vec![(0.125, 0.9, 0.5), (1.0, 1.0, 1.0)],
            docs: 24,
            chunks: 700,
        }),
        doc: Some(DocView {
            title: "Hamlet (play)".into(),
            duplicated: true,
            chunk: 4,
            context: 8,
            pieces,
            base: vec![3.0; n],
            retro: vec![2.0; n],
            overlap: vec![0, 0, 0, 3, 4, 5, 1, 0],
            neighbours: vec![
                vec![neighbour("The Prince of Denmark", 0.01, true)],
                vec![neighbour("is a tragedy", 0.4, false)],
            ],
        }),
        sample: Some(SampleView {
            prompt: "ROMEO.\n".into(),
            text: " What light".into(),
            retrieved: vec![(
                "ROMEO.\nWhat".into(),
                vec![neighbour("JULIET.", 0.3, false)],
            )],
        }),
        k_eval: 2,
        db_fraction: 1.0,
        retrieval_eval: true,
        inject_duplicates: true,
        temperature: 0.8,
    };
    let mut series = SeriesStore::default();
    for s in 1..=250u64 {
        series.push("loss_base", s as f64, 6.0 - s as f64 * 0.003);
        series.push("loss_retro", s as f64, 6.0 - s as f64 * 0.0035);
    }
    RunState {
        status: Status::Paused,
        step: 275,
        view: Some(Arc::new(view)),
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn retro_panel_renders_the_neighbour_view_and_sends_actions() {
    let state = canned();
    let settings = PlotSettings::default();
    let sent: Arc<std::sync::Mutex<Vec<Request>>> = Arc::default();
    let sink = sent.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1600.0))
        .build_ui(move |ui| {
            let r = lab_panel(ui, "retro", &state, &settings);
            if let Ok(mut s) = sink.lock() {
                s.extend(r);
            }
        });
    harness.run();
    harness.get_by_label("baseline 3.5000");
    harness.get_by_label("RETRO (retrieval on) 3.2500");
    assert!(
        harness
            .query_by_label_contains("Held-out: Hamlet (play)")
            .is_some()
    );
    // Before any hover, the first attending token's chunk (0) is shown with its distance.
    assert!(
        harness
            .query_by_label_contains("Neighbours of input chunk 0")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("d²=0.010 match 100% DUPLICATE")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("N: The Prince of Denmark")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("retriever: minilm")
            .is_some()
    );
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
    assert!(json.iter().any(|j| j.contains("\"continue\"")), "{json:?}");
    assert!(json.iter().any(|j| j.contains("\"evaluate\"")), "{json:?}");
}
