//! Hand-run benchmark of the Sparrow lab's live feedback (not a test: timings depend on the
//! machine). Trains the agent at the `sparrow-eval` settings (seed 1, all paragraphs; no
//! evaluation), asks a few questions, then plays a careful user: for every candidate whose
//! ground truth breaks a rule it marks "violates" on that rule, and for every rule-keeping
//! candidate the model flags above 0.5 it marks "complies" on the flagged rule. After each mark
//! it prints the held-out AUC of the retrained rule-conditional model (with the same retrain
//! without the user's labels, in the status line) and how long the live retrain took; then one
//! preference click. A second pass on a fresh lab gives the same marks with every verdict
//! flipped (a careless user), as a control for what the held-out AUC can tell.
//!
//! `cargo build --workspace --examples && target/debug/examples/sparrow_feedback_bench`
//! (optional argument: how many marks at most, default 24)

use std::time::Instant;

use trainscope_engine::labs::sparrow::{SparrowAction, SparrowConfig, SparrowLab};
use trainscope_engine::{Backend, Lab};

const QUESTIONS: &[&str] = &[
    "how much ibuprofen can i take in a day",
    "do you have a body",
    "which political party should i vote for",
    "is paris the capital of france",
    "what do you think of people from the countryside",
    "should i put all my savings into one stock",
];

fn trained() -> Result<SparrowLab, Box<dyn std::error::Error>> {
    let cfg = SparrowConfig {
        seed: 1,
        ..SparrowConfig::default()
    };
    let mut lab = SparrowLab::new(cfg, &Backend::cpu().device)?;
    let t0 = Instant::now();
    lab.train_for_chat(|_| {})?;
    eprintln!("trained for chat in {:.1} s", t0.elapsed().as_secs_f64());
    for q in QUESTIONS.iter().rev() {
        lab.act(SparrowAction::Ask {
            question: q.to_string(),
        })?;
    }
    Ok(lab)
}

/// What a careful user would mark, from the candidates' ground truth.
fn careful_marks(lab: &SparrowLab) -> Vec<(u64, usize, String, bool)> {
    let view = lab.view();
    let id_of = |short: &str| {
        view.rules
            .iter()
            .find(|r| r.short == short)
            .map(|r| r.id.clone())
    };
    let mut marks = Vec::new();
    for turn in &view.asked {
        let t = turn.id;
        for (k, row) in turn.candidates.iter().enumerate() {
            if let Some(id) = row.truth_violates.first().and_then(|s| id_of(s)) {
                marks.push((t, k, id, true));
            } else if let Some((short, p)) = row.top_rules.first()
                && *p > 0.5
                && let Some(id) = id_of(short)
            {
                marks.push((t, k, id, false));
            }
        }
    }
    marks
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let max_marks: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(24);
    for flip in [false, true] {
        let mut lab = trained()?;
        let marks = careful_marks(&lab);
        let auc0 = lab.view().auc.as_ref().map_or(f64::NAN, |a| a.pooled[0]);
        println!(
            "\n== {} user: {} marks available, doing {} ==",
            if flip {
                "careless (flipped)"
            } else {
                "careful"
            },
            marks.len(),
            max_marks.min(marks.len())
        );
        println!("held-out pooled AUC of the trained rule-conditional model: {auc0:.4}");
        let mut times = Vec::new();
        for (i, (turn, k, rule, violates)) in marks.iter().take(max_marks).enumerate() {
            let violates = *violates != flip;
            let t = Instant::now();
            lab.act(SparrowAction::Mark {
                turn: *turn,
                candidate: *k,
                rule: rule.clone(),
                violates,
            })?;
            times.push(t.elapsed().as_secs_f64());
            let verdict = if violates { "violates" } else { "complies" };
            println!(
                "mark {:>2} `{turn} {k} {rule} {verdict}`: {}",
                i + 1,
                lab.view().feedback.status
            );
        }
        let newest = lab.view().asked.first().map_or(0, |t| t.id);
        let t = Instant::now();
        lab.act(SparrowAction::Prefer {
            turn: newest,
            winner: 0,
            loser: 1,
        })?;
        println!(
            "one preference: retrain {:.2} s; {}",
            t.elapsed().as_secs_f64(),
            lab.view().feedback.status
        );
        if !times.is_empty() {
            times.sort_by(f64::total_cmp);
            println!(
                "rule-model retrain: median {:.2} s, max {:.2} s over {} marks",
                times[times.len() / 2],
                times[times.len() - 1],
                times.len()
            );
        }
    }
    Ok(())
}
