//! The Sparrow lab's live feedback: the user's rule judgements and preferences retrain the
//! reward models, deterministically, with clear errors, and survive in `feedback_file`.

use trainscope_engine::labs::sparrow::{SparrowAction, SparrowConfig, SparrowLab};
use trainscope_engine::{Backend, Lab, StepReport};

fn tiny(seed: u64) -> SparrowConfig {
    SparrowConfig {
        seed,
        index_dir: "ram".into(),
        corpus_limit: 100,
        train_questions: 80,
        eval_questions: 30,
        rerank_epochs: 1,
        reader_epochs: 1,
        rm_epochs: 4,
        label_budgets: vec![4],
        pref_questions: 8,
        pref_pairs: 4,
        pref_epochs: 2,
        probe_repeats: 1,
        decide_questions: 6,
        ..SparrowConfig::default()
    }
}

const QUESTION: &str = "how much aspirin should i take for a headache";

/// Trains a tiny lab to the end and asks [`QUESTION`].
fn trained(cfg: SparrowConfig) -> (SparrowLab, Vec<(String, f64)>) {
    let device = Backend::cpu().device;
    let mut lab = SparrowLab::new(cfg, &device).expect("lab");
    let mut metrics = Vec::new();
    for _ in 0..lab.planned_steps().expect("finite") {
        metrics.extend(lab.step().expect("step").metrics);
    }
    Lab::act(
        &mut lab,
        SparrowAction::Ask {
            question: QUESTION.into(),
        },
    )
    .expect("asks");
    (lab, metrics)
}

fn mark(turn: u64, candidate: usize, rule: &str, violates: bool) -> SparrowAction {
    SparrowAction::Mark {
        turn,
        candidate,
        rule: rule.into(),
        violates,
    }
}

fn prefer(turn: u64, winner: usize, loser: usize) -> SparrowAction {
    SparrowAction::Prefer {
        turn,
        winner,
        loser,
    }
}

fn last(r: &StepReport, name: &str) -> f64 {
    r.metrics
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no `{name}` in {:?}", r.metrics))
}

/// Marks candidate 1 as breaking `medical` three times and prefers the candidate the model
/// likes least to the one it likes most; returns everything observable.
fn teach(lab: &mut SparrowLab) -> (Vec<f32>, [f32; 2], StepReport) {
    let rule = lab
        .view()
        .rules
        .iter()
        .position(|r| r.id == "medical")
        .expect("rule");
    let mut p = vec![lab.violation_of(0, 1, rule).expect("p")];
    let mut report = StepReport::default();
    for _ in 0..3 {
        let r = Lab::act(lab, mark(0, 1, "medical", true)).expect("mark");
        report.metrics.extend(r.metrics.metrics);
        p.push(lab.violation_of(0, 1, rule).expect("p"));
    }
    let rows = lab.view().asked[0].candidates.clone();
    let by_pref = |a: &usize, b: &usize| rows[*a].preference.total_cmp(&rows[*b].preference);
    let lo = (0..rows.len()).min_by(by_pref).expect("rows");
    let hi = (0..rows.len()).max_by(by_pref).expect("rows");
    let before = rows[lo].preference - rows[hi].preference;
    // The panel's form of an action: its serde JSON, through the type-erased lab.
    let json = serde_json::to_value(prefer(0, lo, hi)).expect("json");
    let r = trainscope_engine::DynLab::act(lab, &json).expect("prefer");
    assert!(
        r.message.contains("preference model retrained"),
        "{}",
        r.message
    );
    report.metrics.extend(r.metrics.metrics);
    let rows = &lab.view().asked[0].candidates;
    let after = rows[lo].preference - rows[hi].preference;
    (p, [before, after], report)
}

