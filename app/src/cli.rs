//! Headless commands: `list`, `run`, `bench`, `ask` (and `race`, in [`crate::race`]).

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use trainscope_engine::logstream::{self, LogStream};
use trainscope_engine::runlog::{EventKind, record};
use trainscope_engine::{
    Backend, BackendChoice, Curves, DynLab, Preset, RunLog, SeriesStore, StepReport, labs,
};

/// Arguments of `trainscope run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// A preset file, or the name of a built-in preset (see `trainscope list`).
    pub preset: String,
    /// Number of steps (default: the preset's `steps`, else the lab's planned run length).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Override a setting, e.g. `--set seed=3 --set lr=0.01 --set layers=[256,256]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default: out/<preset name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Also write a session bundle (log, metrics, summary, figures) to this file at the end.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

/// Arguments of `trainscope bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A preset file or built-in name.
    #[arg(default_value = "ff-mnist-quick")]
    pub preset: String,
    /// Steps to time (after 5 warm-up steps).
    #[arg(long, default_value_t = 100)]
    pub steps: u64,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Override a setting (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Also print the rate of every N steps, and the slowest window against the first.
    #[arg(long, default_value_t = 0)]
    pub window: u64,
    /// Race the same step written in PyTorch and in NumPy (`scripts/bench_peer.py`, which makes
    /// its venvs on first use), in rounds of `--steps` steps whose order rotates; prints
    /// `ratio_vs_pytorch=<median ratio>` and `ratio_vs_numpy=<median ratio>` (only the NumPy
    /// line if torch cannot be had). Supervised `ff` presets only.
    #[arg(long)]
    pub peer: bool,
    /// Rounds with `--peer`.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// With `--peer`, also race the NumPy peer (`--numpy false`: PyTorch alone).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub numpy: bool,
    /// Instead of timing the step: play the preset as the window does (evaluations on) for up
    /// to this many seconds and print when each series first reports, in steps and in seconds
    /// after pressing play (how long a new user waits for, e.g., a held-out figure).
    #[arg(long, value_name = "SECONDS")]
    pub first_seen: Option<f64>,
}

/// `trainscope list`.
pub fn list() -> Result<()> {
    println!("Labs:");
    for e in labs::all() {
        println!("  {:<8} {} — {}", e.id, e.name, e.paper);
    }
    println!("\nPresets (run with `trainscope run NAME`):");
    for p in Preset::builtins()? {
        println!("  {:<24} [{}] {}", p.name, p.lab, p.title);
    }
    Ok(())
}

fn load_preset(name: &str, sets: &[String], steps: Option<u64>) -> Result<Preset> {
    let mut preset = Preset::resolve(name)?;
    for s in sets {
        preset.apply_set(s)?;
    }
    if let Some(n) = steps {
        preset.steps = Some(n);
    }
    Ok(preset)
}

fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, trainscope_engine::LabError>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| anyhow!("{what}: {e}")),
        Err(p) => bail!(
            "{what}: the lab panicked: {}",
            trainscope_engine::panic_text(&*p)
        ),
    }
}

struct Metrics {
    /// The lab's headline metrics: shown beside the progress bar when present.
    key: Vec<&'static str>,
    last: Vec<(String, f64)>,
    csv: std::io::BufWriter<std::fs::File>,
}

