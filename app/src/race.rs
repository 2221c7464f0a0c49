//! `trainscope race`: the same preset and seed run twice side by side, B with a few settings
//! changed, then every metric both report compared. The headless twin of the GUI's race view.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::MultiProgress;
use trainscope_engine::{BackendChoice, Preset};

use crate::cli::{RunArgs, RunOutcome, run_in};

/// Arguments of `trainscope race`.
#[derive(clap::Args, Debug, Clone)]
pub struct RaceArgs {
    /// A preset file, or the name of a built-in preset.
    pub preset: String,
    /// A setting that run B changes, e.g. `--vary lr=0.01` (repeatable; at least one).
    #[arg(long = "vary", value_name = "KEY=VALUE", required = true)]
    pub vary: Vec<String>,
    /// A setting applied to both runs (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Number of steps for both runs.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Output folder (default: out/race-<preset name>); runs go to `a/` and `b/` inside it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not draw progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Top-level summary entries that describe the run rather than measure the model.
const NOT_METRICS: &[&str] = &["seed", "steps"];

/// `trainscope race`. Returns the comparison written to `race.json`.
pub fn race(args: &RaceArgs) -> Result<serde_json::Value> {
    // Resolve both presets first so a typo fails before any training starts.
    let mut pa = Preset::resolve(&args.preset)?;
    for s in &args.set {
        pa.apply_set(s)?;
    }
    let mut pb = pa.clone();
    for s in &args.vary {
        pb.apply_set(s).with_context(|| format!("--vary {s}"))?;
    }
    if pb.config == pa.config && pb.seed == pa.seed {
        bail!("--vary leaves the preset as it is: run B would repeat run A step for step");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(format!("race-{}", pa.name)));
    let side = |sets: Vec<String>, dir: &str| RunArgs {
        preset: args.preset.clone(),
        steps: args.steps,
        backend: args.backend,
        set: sets,
        out: Some(out.join(dir)),
        quiet: args.quiet,
        bundle: None,
    };
    let a = side(args.set.clone(), "a");
    let b = side(args.set.iter().chain(&args.vary).cloned().collect(), "b");
    let multi = MultiProgress::new();
    // Two threads: each run owns its lab and its own seeded RNG streams, so running them at the
    // same time gives the same numbers as running them one after the other.
    let (ra, rb) = std::thread::scope(|scope| {
        let ha = scope.spawn(|| run_in(&a, Some((&multi, "A"))));
        let hb = scope.spawn(|| run_in(&b, Some((&multi, "B"))));
        (joined(ha.join()), joined(hb.join()))
    });
    let (ra, rb) = (ra.context("run A")?, rb.context("run B")?);
    let table = compare(&ra, &rb);
    let doc = serde_json::json!({
        "preset": pa.name,
        "seed": pa.seed,
        "set": args.set,
        "vary": args.vary,
        "a": ra.out.join("summary.json"),
        "b": rb.out.join("summary.json"),
        "metrics": table,
    });
    let path = out.join("race.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{:<32} {:>12} {:>12} {:>12}", "series", "A", "B", "B - A");
    if let Some(rows) = table.as_object() {
        for (name, row) in rows {
            let get = |k: &str| row.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
            println!(
                "{name:<32} {:>12.5} {:>12.5} {:>+12.5}",
                get("a"),
                get("b"),
                get("b_minus_a")
            );
        }
    }
    eprintln!("B changes: {}", args.vary.join(" "));
    eprintln!("wrote {}", path.display());
    Ok(doc)
}

fn joined(r: std::thread::Result<Result<RunOutcome>>) -> Result<RunOutcome> {
    r.map_err(|_| anyhow!("the run's thread panicked"))?
}

/// Every numeric top-level entry both summaries have: A's value, B's, and B − A.
fn compare(a: &RunOutcome, b: &RunOutcome) -> serde_json::Value {
    let mut rows = serde_json::Map::new();
    let (Some(ma), Some(mb)) = (a.summary.as_object(), b.summary.as_object()) else {
        return serde_json::Value::Object(rows);
    };
    for (name, va) in ma {
        if NOT_METRICS.contains(&name.as_str()) {
            continue;
        }
        let (Some(x), Some(y)) = (va.as_f64(), mb.get(name).and_then(|v| v.as_f64())) else {
            continue;
        };
        rows.insert(
            name.clone(),
            serde_json::json!({ "a": x, "b": y, "b_minus_a": y - x }),
        );
    }
    serde_json::Value::Object(rows)
}
