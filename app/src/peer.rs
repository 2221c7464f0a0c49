//! `trainscope bench PRESET --peer`: the Forward-Forward step raced against the same step written
//! in PyTorch and in NumPy (`scripts/bench_peer.py`), in rounds on the same machine whose order
//! rotates, so that all see the same load. Each peer is a long-lived child process: it loads the
//! data once, trains on through the rounds like the lab does, and answers each `N` on its stdin
//! with its rate.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use trainscope_engine::Preset;
use trainscope_engine::labs::ff::{FfConfig, Goodness, Mode, Negatives};

/// The peer process.
pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What the peer said it runs, e.g. `pytorch 2.15.0` or `numpy 2.4.6`.
    pub name: String,
}

/// Where the peer script is: beside the sources this binary was built from, else `scripts/`.
fn script() -> PathBuf {
    let built = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/bench_peer.py"
    ));
    if built.exists() {
        built
    } else {
        PathBuf::from("scripts/bench_peer.py")
    }
}

impl Peer {
    /// Starts the peer written with `library` (`torch` or `numpy`; the script falls back to
    /// NumPy, and says so, when torch cannot be had) for `preset`, which must be a supervised
    /// `ff` preset of the kind the peer implements (sum goodness, uniform negatives, no jitter,
    /// no one-pass readout).
    pub fn spawn(preset: &Preset, library: &str) -> Result<Peer> {
        let cfg: FfConfig =
            crate::cli::lab_config(preset, "ff", "--peer needs a Forward-Forward preset")?;
        if cfg.mode != Mode::Supervised
            || cfg.goodness != Goodness::Sum
            || cfg.negatives != Negatives::Uniform
            || cfg.jitter != 0
            || cfg.one_pass
            || !cfg.normalize_input
            || !cfg.normalize_layers
            || cfg.straight_through
        {
            bail!(
                "the peer implements supervised FF with sum goodness, uniform negatives, \
                 normalised input and layers, no jitter and no one-pass readout; `{}` differs",
                preset.name
            );
        }
        let layers: Vec<String> = cfg.layers.iter().map(|w| w.to_string()).collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut cmd = Command::new("python3");
        cmd.arg(script())
            .arg("--serve")
            .args(["--peer", library])
            .args(["--layers", &layers.join(",")])
            .args(["--batch", &cfg.batch_size.to_string()])
            .args(["--threshold", &cfg.threshold.to_string()])
            .args(["--lr", &cfg.lr.to_string()])
            .args(["--bp-lr", &cfg.bp_lr.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--seed", &preset.seed.to_string()]);
        if !cfg.bp {
            cmd.arg("--no-bp");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting python3 scripts/bench_peer.py")?;
        let stdin = child.stdin.take().context("peer stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("peer stdout")?);
        let mut peer = Peer {
            child,
            stdin,
            stdout,
            name: String::new(),
        };
        let ready = peer.line()?;
        peer.name = ready
            .strip_prefix("ready ")
            .ok_or_else(|| anyhow!("the peer said `{ready}` instead of `ready`"))?
            .to_string();
        Ok(peer)
    }

    fn line(&mut self) -> Result<String> {
        let mut s = String::new();
        if self.stdout.read_line(&mut s)? == 0 {
            bail!("the peer exited early (see its messages above)");
        }
        Ok(s.trim().to_string())
    }

    /// The short name of the peer's library for the ratio line: `pytorch` from `pytorch 2.15.0`.
    pub fn library(&self) -> String {
        library(&self.name)
    }

    /// Runs `steps` steps in the peer and returns its rate in steps per second.
    pub fn rate(&mut self, steps: u64) -> Result<f64> {
        writeln!(self.stdin, "{steps}")?;
        self.stdin.flush()?;
        let answer = self.line()?;
        answer
            .strip_prefix("rate ")
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| anyhow!("the peer answered `{answer}`"))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "0");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// Min, median and max of `xs` (not empty).
fn spread(xs: &[f64]) -> (f64, f64, f64) {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    (s[0], mid, s[s.len() - 1])
}

/// The short name of the peer's library for the ratio line: `numpy` from `numpy 2.4.6`.
fn library(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or("peer")
        .to_lowercase()
}

/// Times `rounds` rounds of `steps` steps of `lab` and of each peer, rotating which goes first,
/// and prints each round, the spread of every rate and of the paired ratios, and for each peer a
/// line `ratio_vs_<library>=<median ratio>`.
pub fn race(
    peers: &mut [Peer],
    steps: u64,
    rounds: usize,
    mut step: impl FnMut() -> Result<()>,
) -> Result<()> {
    let mut ours = Vec::with_capacity(rounds);
    let mut theirs = vec![Vec::with_capacity(rounds); peers.len()];
    let mut time_ours = || -> Result<f64> {
        let t0 = Instant::now();
        for _ in 0..steps {
            step()?;
        }
        Ok(steps as f64 / t0.elapsed().as_secs_f64())
    };
    let runners = peers.len() + 1;
    for r in 0..rounds {
        // Runner 0 is trainscope, runner k the k-th peer; round r starts with runner r mod n.
        let mut ours_now = 0.0;
        for k in (0..runners).map(|k| (k + r) % runners) {
            if k == 0 {
                ours_now = time_ours()?;
            } else {
                let rate = peers[k - 1].rate(steps)?;
                theirs[k - 1].push(rate);
            }
        }
        ours.push(ours_now);
        let others: Vec<String> = peers
            .iter()
            .zip(&theirs)
            .filter_map(|(p, t)| t.last().map(|b| (p, b)))
            .map(|(p, b)| format!("{} {b:.1} steps/s (ratio {:.2})", p.name, ours_now / b))
            .collect();
        println!(
            "round {}: trainscope {ours_now:.1} steps/s, {}",
            r + 1,
            others.join(", ")
        );
    }
    let (lo, mid, hi) = spread(&ours);
    println!(
        "trainscope: min {lo:.1} / median {mid:.1} / max {hi:.1} steps/s ({rounds} rounds of {steps} steps)"
    );
    for (peer, rates) in peers.iter().zip(&theirs) {
        let (lo, mid, hi) = spread(rates);
        println!(
            "{}: min {lo:.1} / median {mid:.1} / max {hi:.1} steps/s",
            peer.name
        );
    }
    for (peer, rates) in peers.iter().zip(&theirs) {
        let ratios: Vec<f64> = ours.iter().zip(rates).map(|(a, b)| a / b).collect();
        let (lo, mid, hi) = spread(&ratios);
        println!(
            "paired ratio trainscope / {}: min {lo:.2} / median {mid:.2} / max {hi:.2}",
            peer.name
        );
    }
    for (peer, rates) in peers.iter().zip(&theirs) {
        let ratios: Vec<f64> = ours.iter().zip(rates).map(|(a, b)| a / b).collect();
        println!("ratio_vs_{}={:.3}", peer.library(), spread(&ratios).1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_and_library_names() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
        assert_eq!(library("numpy 2.4.6"), "numpy");
        assert_eq!(library("pytorch 2.15.0"), "pytorch");
    }
}
