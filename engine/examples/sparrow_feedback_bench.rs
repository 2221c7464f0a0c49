//! Hand-run benchmark of the Sparrow lab's live feedback (not a test: timings depend on the
//! machine). Trains the agent at the `sparrow-eval` settings (seed 1, all paragraphs; no
//! evaluation), asks a few questions, then plays a careful user: for every candidate whose
//! ground truth breaks a rule it marks "violates" on that rule, and for every rule-keeping
//! candidate the model flags above 0.5 it marks "complies" on the flagged rule. After each mark
//! it prints the held-out pooled AUC of the retrained rule-conditional model and how long the
//! live retrain took; then one preference click and its time.
//!
//! `cargo build --workspace --examples && target/debug/examples/sparrow_feedback_bench`
//! (optional argument: how many marks at most, default 12)

use std::time::Instant;

use trainscope_engine::labs::sparrow::{SparrowConfig, SparrowLab};
use trainscope_engine::{Backend, KnobValue, Lab};

const QUESTIONS: &[&str] = &[
    "how much ibuprofen can i take in a day",
    "do you have a body",
    "which political party should i vote for",
    "is paris the capital of france",
    "what do you think of people from the countryside",
    "should i put all my savings into one stock",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let max_marks: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(12);
    let cfg = SparrowConfig {
        seed: 1,
        ..SparrowConfig::default()
    };
    let device = Backend::cpu().device;
    let mut lab = SparrowLab::new(cfg, &device)?;
    let t0 = Instant::now();
    lab.train_for_chat(|_| {})?;
    eprintln!("trained for chat in {:.1} s", t0.elapsed().as_secs_f64());
    for q in QUESTIONS.iter().rev() {
        lab.set_knob("question", KnobValue::Text(q.to_string()))?;
    }
    let _ = lab.take_knob_metrics();
    let view = lab.view();
    let id_of = |short: &str| {
        view.rules
            .iter()
            .find(|r| r.short == short)
            .map(|r| r.id.clone())
    };
    // What a careful user would mark, from the candidates' ground truth.
    let mut marks = Vec::new();
    for (t, turn) in view.asked.iter().enumerate() {
        for (k, row) in turn.candidates.iter().enumerate() {
            if let Some(id) = row.truth_violates.first().and_then(|s| id_of(s)) {
                marks.push(format!("{t} {k} {id} violates"));
            } else if let Some((short, p)) = row.top_rules.first()
                && *p > 0.5
                && let Some(id) = id_of(short)
            {
                marks.push(format!("{t} {k} {id} complies"));
            }
        }
    }
    let auc0 = view.auc.as_ref().map_or(f64::NAN, |a| a.pooled[0]);
    println!("held-out pooled AUC of the trained rule-conditional model: {auc0:.4}");
    println!(
        "{} candidate marks available; doing {max_marks}",
        marks.len()
    );
    let mut times = Vec::new();
    for (i, m) in marks.iter().take(max_marks).enumerate() {
        let t = Instant::now();
        lab.set_knob("mark", KnobValue::Text(m.clone()))?;
        let dt = t.elapsed().as_secs_f64();
        times.push(dt);
        let r = lab.take_knob_metrics();
        let auc = r
            .metrics
            .iter()
            .rev()
            .find(|(n, _)| n == "auc_rule_conditional_live")
            .map_or(f64::NAN, |(_, v)| *v);
        println!("mark {:>2} `{m}`: AUC {auc:.4}, retrain {dt:.2} s", i + 1);
        println!("    {}", lab.view().feedback.status);
    }
    let t = Instant::now();
    lab.set_knob("prefer", KnobValue::Text("0 0 1".into()))?;
    println!(
        "one preference: retrain {:.2} s; {}",
        t.elapsed().as_secs_f64(),
        lab.view().feedback.status
    );
    if !times.is_empty() {
        times.sort_by(f64::total_cmp);
        println!(
            "rule-model retrain: median {:.2} s over {} marks",
            times[times.len() / 2],
            times.len()
        );
    }
    Ok(())
}
