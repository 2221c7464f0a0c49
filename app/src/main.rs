//! `trainscope`: the desktop lab (no arguments) and its headless command line.

use trainscope::{cli, gui, race};

use clap::{Parser, Subcommand};
use trainscope_engine::BackendChoice;

/// Watch research models train live, or run their presets headless.
#[derive(Parser, Debug)]
#[command(name = "trainscope", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the labs and the presets.
    List,
    /// Run a preset headless, writing metrics.csv and summary.json.
    Run(cli::RunArgs),
    /// Run a preset twice side by side on the same seed, B with settings changed, and compare.
    Race(race::RaceArgs),
    /// Ask the Sparrow agent one question headless (prints its search and evidence).
    Ask(cli::AskArgs),
    /// Measure training speed of a preset (steps per second, no evaluation).
    Bench(cli::BenchArgs),
    /// Play a lesson headless, printing each card with the metrics at that point.
    Lesson(cli::LessonArgs),
    /// Open a session bundle or a run log in the window (re-executing the log), or describe it
    /// (`--print`); `--last` takes the newest log the window wrote (after a crash).
    Open(cli::OpenArgs),
    /// Re-execute a session bundle or run log headless; `--check` fails naming the first
    /// difference.
    Replay(cli::ReplayArgs),
    /// Open the GUI (the default).
    Gui {
        /// Preset to open first (a file or a built-in name).
        preset: Option<String>,
        /// Backend to start on.
        #[arg(long, default_value = "cpu")]
        backend: BackendChoice,
        /// Start training right away (for demos and screenshots).
        #[arg(long)]
        play: bool,
        /// Start a race at launch: run B changes this setting (repeatable), e.g. `--race lr=0.01`.
        #[arg(long = "race", value_name = "KEY=VALUE")]
        race: Vec<String>,
        /// With `--race`: branch run B from this step of run A (knob changes only) instead of
        /// starting it from step 0.
        #[arg(long, value_name = "STEP")]
        branch_at: Option<u64>,
        /// Play a lesson (a file or built-in name from presets/lessons/).
        #[arg(long)]
        lesson: Option<String>,
        /// Write the window's frame times (p50_ms, p99_ms) to this JSON file every second and
        /// show them in an overlay (F12 toggles it).
        #[arg(long, value_name = "FILE")]
        frame_stats: Option<std::path::PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.command {
        None => gui::run(None, BackendChoice::Cpu, gui::Launch::default()),
        Some(Cmd::Gui {
            preset,
            backend,
            play,
            race,
            branch_at,
            lesson,
            frame_stats,
        }) => gui::run(
            preset,
            backend,
            gui::Launch {
                play,
                race,
                branch_at,
                lesson,
                session: None,
                frame_stats,
            },
        ),
        Some(Cmd::List) => cli::list(),
        Some(Cmd::Run(a)) => cli::run(&a).map(|_| ()),
        Some(Cmd::Bench(a)) => cli::bench(&a),
        Some(Cmd::Race(a)) => race::race(&a).map(|_| ()),
        Some(Cmd::Ask(a)) => cli::ask(&a),
        Some(Cmd::Open(a)) if a.print => cli::describe(&a),
        Some(Cmd::Open(a)) => a.path().and_then(|p| gui::open_session(&p)),
        Some(Cmd::Replay(a)) => cli::replay(&a),
        Some(Cmd::Lesson(a)) => cli::lesson(&a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
