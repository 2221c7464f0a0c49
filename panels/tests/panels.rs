//! The panels render canned views, and the run bar drives a real runner.

use std::sync::Arc;
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use trainscope_engine::labs::ff::{
    DigitSample, FfView, Goodness, IterationGoodness, LayerGoodness, Mode,
};
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
        mode: Mode::Recurrent,
        readout_phase: false,
        normalize_layers: false,
        one_pass_test_error: Some(0.045),
        positives: vec![(0..784).map(|p| (p % 256) as u8).collect(); 4],
        negatives: vec![(0..784).map(|p| (255 - p % 256) as u8).collect(); 4],
        receptive_fields: (0..64)
            .map(|u| (0..784).map(|p| ((p + u) % 17) as f32 - 8.0).collect())
            .collect(),
        iterations: Some(IterationGoodness {
            true_label: vec![vec![1.0, 2.0, 3.0, 3.5, 3.6, 3.6, 3.7, 3.7, 3.7]; 2],
            best_wrong: vec![vec![1.0, 1.5, 1.2, 1.0, 0.9, 0.9, 0.8, 0.8, 0.8]; 2],
            digits: 100,
        }),
        eval_ms: Some((900.0, 95.0)),
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
        estimate_digits: 500,
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
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn ff_panel_renders_a_canned_view() {
    let state = canned_ff_state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1200.0))
        .build_ui(move |ui| {
            lab_panel(ui, "ff", &state, &settings);
        });
    harness.run();
    harness.get_by_label("FF test error 3.10%");
    harness.get_by_label("BP test error 1.90%");
    harness.get_by_label("layer 1");
    harness.get_by_label("layer 2");
    harness.get_by_label("FF: 4 (wrong)");
    harness.get_by_label("one-pass 4.50%");
    assert!(
        harness
            .query_by_label_contains("Goodness per iteration")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Receptive fields of the first 64 units")
            .is_some()
    );
    assert!(harness.query_by_label_contains("9.5x cheaper").is_some());
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
    let mut harness = Harness::new_ui(move |ui| {
        lab_panel(ui, "ff", &state, &settings);
    });
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

fn canned_glom_state() -> RunState {
    use trainscope_engine::labs::glom::{Curve, Curves, GlomView, Part, SampleView};
    let grid = 8;
    let n = grid * grid;
    let mut label = vec![-1i32; n];
    let mut object = vec![-1i32; n];
    for c in [0usize, 1, 2, 8, 9, 10] {
        label[c] = 1;
        object[c] = 0;
    }
    for c in [45usize, 46, 53, 54, 61, 62] {
        label[c] = 3;
        object[c] = 1;
    }
    label[30] = 5;
    let parts: Vec<Part> = (0..n)
        .filter(|&c| label[c] >= 0)
        .map(|c| Part {
            x: (c % grid) as f32 + 0.5,
            y: (c / grid) as f32 + 0.5,
            size: 0.4,
            aspect: 2.0,
            angle: c as f32 * 0.3,
            object: object[c],
        })
        .collect();
    let colour = |c: usize, t: usize| -> [u8; 3] {
        match object[c] {
            0 => [200, 40 + 20 * t as u8, 40],
            1 => [40, 60, 200],
            _ => [90, 90, 90],
        }
    };
    let colors = (0..2)
        .map(|_| {
            (0..3)
                .map(|t| (0..n).map(|c| colour(c, t)).collect())
                .collect()
        })
        .collect();
    let sim = (0..3)
        .map(|_| {
            (0..n * n)
                .map(|k| {
                    let (a, b) = (k / n, k % n);
                    if object[a] >= 0 && object[a] == object[b] {
                        0.9
                    } else {
                        -0.2
                    }
                })
                .collect()
        })
        .collect();
    let curve = |base: f64| Curve {
        x: vec![0.0, 0.5, 1.0],
        attn: vec![base, base - 0.1, base - 0.2],
        t0: vec![base - 0.1, base - 0.25, base - 0.35],
    };
    let view = GlomView {
        step: 1500,
        planned: 1500,
        iterations: 2,
        levels: 2,
        beta: 5.0,
        ambiguity: 0.5,
        noise: 0.0,
        sample: Some(SampleView {
            grid,
            parts,
            pred: label.iter().map(|&l| l.max(0) as u8).collect(),
            pred_t0: Some(vec![0; n]),
            label,
            object,
            colors,
            sim,
            island: vec![0.3, 0.6, 0.9],
        }),
        acc_attn: Some(0.482),
        acc_t0: Some(0.295),
        island_by_iter: vec![0.3, 0.6, 0.9],
        curves: Some(Curves {
            step: 1500,
            ambiguity: curve(0.9),
            noise: curve(0.5),
            ood: curve(0.5),
        }),
        test_images: 100,
    };
    let mut series = SeriesStore::new();
    for s in 1..=1500u64 {
        series.push("loss", s as f64, 2.0 / (1.0 + s as f64).ln());
        series.push("loss_t0", s as f64, 2.5 / (1.0 + s as f64).ln());
        if s % 100 == 0 {
            series.push("acc_attn", s as f64, 0.4);
            series.push("acc_t0", s as f64, 0.3);
            series.push("island_score", s as f64, 0.9);
            series.push("island_score_iter0", s as f64, 0.3);
        }
    }
    RunState {
        status: Status::Paused,
        step: 1500,
        view: Some(Arc::new(view)),
        series: series.into(),
        ..RunState::default()
    }
}