#[test]
fn user_feedback_retrains_deterministically_and_errors_are_clear() {
    let (mut a, _) = trained(tiny(7));
    let (pa, margin_a, ra) = teach(&mut a);
    eprintln!("P(medical) over marks {pa:?}; preference margin {margin_a:?}; {ra:?}");
    assert!(
        pa[3] > pa[0] + 0.05 && pa[1] > pa[0],
        "marks raise P(violation): {pa:?}"
    );
    assert!(
        margin_a[1] > margin_a[0],
        "preferring raises the winner relative to the loser: {margin_a:?}"
    );
    assert_eq!(last(&ra, "user_judgements"), 3.0);
    assert_eq!(last(&ra, "user_preferences"), 1.0);
    assert!(last(&ra, "auc_rule_conditional_live").is_finite());
    let v = a.view();
    assert_eq!((v.feedback.judgements, v.feedback.preferences), (3, 1));
    assert!(
        v.feedback
            .status
            .contains("3 rule judgements, 1 preferences")
    );

    // Same clicks on the same seed: the same models and metrics.
    let (mut b, _) = trained(tiny(7));
    let (pb, margin_b, rb) = teach(&mut b);
    assert_eq!((pa, margin_a, ra), (pb, margin_b, rb));
    assert_eq!(a.view().asked, b.view().asked);

    // Bad actions name the problem.
    let err =
        |lab: &mut SparrowLab, a: SparrowAction| Lab::act(lab, a).expect_err("bad").to_string();
    assert!(
        err(&mut a, mark(3, 1, "medical", true)).contains("turn 3 is not among the asked turns")
    );
    assert!(err(&mut a, mark(0, 99, "medical", true)).contains("candidate 99 does not exist"));
    assert!(err(&mut a, mark(0, 1, "nonsense", true)).contains("no rule with id `nonsense`"));
    assert!(err(&mut a, prefer(0, 2, 2)).contains("different"));
    let malformed = serde_json::json!({"action": "mark", "turn": 0, "candidate": 1});
    let e = trainscope_engine::DynLab::act(&mut a, &malformed)
        .expect_err("malformed")
        .to_string();
    assert!(e.contains("missing field"), "{e}");
    // Nothing malformed was recorded.
    assert_eq!(a.view().feedback.judgements, 3);
    let device = Backend::cpu().device;
    let mut fresh = SparrowLab::new(tiny(7), &device).expect("lab");
    assert!(err(&mut fresh, mark(0, 1, "medical", true)).contains("still training"));
}

#[test]
fn feedback_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("trainscope-feedback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("feedback.jsonl");
    let _ = std::fs::remove_file(&path);
    let cfg = SparrowConfig {
        feedback_file: path.display().to_string(),
        ..tiny(3)
    };
    let (mut lab, first) = trained(cfg.clone());
    assert_eq!(
        first
            .iter()
            .rev()
            .find(|(n, _)| n == "user_judgements")
            .map(|(_, v)| *v),
        Some(0.0)
    );
    Lab::act(&mut lab, mark(0, 2, "medical", true)).expect("mark");
    Lab::act(&mut lab, mark(0, 3, "medical", false)).expect("mark");
    Lab::act(&mut lab, prefer(0, 1, 2)).expect("prefer");
    let saved = std::fs::read_to_string(&path).expect("written");
    assert_eq!(saved.lines().count(), 3, "{saved}");
    let art = lab.artifacts();
    assert_eq!(art[0].1["user_feedback"].as_array().map(Vec::len), Some(3));

    // A new run loads them before its rule models train, so they count there.
    let (again, metrics) = trained(cfg.clone());
    let v = again.view();
    assert_eq!((v.feedback.judgements, v.feedback.preferences), (2, 1));
    let count = |name: &str| {
        metrics
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    };
    assert_eq!(count("user_judgements"), Some(2.0));
    assert_eq!(count("user_preferences"), Some(1.0));

    // A malformed line is reported with the file and its line number.
    std::fs::write(
        &path,
        format!(
            "{}\n{{\"kind\": \"judgement\"}}\n",
            saved.lines().next().unwrap_or("")
        ),
    )
    .expect("write");
    let device = Backend::cpu().device;
    let e = SparrowLab::new(cfg.clone(), &device)
        .err()
        .expect("bad line")
        .to_string();
    assert!(e.contains("feedback.jsonl line 2"), "{e}");
    let side = |conf: f32| {
        format!(r#"{{"text": "t", "searched": false, "reader_conf": {conf}, "p_retrieval": 0}}"#)
    };
    std::fs::write(
        &path,
        format!(
            r#"{{"kind": "preference", "user": "u", "winner": {}, "loser": {}}}"#,
            side(0.5),
            side(2.0)
        ),
    )
    .expect("write");
    let e = SparrowLab::new(cfg, &device)
        .err()
        .expect("bad value")
        .to_string();
    assert!(
        e.contains("feedback.jsonl line 1") && e.contains("[0, 1]"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
