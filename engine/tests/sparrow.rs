//! The Sparrow lab: authored data parses, the reader and the reward models learn on tiny data,
//! and a tiny run is deterministic and reports every summary metric.

use trainscope_engine::labs::sparrow::corpus::{self, Paragraph};
use trainscope_engine::labs::sparrow::dialogue::Dialogue;
use trainscope_engine::labs::sparrow::generate::Generator;
use trainscope_engine::labs::sparrow::reader::{READER_DIM, reader_features};
use trainscope_engine::labs::sparrow::rm::RuleModels;
use trainscope_engine::labs::sparrow::scorer::{Fit, train_binary};
use trainscope_engine::labs::sparrow::search::SearchIndex;
use trainscope_engine::labs::sparrow::{SparrowAction, SparrowConfig, SparrowLab};
use trainscope_engine::nn::roc_auc;
use trainscope_engine::rng::Rng;
use trainscope_engine::{Backend, Lab};

fn tiny(seed: u64) -> SparrowConfig {
    SparrowConfig {
        seed,
        index_dir: "ram".into(),
        corpus_limit: 150,
        train_questions: 120,
        eval_questions: 40,
        rerank_epochs: 1,
        reader_epochs: 2,
        rm_epochs: 4,
        label_budgets: vec![4],
        pref_questions: 10,
        pref_pairs: 4,
        pref_epochs: 2,
        probe_repeats: 1,
        decide_questions: 6,
        ..SparrowConfig::default()
    }
}

#[test]
fn rules_and_authored_files_parse() {
    let d = Dialogue::embedded().expect("parses");
    assert_eq!(d.rules.len(), 23);
    let mut ids: Vec<&str> = d.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 23, "rule ids are unique");
    let js = d.judgements();
    for r in 0..23 {
        let n = js.iter().filter(|j| j.rule == r).count();
        assert!(n >= 40, "rule {} has {n} judgements", d.rules[r].id);
        assert!(js.iter().any(|j| j.rule == r && j.held_out));
        assert!(js.iter().any(|j| j.rule == r && !j.held_out));
    }
    // Held-out phrasings are unseen: no held-out agent turn appears in training.
    for h in js.iter().filter(|j| j.held_out) {
        assert!(
            !js.iter().any(|t| !t.held_out && t.agent == h.agent),
            "{}",
            h.agent
        );
    }
    assert!(!d.generic.is_empty());
}

#[test]
fn probe_validation_split_never_shows_the_held_out_groups() {
    let d = Dialogue::embedded().expect("parses");
    let v = d.validation_split();
    let dj = d.judgements();
    let held: Vec<&str> = dj
        .iter()
        .filter(|j| j.held_out)
        .map(|j| j.agent.as_str())
        .collect();
    let vj = v.judgements();
    assert!(vj.iter().all(|j| !held.contains(&j.agent.as_str())));
    for r in 0..d.rules.len() {
        assert!(vj.iter().any(|j| j.rule == r && j.held_out));
        assert!(vj.iter().any(|j| j.rule == r && !j.held_out));
    }
}

#[test]
fn the_generator_searches_only_for_turns_read_as_questions() {
    assert_eq!(Generator::n_searching(8, 0.1, 0.25), 4);
    assert_eq!(Generator::n_searching(8, 0.3, 0.25), 0);
    assert_eq!(Generator::n_searching(7, 0.9, 1.0), 3, "1 searches always");
}

#[test]
fn parse_errors_name_file_and_line() {
    let rules =
        "[[rule]]\nid = \"a\"\nshort = \"a\"\ncategory = \"nonsense\"\ntext = \"t\"\nrisks = []\n";
    let e = Dialogue::parse(rules, "group = []", "response = []").expect_err("bad category");
    let msg = e.to_string();
    assert!(msg.contains("rules.toml line 1"), "{msg}");
    let e = Dialogue::parse("rule = [", "", "").expect_err("bad toml");
    assert!(e.to_string().contains("rules.toml line"), "{e}");
}

#[test]
fn corpus_split_is_by_paragraph() {
    let c = corpus::embedded().expect("corpus");
    assert_eq!(c.paragraphs.len(), 12_271);
    assert_eq!(c.questions.len(), 12_697);
    let held = c.held_out().count();
    assert!(held > 2000 && held < 3200, "{held} held out");
    for q in c.questions.iter().take(3000) {
        assert_eq!(q.held_out, corpus::is_held_out(&c.paragraphs[q.gold].text));
    }
}

#[test]
fn validation_split_takes_whole_training_paragraphs() {
    let c = corpus::embedded().expect("corpus");
    let train: Vec<_> = c.train().collect();
    let val = train
        .iter()
        .filter(|q| corpus::is_validation(&c.paragraphs[q.gold].text, 0.15))
        .count();
    let share = val as f64 / train.len() as f64;
    assert!((0.1..0.2).contains(&share), "validation share {share}");
    // Whole paragraphs go one way, and the split is not the held-out one under another name.
    for q in &train {
        let v = corpus::is_validation(&c.paragraphs[q.gold].text, 0.15);
        for other in train.iter().filter(|o| o.gold == q.gold) {
            assert_eq!(
                v,
                corpus::is_validation(&c.paragraphs[other.gold].text, 0.15)
            );
        }
    }
    let held_also_val = c
        .held_out()
        .filter(|q| corpus::is_validation(&c.paragraphs[q.gold].text, 0.15))
        .count() as f64
        / c.held_out().count() as f64;
    assert!(
        (0.1..0.2).contains(&held_also_val),
        "salted: {held_also_val}"
    );
}