impl Metrics {
    fn record(&mut self, step: u64, report: &StepReport) -> Result<()> {
        for (name, value) in &report.metrics {
            writeln!(self.csv, "{step},{name},{value}")?;
            match self.last.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = *value,
                None => self.last.push((name.clone(), *value)),
            }
        }
        Ok(())
    }

    fn summary_line(&self) -> String {
        self.key
            .iter()
            .filter_map(|k| self.last.iter().find(|(n, _)| n == k))
            .map(|(n, v)| format!("{n}={v:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a finished headless run produced.
pub struct RunOutcome {
    /// The folder holding metrics.csv and summary.json.
    pub out: PathBuf,
    /// summary.json's content.
    pub summary: serde_json::Value,
}

/// `trainscope run`.
pub fn run(args: &RunArgs) -> Result<RunOutcome> {
    run_in(args, None)
}

/// `trainscope run`, with its progress bar inside `multi` (labelled `label`) when given, as the
/// race command does for its two runs; then the final metrics line is left to the caller.
pub fn run_in(args: &RunArgs, multi: Option<(&MultiProgress, &str)>) -> Result<RunOutcome> {
    let preset = load_preset(&args.preset, &args.set, args.steps)?;
    let backend = Backend::select(args.backend);
    if let Some(n) = &backend.notice {
        eprintln!("note: {n}");
    }
    eprintln!("preset: {} ({})", preset.name, preset.title);
    eprintln!("backend: {}", backend.name);
    let mut lab: Box<dyn DynLab> = guarded("building the lab", || preset.build(&backend.device))?;
    let steps = preset.steps.or(lab.planned_steps()).unwrap_or(1000);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&preset.name));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let csv_path = out.join("metrics.csv");
    let file = std::fs::File::create(&csv_path)
        .with_context(|| format!("creating {}", csv_path.display()))?;
    let headline = (preset.entry()?.headline)(&preset.config);
    let mut metrics = Metrics {
        key: headline.clone(),
        last: Vec::new(),
        csv: std::io::BufWriter::new(file),
    };
    writeln!(metrics.csv, "step,series,value")?;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr_with_hz(5));
        b.set_style(
            ProgressStyle::with_template(
                "{prefix}{bar:30.cyan/blue} {pos}/{len} steps  {per_sec}  ETA {eta}  {msg}",
            )
            .map_err(|e| anyhow!("progress template: {e}"))?,
        );
        match multi {
            Some((m, label)) => {
                let b = m.add(b);
                b.set_prefix(format!("{label} "));
                b
            }
            None => b,
        }
    };
    // The history as the app records it, for a bundle. The log (the preset and one final
    // evaluation at the end, since a headless run takes no other input) is streamed to
    // DIR/runlog.jsonl as the run goes, with metrics.csv flushed each time the step count is
    // written, so a run that dies leaves both readable up to its last second.
    let mut store = SeriesStore::new();
    let mut log = RunLog::new(&preset, &backend.name)?;
    let log_path = out.join(RUNLOG_FILE);
    let mut stream = LogStream::create(&log_path, &log)?;
    let t0 = Instant::now();
    let mut last_msg = Instant::now() - Duration::from_secs(1);
    let mut last_log = Instant::now();
    for step in 1..=steps {
        let report = guarded(&format!("step {step}"), || lab.step())?;
        metrics.record(step, &report)?;
        if last_log.elapsed() >= logstream::STEPS_EVERY {
            metrics.csv.flush()?;
            stream.steps(step, true)?;
            last_log = Instant::now();
        }
        if args.bundle.is_some() {
            record(&mut store, step, report.clone());
        }
        if let Some(series) = report.first_non_finite() {
            bar.abandon();
            metrics.csv.flush()?;
            stream.end(step)?;
            bail!(
                "non-finite value in series `{series}` at step {step}; stopping (metrics so far are in {})",
                csv_path.display()
            );
        }
        bar.inc(1);
        if last_msg.elapsed() > Duration::from_millis(250) {
            bar.set_message(metrics.summary_line());
            last_msg = Instant::now();
        }
    }
    bar.set_message("final evaluation…");
    let fin = guarded("final evaluation", || lab.finish())?;
    metrics.record(steps, &fin)?;
    if args.bundle.is_some() {
        record(&mut store, steps, fin.clone());
    }
    metrics.csv.flush()?;
    log.push(steps, EventKind::Finish, true);
    log.steps = steps;
    if let Some(e) = log.events.last() {
        stream.event(e)?;
    }
    stream.end(steps)?;
    let wall = t0.elapsed().as_secs_f64();
    bar.finish_with_message(metrics.summary_line());

    let mut summary = serde_json::Map::new();
    summary.insert("preset".into(), preset.name.clone().into());
    summary.insert("preset_source".into(), preset.source.clone().into());
    summary.insert("title".into(), preset.title.clone().into());
    summary.insert("lab".into(), preset.lab.clone().into());
    summary.insert("seed".into(), preset.seed.into());
    summary.insert("config".into(), serde_json::to_value(&preset.config)?);
    summary.insert("backend".into(), backend.name.clone().into());
    summary.insert("steps".into(), steps.into());
    summary.insert("wall_seconds".into(), wall.into());
    summary.insert(
        "steps_per_second".into(),
        (steps as f64 / wall.max(1e-9)).into(),
    );
    for (name, value) in &metrics.last {
        let key = if summary.contains_key(name) {
            format!("metric_{name}")
        } else {
            name.clone()
        };
        summary.insert(
            key,
            serde_json::Number::from_f64(*value).map_or(serde_json::Value::Null, Into::into),
        );
    }
    // Curves and tables go beside summary.json, whose keys stay flat numbers for scripts.
    let results = lab.results();
    if !results.is_empty() {
        let path = out.join("results.json");
        std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // An artifact named `summary` adds non-numeric facts (e.g. which retriever ran) to
    // summary.json instead of becoming a file; it never replaces a key already there.
    let artifacts = lab.artifacts();
    for (stem, value) in &artifacts {
        if let (SUMMARY_ARTIFACT, serde_json::Value::Object(extra)) = (stem.as_str(), value) {
            for (k, v) in extra {
                summary.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let summary = serde_json::Value::Object(summary);
    let summary_path = out.join("summary.json");
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&summary)? + "\n",
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    for (stem, value) in artifacts {
        if stem == SUMMARY_ARTIFACT {
            continue;
        }
        let path = out.join(format!("{stem}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    eprintln!(
        "wrote {}, {} and {} ({wall:.1} s)",
        csv_path.display(),
        summary_path.display(),
        log_path.display()
    );
    if let Some(path) = &args.bundle {
        let session = crate::bundle::Session::new(log, Curves::of(&store), String::new());
        crate::bundle::save(path, &session)?;
        eprintln!("wrote session bundle {}", path.display());
    }
    if multi.is_none() {
        println!("{}", metrics.summary_line());
    }
    Ok(RunOutcome { out, summary })
}

/// The streamed run log a headless run writes beside metrics.csv.
pub const RUNLOG_FILE: &str = "runlog.jsonl";

/// The artifact stem whose object is merged into summary.json (see [`run`]).
const SUMMARY_ARTIFACT: &str = "summary";

/// `trainscope bench`: steps per second of a preset's training step, without evaluation.
pub fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(budget) = args.first_seen {
        return first_seen(args, budget);
    }
    let mut preset = load_preset(&args.preset, &args.set, None)?;
    // Time the training step alone: labs that evaluate periodically stop doing so, unless the
    // user set it. Labs without the key (HetNet, Sparrow) have nothing to turn off.
    if preset.config.contains_key("eval_every")
        && !args.set.iter().any(|s| s.starts_with("eval_every"))
    {
        preset.apply_set("eval_every=0")?;
    }
    let backend = Backend::select(args.backend);
    if let Some(n) = &backend.notice {
        eprintln!("note: {n}");
    }
    let mut peers = Vec::new();
    if args.peer {
        let first = crate::peer::Peer::spawn(&preset, "torch")?;
        let fell_back = first.library() != "pytorch";
        peers.push(first);
        if fell_back {
            eprintln!("note: no PyTorch peer (see the script's message above): racing NumPy only");
        } else if args.numpy {
            peers.push(crate::peer::Peer::spawn(&preset, "numpy")?);
        }
    }
    let mut lab = guarded("building the lab", || preset.build(&backend.device))?;
    for _ in 0..5 {
        guarded("warm-up", || lab.step())?;
    }
    if !peers.is_empty() {
        return crate::peer::race(&mut peers, args.steps, args.rounds.max(1), || {
            guarded("step", || lab.step()).map(|_| ())
        });
    }
    let t0 = Instant::now();
    let mut windows = Vec::new();
    let mut t_window = t0;
    for i in 1..=args.steps {
        guarded("step", || lab.step())?;
        if args.window > 0 && i % args.window == 0 {
            let rate = args.window as f64 / t_window.elapsed().as_secs_f64();
            println!("steps {}-{i}: {rate:.1} steps/s", i + 1 - args.window);
            windows.push(rate);
            t_window = Instant::now();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    if let (Some(first), Some(slowest)) = (
        windows.first(),
        windows.iter().copied().min_by(f64::total_cmp),
    ) {
        println!(
            "first window {first:.1} steps/s, slowest {slowest:.1} ({:+.1}%), last {:.1}",
            100.0 * (slowest / first - 1.0),
            windows.last().copied().unwrap_or(*first)
        );
    }
    println!(
        "{}: {} steps on {} in {secs:.2} s = {:.1} steps/s",
        preset.name,
        args.steps,
        backend.name,
        args.steps as f64 / secs
    );
    Ok(())
}

/// `trainscope bench PRESET --first-seen SECONDS`: when each series first reports.
fn first_seen(args: &BenchArgs, budget: f64) -> Result<()> {
    let preset = load_preset(&args.preset, &args.set, None)?;
    let backend = Backend::select(args.backend);
    let t_build = Instant::now();
    let mut lab = guarded("building the lab", || preset.build(&backend.device))?;
    let build = t_build.elapsed().as_secs_f64();
    let planned = preset.steps.or(lab.planned_steps());
    let mut seen: Vec<(String, u64, f64)> = Vec::new();
    let mut note = |report: &StepReport, step: u64, secs: f64| {
        for (name, _) in &report.metrics {
            if !seen.iter().any(|(n, _, _)| n == name) {
                seen.push((name.clone(), step, secs));
            }
        }
    };
    let t0 = Instant::now();
    let mut step = 0;
    while t0.elapsed().as_secs_f64() < budget && planned.is_none_or(|p| step < p) {
        let report = guarded(&format!("step {}", step + 1), || lab.step())?;
        step += 1;
        note(&report, step, t0.elapsed().as_secs_f64());
    }
    // The window runs the final evaluation when a run reaches its planned length.
    if planned == Some(step) && t0.elapsed().as_secs_f64() < budget {
        let fin = guarded("final evaluation", || lab.finish())?;
        note(&fin, step, t0.elapsed().as_secs_f64());
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}: built in {build:.1} s; then {step} steps in {secs:.1} s on {}",
        preset.name, backend.name
    );
    println!(
        "{:<32} {:>10} {:>12}",
        "series", "first step", "s after play"
    );
    for (name, step, secs) in seen {
        println!("{name:<32} {step:>10} {secs:>12.1}");
    }
    Ok(())
}

/// Arguments of `trainscope ask`.
#[derive(clap::Args, Debug, Clone)]
pub struct AskArgs {
    /// The user's question.
    pub question: String,
    /// The Sparrow preset whose settings train the agent.
    #[arg(long, default_value = "sparrow-eval")]
    pub preset: String,
    /// Override a setting (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The config of `preset`, which must be a preset of lab `lab`; `need` says who needs it
/// (e.g. "`ask` needs a Sparrow preset").
pub(crate) fn lab_config<C: serde::de::DeserializeOwned>(
    preset: &Preset,
    lab: &str,
    need: &str,
) -> Result<C> {
    if preset.lab != lab {
        bail!("{need}; `{}` is for lab `{}`", preset.name, preset.lab);
    }
    preset
        .config
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| anyhow!("{}: {}", preset.name, e.message()))
}

/// `trainscope ask`: trains the Sparrow agent (search index, re-ranker, reader, reward models;
/// no evaluation) and answers one question headless, printing the Search Query, the Search
/// Result and the agent's turn chosen @N.
pub fn ask(args: &AskArgs) -> Result<()> {
    use trainscope_engine::lab::Lab;
    use trainscope_engine::labs::sparrow::{SparrowConfig, SparrowLab};
    let preset = load_preset(&args.preset, &args.set, None)?;
    let cfg: SparrowConfig = lab_config(&preset, "sparrow", "`ask` needs a Sparrow preset")?;
    let backend = Backend::select(BackendChoice::Cpu);
    let mut lab = guarded("building the lab", || SparrowLab::new(cfg, &backend.device))?;
    let t0 = Instant::now();
    guarded("training", || {
        lab.train_for_chat(|label| {
            eprintln!("[{:>5.1}s] {label}", t0.elapsed().as_secs_f64());
        })
    })?;
    let turn = guarded("answering", || lab.ask(&args.question))?;
    let chosen = turn.chosen();
    println!("User: {}", turn.user);
    match &chosen.search {
        Some((query, ev)) => {
            println!("Search Query: {query}");
            println!("Search Result: {}", ev.title);
            println!("  {}", ev.snippet);
        }
        None => println!("Search Query: (none: the chosen candidate did not search)"),
    }
    println!("Sparrow: {}", chosen.text);
    println!(
        "(chosen @{} from {} candidates: preference {:.2}, max P(violation) {:.2}, score {:.2})",
        turn.candidates.len(),
        turn.candidates.len(),
        chosen.preference,
        chosen.max_violation,
        chosen.score
    );
    let a = guarded("answering with search", || lab.answer(&args.question))?;
    if chosen.search.is_none() {
        if let Some(ev) = &a.evidence {
            println!(
                "Always-search answer: {} [{}] {}",
                a.text, ev.title, ev.snippet
            );
        }
    } else {
        println!(
            "Always-search answer with the decline threshold: {} (confidence {:.2})",
            a.text, a.confidence
        );
    }
    Ok(())
}

/// Arguments of `trainscope open`.
#[derive(clap::Args, Debug, Clone)]
pub struct OpenArgs {
    /// A session bundle (`.trainscope`) or a streamed run log (`.jsonl`).
    #[arg(required_unless_present = "last")]
    pub bundle: Option<PathBuf>,
    /// Open the newest run log the window streamed (e.g. after a crash; see `--print`).
    #[arg(long, conflicts_with = "bundle")]
    pub last: bool,
    /// Describe the bundle or log here instead of opening it in the window.
    #[arg(long)]
    pub print: bool,
}

impl OpenArgs {
    /// The file to open: the one given, or with `--last` the newest streamed log.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.bundle {
            Some(p) => Ok(p.clone()),
            None => last_run_log(),
        }
    }
}

/// The newest run log in the window's runs folder ([`logstream::runs_dir`]).
pub fn last_run_log() -> Result<PathBuf> {
    let dir = logstream::runs_dir()
        .ok_or_else(|| anyhow!("no data folder for run logs (set TRAINSCOPE_RUNS_DIR)"))?;
    logstream::list_runs(&dir)
        .pop()
        .ok_or_else(|| anyhow!("no run logs in {}", dir.display()))
}

/// A session from a bundle, or from a run log (a streamed `.jsonl` or a whole `runlog.json`).
/// A headless run's log comes with the metrics of the `metrics.csv` beside it, up to the
/// steps the log recorded (every raw point); a window's log has no metrics. The second value
/// says whether the metrics are raw points (rather than the window's decimated history).
pub fn open_any(path: &Path) -> Result<(crate::bundle::Session, bool)> {
    let head = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&head).ok().filter(|t| {
        !head.starts_with(&[0x1f, 0x8b]) && (logstream::is_stream(t) || t.starts_with('{'))
    });
    if text.is_none() {
        return Ok((crate::bundle::open(path)?, false));
    }
    let (log, info) = logstream::read_file(path)?;
    if !info.ended {
        eprintln!(
            "note: {} has no end line: its run crashed or is still going; it holds {} steps \
             and {} inputs{}",
            path.display(),
            log.steps,
            log.events.len(),
            if info.partial_tail {
                " (a half-written last line was dropped)"
            } else {
                ""
            }
        );
    }
    let csv = path.with_file_name("metrics.csv");
    let mut curves = Curves::default();
    let beside = path.file_name().is_some_and(|n| n == RUNLOG_FILE) && csv.exists();
    if beside {
        let text =
            std::fs::read_to_string(&csv).with_context(|| format!("reading {}", csv.display()))?;
        curves = Curves::from_csv(&text).map_err(|e| anyhow!("{}: {e}", csv.display()))?;
        let steps = log.steps as f64;
        for (_, points) in &mut curves.series {
            points.retain(|p| p[0] <= steps);
        }
        curves.series.retain(|(_, p)| !p.is_empty());
    }
    Ok((
        crate::bundle::Session::new(log, curves, String::new()),
        beside,
    ))
}

/// `trainscope open FILE --print`: what a bundle or a run log holds.
pub fn describe(args: &OpenArgs) -> Result<()> {
    let path = args.path()?;
    let (s, _) = open_any(&path)?;
    println!("{}", path.display());
    println!(
        "session of preset {} (lab {}), seed {}, backend {}",
        s.log.preset, s.log.lab, s.log.seed, s.log.backend
    );
    println!(
        "{} steps, {} logged inputs:",
        s.log.steps,
        s.log.events.len()
    );
    for e in &s.log.events {
        println!(
            "  step {:>6}: {:?}{}",
            e.step,
            e.kind,
            if e.ok { "" } else { " (refused)" }
        );
    }
    println!("latest values:");
    for (n, v) in s.curves.last_values() {
        println!("  {n:<28} {v:.6}");
    }
    if !s.notes.trim().is_empty() {
        println!("notes:\n{}", s.notes.trim_end());
    }
    Ok(())
}

/// Arguments of `trainscope replay`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// A session bundle (`.trainscope`) or a run log (`runlog.jsonl`; `--check` compares it
    /// with the `metrics.csv` beside it).
    pub bundle: PathBuf,
    /// Compare every metric with the bundle's and exit non-zero at the first difference.
    #[arg(long)]
    pub check: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `trainscope replay BUNDLE [--check]`: re-executes the bundle's log headless on the CPU
/// backend; with `--check`, fails naming the first series and step that differ.
pub fn replay(args: &ReplayArgs) -> Result<()> {
    let (s, raw) = open_any(&args.bundle)?;
    if args.check && s.curves.series.is_empty() {
        bail!(
            "{} holds no recorded metrics to check against (a window's run log has none; a \
             headless run's runlog.jsonl is checked against the metrics.csv beside it)",
            args.bundle.display()
        );
    }
    let backend = Backend::cpu();
    if s.log.backend != backend.name {
        eprintln!(
            "note: the run used backend {}; replaying on {} (exact only between CPU runs)",
            s.log.backend, backend.name
        );
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b =
            ProgressBar::with_draw_target(Some(s.log.steps), ProgressDrawTarget::stderr_with_hz(5));
        b.set_style(
            ProgressStyle::with_template(
                "replaying {bar:30.cyan/blue} {pos}/{len} steps  ETA {eta}",
            )
            .map_err(|e| anyhow!("progress template: {e}"))?,
        );
        b
    };
    let t0 = Instant::now();
    let mut progress = |step| {
        bar.set_position(step);
        true
    };
    let r = if raw {
        // A headless run's metrics.csv holds every point: replay without decimating.
        let preset = s.log.preset()?;
        let lab = guarded("building the lab", || preset.build(&backend.device))?;
        let mut r = trainscope_engine::runlog::Replay::new(lab, usize::MAX);
        r.run_to(&s.log.events, s.log.steps, &mut progress)
            .map(|()| r)
    } else {
        trainscope_engine::runlog::replay(&s.log, &backend.device, &mut progress)
    }
    .map_err(|e| anyhow!("replaying {}: {e}", args.bundle.display()))?;
    bar.finish_and_clear();
    let replayed = Curves::of(&r.series);
    eprintln!(
        "replayed {} steps and {} inputs in {:.1} s",
        s.log.steps,
        s.log.events.len(),
        t0.elapsed().as_secs_f64()
    );
    if args.check {
        if let Some(d) = s.curves.first_difference(&replayed) {
            bail!("replay check failed: {d}");
        }
        let points: usize = s.curves.series.iter().map(|(_, p)| p.len()).sum();
        println!(
            "replay check passed: {} series, {points} points and {} markers identical",
            s.curves.series.len(),
            s.curves.markers.len()
        );
    } else {
        for (n, v) in replayed.last_values() {
            println!("{n:<28} {v:.6}");
        }
    }
    Ok(())
}

/// Arguments of `trainscope lesson`.
#[derive(clap::Args, Debug, Clone)]
pub struct LessonArgs {
    /// A lesson file, or the name of a built-in lesson (`presets/lessons/`).
    pub lesson: String,
    /// Override a setting of the lesson's preset (as for `run`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Shrink the preset with its lab's tiny test settings and squeeze the cards' steps so
    /// the last is at most this step (for CI).
    #[arg(long, value_name = "STEPS")]
    pub tiny: Option<u64>,
}

/// The latest value of each named series, as `name=value` words.
fn values_line(curves: &trainscope_engine::SeriesStore, names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|n| {
            curves
                .get(n)
                .and_then(|s| s.last())
                .map(|p| format!("{n}={:.4}", p[1]))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// `trainscope lesson FILE`: plays a lesson headless and prints each card with the metrics
/// at that point (the card's `look` series and the lab's headline metrics).
pub fn lesson(args: &LessonArgs) -> Result<()> {
    use trainscope_engine::lesson::Lesson;
    let mut lesson = Lesson::resolve(&args.lesson)?;
    let entry = lesson.preset.entry()?;
    if let Some(last) = args.tiny {
        for s in entry.tiny {
            lesson.preset.apply_set(s)?;
        }
        lesson.fit(last);
    }
    for s in &args.set {
        lesson.preset.apply_set(s)?;
    }
    let headline = (entry.headline)(&lesson.preset.config);
    println!("# {}\n", lesson.title);
    println!("{}\n", lesson.summary);
    println!("preset: {} ({})", lesson.preset.name, lesson.preset.title);
    let n = lesson.cards.len();
    let device = Backend::cpu().device;
    let t0 = Instant::now();
    let log = lesson.play(&device, &mut |c| {
        println!(
            "\n## Card {}/{n} at step {}: {}\n",
            c.index + 1,
            c.run.step,
            c.card.title
        );
        println!("{}", c.card.text.trim_end());
        for (k, v) in &c.card.knobs {
            println!("- knob: {k} = {v}");
        }
        if !c.card.race.is_empty() {
            let changes: Vec<String> = c
                .card
                .race
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("- race: run B branches here with {}", changes.join(", "));
        }
        if let Some(q) = &c.card.question {
            println!("- pause. Question: {q}");
        }
        let mut names: Vec<&str> = c.card.look.iter().map(String::as_str).collect();
        for h in &headline {
            if !names.contains(h) {
                names.push(h);
            }
        }
        println!("- metrics (run A): {}", values_line(&c.run.series, &names));
        if let Some(b) = c.branch {
            println!("- metrics (run B): {}", values_line(&b.series, &names));
        }
    })?;
    eprintln!(
        "\nplayed {n} cards to step {} in {:.1} s ({} logged inputs)",
        log.steps,
        t0.elapsed().as_secs_f64(),
        log.events.len()
    );
    Ok(())
}