#[test]
fn glom_panel_renders_a_canned_view() {
    let state = canned_glom_state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1600.0))
        .build_ui(move |ui| {
            lab_panel(ui, "glom", &state, &settings);
        });
    harness.run();
    harness.get_by_label("accuracy with attention 48.2%");
    harness.get_by_label("T=0 accuracy 29.5%");
    harness.get_by_label("level 1 (parts)");
    harness.get_by_label("level 2 (objects)");
    harness.get_by_label("object 1: tee");
    harness.get_by_label("object 2: zig");
    assert!(
        harness
            .query_by_label_contains("GLOM right at 12/12 object locations, T=0 baseline 0/12")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Accuracy vs ambiguity")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("island score at iteration 2")
            .is_some()
    );
}

#[test]
fn race_view_picks_the_comparable_series_first() {
    let names: Vec<String> = ["goodness_pos_l1", "ff_loss", "lr", "test_error", "acc_attn"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        trainscope_panels::race::default_selection(&names),
        vec!["test_error", "acc_attn", "ff_loss", "goodness_pos_l1"]
    );
}

fn tiny_sparrow_state() -> RunState {
    tiny_sparrow_state_asking(None)
}

/// A finished tiny Sparrow run, optionally with one question asked.
fn tiny_sparrow_state_asking(question: Option<&str>) -> RunState {
    use trainscope_engine::labs::sparrow::{SparrowConfig, SparrowLab};
    let cfg = SparrowConfig {
        seed: 3,
        index_dir: "ram".into(),
        corpus_limit: 100,
        train_questions: 80,
        eval_questions: 30,
        rerank_epochs: 1,
        reader_epochs: 1,
        rm_epochs: 3,
        label_budgets: vec![4],
        pref_questions: 8,
        pref_pairs: 4,
        pref_epochs: 2,
        probe_repeats: 1,
        decide_questions: 6,
        ..SparrowConfig::default()
    };
    let device = trainscope_engine::Backend::cpu().device;
    let mut lab = SparrowLab::new(cfg, &device).expect("lab");
    let steps = Lab::planned_steps(&lab).expect("finite");
    for _ in 0..steps {
        Lab::step(&mut lab).expect("step");
    }
    if let Some(q) = question {
        Lab::act(
            &mut lab,
            trainscope_engine::labs::sparrow::SparrowAction::Ask { question: q.into() },
        )
        .expect("asks");
    }
    RunState {
        status: Status::Paused,
        step: steps,
        view: Some(Arc::new(Lab::view(&lab))),
        series: Default::default(),
        ..RunState::default()
    }
}