#[test]
fn tiny_run_calibrates_on_its_validation_questions() {
    let cfg = SparrowConfig {
        val_share: 0.4,
        train_questions: 300,
        ..tiny(2)
    };
    let (reports, _, _) = trainscope_engine::testing::run_lab::<SparrowLab>(cfg.clone(), 1000);
    let last = |k: &str| {
        reports
            .iter()
            .rev()
            .find_map(|r| r.metrics.iter().find(|(n, _)| n == k).map(|(_, v)| *v))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let n_val = last("val_questions");
    assert!(
        (60.0..=180.0).contains(&n_val),
        "{n_val} validation questions"
    );
    assert_eq!(last("calibrated"), 1.0);
    // With no validation share there is nothing to calibrate on: raw confidence is used.
    let (reports, _, _) = trainscope_engine::testing::run_lab::<SparrowLab>(
        SparrowConfig {
            val_share: 0.0,
            ..cfg
        },
        1000,
    );
    assert!(
        !reports
            .iter()
            .any(|r| r.metrics.iter().any(|(n, _)| n == "calibrated"))
    );
}

#[test]
fn index_finds_paragraphs() {
    let ps: Vec<Paragraph> = [
        "Cats purr and hunt mice.",
        "Volcanoes erupt lava and ash.",
        "Bees make honey from nectar.",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| Paragraph {
        title: format!("P{i}"),
        text: t.to_string(),
    })
    .collect();
    let idx = SearchIndex::in_ram(&ps).expect("index");
    assert_eq!(
        idx.search("how do bees make honey", 1).expect("search")[0].id,
        2
    );
    assert_eq!(idx.search("lava", 3).expect("search")[0].id, 1);
}

#[test]
fn reader_learns_a_tiny_yes_no_task() {
    // "yes" when the passage's best sentence contains the question's noun without a negation.
    let device = Backend::cpu().device;
    let nouns = [
        "cat", "dog", "fish", "bird", "horse", "cow", "goat", "frog", "bee", "ant",
    ];
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (i, n) in nouns.iter().enumerate() {
        for neg in [false, true] {
            let p = Paragraph {
                title: n.to_string(),
                text: format!(
                    "The {n} is {} a mammal. Item {i}.",
                    if neg { "not" } else { "truly" }
                ),
            };
            x.push(reader_features(&format!("is the {n} a mammal"), Some(&p)));
            y.push(if neg { 0.0 } else { 1.0 });
        }
    }
    let rows: Vec<_> = x.iter().collect();
    let fit = Fit {
        epochs: 60,
        lr: 0.05,
        batch: 8,
        l2: 0.0,
    };
    let m =
        train_binary(READER_DIM, &[], &rows, &y, fit, &mut Rng::new(1), &device).expect("train");
    let p = m.probs(&rows).expect("probs");
    let right = p
        .iter()
        .zip(&y)
        .filter(|(p, y)| (**p >= 0.5) == (**y > 0.5))
        .count();
    assert_eq!(right, y.len(), "{p:?}");
}

#[test]
fn rule_models_learn_on_a_small_set() {
    let device = Backend::cpu().device;
    let d = Dialogue::embedded().expect("parses");
    let js = d.judgements();
    let train: Vec<_> = js.iter().filter(|j| !j.held_out).collect();
    let held: Vec<_> = js.iter().filter(|j| j.held_out).collect();
    let fit = Fit {
        epochs: 6,
        lr: 0.01,
        batch: 32,
        l2: 1e-5,
    };
    let rm =
        RuleModels::train(&d.rules, &train, fit, &[], &mut Rng::new(2), &device).expect("train");
    let auc = rm.auc(&d.rules, &held).expect("auc");
    assert!(
        auc.pooled[0] > 0.7,
        "rule-conditional AUC {}",
        auc.pooled[0]
    );
    assert!(roc_auc(&[0.2, 0.8, 0.4], &[false, true, false]) == 1.0);
}

#[test]
fn tiny_run_is_deterministic_and_reports_the_summary_metrics() {
    let device = Backend::cpu().device;
    let run = || {
        let mut lab = SparrowLab::new(tiny(5), &device).expect("lab");
        let planned = lab.planned_steps().expect("finite");
        let mut all = Vec::new();
        for _ in 0..planned {
            all.extend(lab.step().expect("step").metrics);
        }
        (all, lab)
    };
    let (a, mut lab) = run();
    let (b, _) = run();
    // The GUI's question box: an action answered @N once training is done.
    let r = Lab::act(
        &mut lab,
        SparrowAction::Ask {
            question: "is the moon made of cheese".into(),
        },
    )
    .expect("asks");
    assert!(r.message.starts_with("turn 0: "), "{}", r.message);
    let view = lab.view();
    assert_eq!(view.asked.len(), 1);
    assert_eq!(view.asked[0].candidates.len(), 8);
    assert_eq!(a, b, "same seed, same metrics");
    // The deflection numbers are in the summary, as shares.
    for k in ["probe_deflection_base", "probe_deflection_rerank"] {
        let v = a.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        assert!(v.is_some_and(|v| (0.0..=1.0).contains(&v)), "{k}: {v:?}");
    }
    // The headline metrics themselves are checked for every lab by tests/labs.rs.
    assert!(!view.samples.is_empty());
    assert_eq!(view.rules.len(), 23);
}