#[test]
fn sparrow_panel_shows_chat_evaluation_and_rules() {
    let state = tiny_sparrow_state();
    let settings = PlotSettings::default();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 1600.0))
        .build_ui(move |ui| {
            lab_panel(ui, "sparrow", &state, &settings);
        });
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("Search Query:")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("Search Result:")
            .next()
            .is_some()
    );
    assert!(
        harness
            .query_all_by_label_contains("8 candidates")
            .next()
            .is_some()
    );
    harness.get_by_label("Evaluation").click();
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Pooled AUC: rule-conditional")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Any rule broken: base sampler")
            .is_some()
    );
    harness.get_by_label("Rules").click();
    harness.run();
    harness.get_by_label("no medical advice");
}

#[test]
fn sparrow_chat_tab_sends_mark_and_prefer_for_an_asked_turn() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use trainscope_panels::Request;
    let state = tiny_sparrow_state_asking(Some("is the moon made of cheese"));
    let settings = PlotSettings::default();
    let sent: Rc<RefCell<Vec<Request>>> = Rc::default();
    let out = sent.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1600.0, 1600.0))
        .build_ui(move |ui| {
            out.borrow_mut()
                .extend(lab_panel(ui, "sparrow", &state, &settings));
        });
    harness.run();
    assert!(harness.query_by_label_contains("Teach the agent").is_some());
    // The asked turn is the first candidates header; the example turns follow.
    harness
        .query_all_by_label("8 candidates")
        .next()
        .expect("candidates header")
        .click();
    harness.run();
    assert_eq!(harness.query_all_by_label("mark").count(), 8);
    assert_eq!(harness.query_all_by_label("complies").count(), 8);
    assert!(harness.query_by_label("rule for candidate 3").is_some());
    harness.get_by_label("prefer A over B");
    assert!(sent.borrow().is_empty(), "drawing sends nothing");
    harness
        .query_all_by_label("mark")
        .nth(2)
        .expect("mark")
        .click();
    harness.run();
    let got = sent.borrow().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let Request::Act(a) = &got[0] else {
        panic!("{got:?}")
    };
    // Addressed by the turn's stable id and the candidate's row.
    assert_eq!(a["action"], "mark", "{a}");
    assert_eq!(
        (a["turn"].as_u64(), a["candidate"].as_u64()),
        (Some(0), Some(2)),
        "{a}"
    );
    assert_eq!(a["violates"], true, "{a}");
    sent.borrow_mut().clear();
    harness.query_all_by_label("A").nth(4).expect("A").click();
    harness.run();
    harness.query_all_by_label("B").nth(1).expect("B").click();
    harness.run();
    harness.get_by_label("prefer A over B").click();
    harness.run();
    assert_eq!(
        sent.borrow().clone(),
        vec![Request::Act(serde_json::json!({
            "action": "prefer", "turn": 0, "winner": 4, "loser": 1
        }))]
    );
}

#[test]
fn sparrow_question_box_sends_an_ask_action() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use trainscope_panels::Request;
    let state = tiny_sparrow_state_asking(None);
    let settings = PlotSettings::default();
    let sent: Rc<RefCell<Vec<Request>>> = Rc::default();
    let out = sent.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui(move |ui| {
            out.borrow_mut()
                .extend(lab_panel(ui, "sparrow", &state, &settings));
        });
    harness.run();
    let input = harness.get_by_role(egui::accesskit::Role::TextInput);
    input.focus();
    input.type_text("is the sky blue");
    harness.run();
    harness.get_by_label("ask").click();
    harness.run();
    assert_eq!(
        sent.borrow().clone(),
        vec![Request::Act(serde_json::json!({
            "action": "ask", "question": "is the sky blue"
        }))]
    );
}
