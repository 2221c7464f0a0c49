//! The run log written as it happens: a JSON-lines file that a crash cannot take away.
//!
//! [`crate::runlog::RunLog`] is the log in memory; [`LogStream`] appends it to a file while the
//! run goes, one JSON object per line, each line written with a single `write` call and
//! flushed to the operating system at once (input lines are also synced to disk):
//!
//! ```text
//! {"line":"header","format":1,"preset":"ff-mnist-quick","lab":"ff","seed":1,"preset_toml":"…","backend":"cpu"}
//! {"line":"event","step":120,"event":"knob","name":"lr","value":0.01}
//! {"line":"steps","steps":431}
//! {"line":"rewind","to":200}
//! {"line":"reset"}
//! {"line":"end","steps":3000}
//! ```
//!
//! The header (and, for a reopened session, the events it starts from) is written to a
//! temporary file in the same folder and renamed into place, so the file never exists without
//! its header. Lines are only ever appended: a rewind or a reset is a line of its own, applied
//! by the reader ([`read`]) as the runner applied it. `steps` lines say how far the run got;
//! the runner writes one at most every [`STEPS_EVERY`] while it runs, and whenever it goes idle.
//! A run that ended normally has an `end` line; without one the run crashed or is still going,
//! and the log replays to the last step it recorded (a half-written last line is dropped).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::error::LabError;
use crate::runlog::{Event, LOG_FORMAT, RunLog};

/// Longest time between two `steps` lines while a run steps.
pub const STEPS_EVERY: Duration = Duration::from_secs(1);

/// The file extension of streamed run logs.
pub const EXTENSION: &str = "jsonl";

fn io_err(what: &str, path: &Path, e: std::io::Error) -> LabError {
    LabError::Io {
        context: format!("{what} {}", path.display()),
        source: e,
    }
}

/// An open streamed run log.
pub struct LogStream {
    path: PathBuf,
    file: File,
    /// The step count last written.
    steps: u64,
    last_steps_at: Instant,
}

impl LogStream {
    /// Creates (or replaces) `path` with `log`'s header, events and step count, atomically,
    /// and opens it for appending.
    pub fn create(path: &Path, log: &RunLog) -> Result<LogStream, LabError> {
        let mut text = line(header(log));
        for e in &log.events {
            text.push_str(&line(event(e)));
        }
        if log.steps > 0 {
            text.push_str(&line(json!({"line": "steps", "steps": log.steps})));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err("creating", dir, e))?;
        }
        let name = path
            .file_name()
            .map_or("runlog".into(), |n| n.to_string_lossy());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err("writing", path, e));
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_err("opening", path, e))?;
        Ok(LogStream {
            path: path.to_path_buf(),
            file,
            steps: log.steps,
            last_steps_at: Instant::now(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&mut self, value: Value, sync: bool) -> Result<(), LabError> {
        let text = line(value);
        let r = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        r.map_err(|e| io_err("appending to", &self.path, e))
    }

    /// Appends an input (the reader takes its step as a step count reached).
    pub fn event(&mut self, e: &Event) -> Result<(), LabError> {
        self.steps = self.steps.max(e.step);
        self.append(event(e), true)
    }

    /// Appends a `steps` line if the count moved on and `force` or [`STEPS_EVERY`] has passed.
    pub fn steps(&mut self, steps: u64, force: bool) -> Result<(), LabError> {
        if steps == self.steps || (!force && self.last_steps_at.elapsed() < STEPS_EVERY) {
            return Ok(());
        }
        self.last_steps_at = Instant::now();
        self.steps = steps;
        self.append(json!({"line": "steps", "steps": steps}), false)
    }

    /// Appends a rewind to step `k` (the reader drops the events after it).
    pub fn rewind(&mut self, k: u64) -> Result<(), LabError> {
        self.steps = k;
        self.append(json!({"line": "rewind", "to": k}), true)
    }

    /// Appends a reset (the reader forgets every event and step before it).
    pub fn reset(&mut self) -> Result<(), LabError> {
        self.steps = 0;
        self.append(json!({"line": "reset"}), true)
    }

    /// Appends the `end` line of a run that stopped normally at `steps`.
    pub fn end(&mut self, steps: u64) -> Result<(), LabError> {
        self.steps = steps;
        self.append(json!({"line": "end", "steps": steps}), true)
    }
}

fn line(v: Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

fn tagged(tag: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert("line".into(), tag.into());
    if let Value::Object(o) = v {
        m.extend(o);
    }
    Value::Object(m)
}

fn header(log: &RunLog) -> Value {
    let mut h = log.clone();
    h.events.clear();
    h.steps = 0;
    h.format = LOG_FORMAT;
    let mut v = tagged("header", serde_json::to_value(&h).unwrap_or(Value::Null));
    if let Value::Object(o) = &mut v {
        o.remove("events");
        o.remove("steps");
    }
    v
}

fn event(e: &Event) -> Value {
    tagged("event", serde_json::to_value(e).unwrap_or(Value::Null))
}

/// What [`read`] found besides the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadInfo {
    /// The run stopped normally (an `end` line).
    pub ended: bool,
    /// A half-written last line was dropped (the writer stopped in the middle of it).
    pub partial_tail: bool,
}

/// Reads a streamed log (see the module docs); errors name the line.
pub fn read(text: &str) -> Result<(RunLog, ReadInfo), LabError> {
    let bad = |n: usize, m: String| LabError::Preset(format!("run log line {n}: {m}"));
    let lines: Vec<&str> = text.lines().collect();
    let mut log: Option<RunLog> = None;
    let mut info = ReadInfo {
        ended: false,
        partial_tail: false,
    };
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut v: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            // Only the last line can be cut short by a crash.
            Err(_) if n == lines.len() && !text.ends_with('\n') => {
                info.partial_tail = true;
                break;
            }
            Err(e) => return Err(bad(n, e.to_string())),
        };
        let tag = v
            .as_object_mut()
            .and_then(|o| o.remove("line"))
            .and_then(|t| t.as_str().map(str::to_string))
            .ok_or_else(|| bad(n, "no `line` kind".into()))?;
        let num = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(n, format!("`{tag}` needs a whole number `{key}`")))
        };
        if tag == "header" {
            let format = v.get("format").and_then(Value::as_u64).unwrap_or(0);
            if format > u64::from(LOG_FORMAT) {
                return Err(bad(
                    n,
                    format!(
                        "format {format} is newer than this Trainscope reads ({LOG_FORMAT}); \
                         update it"
                    ),
                ));
            }
            if let Value::Object(o) = &mut v {
                o.insert("events".into(), Value::Array(Vec::new()));
                o.insert("steps".into(), 0.into());
            }
            log = Some(serde_json::from_value(v).map_err(|e| bad(n, e.to_string()))?);
            continue;
        }
        let Some(l) = log.as_mut() else {
            return Err(bad(n, "the log does not start with its header line".into()));
        };
        match tag.as_str() {
            "event" => {
                let e: Event = serde_json::from_value(v).map_err(|e| bad(n, e.to_string()))?;
                l.steps = l.steps.max(e.step);
                l.events.push(e);
            }
            "steps" => l.steps = num(&v, "steps")?,
            "rewind" => l.truncate(num(&v, "to")?),
            "reset" => {
                l.events.clear();
                l.steps = 0;
            }
            "end" => {
                l.steps = num(&v, "steps")?;
                info.ended = true;
            }
            other => return Err(bad(n, format!("unknown line kind `{other}`"))),
        }
    }
    let log = log.ok_or_else(|| bad(1, "empty run log".into()))?;
    Ok((log, info))
}

/// Whether `text` looks like a streamed log (its first line is a header line).
pub fn is_stream(text: &str) -> bool {
    text.lines()
        .next()
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .is_some_and(|v| v.get("line").and_then(Value::as_str) == Some("header"))
}

/// Reads a run log file: a streamed log, or a whole log as `runlog.json` in bundles holds it.
pub fn read_file(path: &Path) -> Result<(RunLog, ReadInfo), LabError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err("reading", path, e))?;
    let named = |e: LabError| LabError::Preset(format!("{}: {e}", path.display()));
    if is_stream(&text) {
        read(&text).map_err(named)
    } else {
        let log = RunLog::from_json(&text).map_err(named)?;
        Ok((
            log,
            ReadInfo {
                ended: true,
                partial_tail: false,
            },
        ))
    }
}

/// `name` with every character other than ASCII letters, digits, `-` and `_` replaced by `_`:
/// safe as (part of) a file name on every platform.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where the window streams its run logs: `$TRAINSCOPE_RUNS_DIR` when set, else `runs/` in
/// the user's data folder (`$XDG_DATA_HOME/trainscope`, by default
/// `~/.local/share/trainscope`; `~/Library/Application Support/trainscope` on macOS;
/// `%APPDATA%\trainscope` on Windows).
pub fn runs_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TRAINSCOPE_RUNS_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    };
    let data = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local").join("share")))
    };
    data.map(|d| d.join("trainscope").join("runs"))
}

/// Most logs kept in [`runs_dir`]; [`new_run_path`] removes the oldest beyond it.
pub const KEEP_RUNS: usize = 30;

/// A fresh file name in `dir` for a run of `preset` (`<UTC time>-<n>-<preset>.jsonl`), after
/// removing all but the newest [`KEEP_RUNS`] - 1 logs there.
pub fn new_run_path(dir: &Path, preset: &str) -> PathBuf {
    let mut logs = list_runs(dir);
    while logs.len() >= KEEP_RUNS {
        let old = logs.remove(0);
        let _ = std::fs::remove_file(old);
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let safe = file_safe(preset);
    // A counter keeps two runs opened in the same second (by one process) apart and in order.
    static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1000;
    let stem = format!("{}-{n:03}-{safe}", utc_stamp(secs));
    let mut path = dir.join(format!("{stem}.{EXTENSION}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.{EXTENSION}"));
        n += 1;
    }
    path
}

/// The streamed logs in `dir`, oldest first (their names start with the UTC time).
pub fn list_runs(dir: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == EXTENSION)
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    logs.sort();
    logs
}

/// `YYYYMMDD-HHMMSS` of a Unix time, in UTC.
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::KnobValue;
    use crate::runlog::EventKind;

    fn header_log() -> RunLog {
        RunLog {
            format: LOG_FORMAT,
            preset: "x".into(),
            lab: "toy".into(),
            seed: 3,
            preset_toml: "lab = \"toy\"\n".into(),
            backend: "cpu".into(),
            events: Vec::new(),
            steps: 0,
        }
    }

    #[test]
    fn a_streamed_log_reads_back_with_rewinds_resets_and_a_cut_tail() {
        let dir = std::env::temp_dir().join(format!("ts-logstream-{}", std::process::id()));
        let path = dir.join("a.jsonl");
        let mut s = LogStream::create(&path, &header_log()).expect("create");
        let knob = |step, v| Event {
            step,
            kind: EventKind::Knob {
                name: "lr".into(),
                value: KnobValue::Float(v),
            },
            ok: true,
        };
        s.event(&knob(2, 0.5)).expect("event");
        s.steps(4, false).expect("throttled");
        s.steps(5, true).expect("steps");
        s.event(&knob(7, 0.25)).expect("event");
        s.rewind(6).expect("rewind");
        s.event(&knob(6, 0.125)).expect("event");
        s.steps(9, true).expect("steps");
        let text = std::fs::read_to_string(&path).expect("read");
        let (log, info) = read(&text).expect("parses");
        assert_eq!(log.steps, 9);
        assert_eq!(log.events, vec![knob(2, 0.5), knob(6, 0.125)]);
        assert!(!info.ended && !info.partial_tail);
        assert_eq!(log.preset_toml, header_log().preset_toml);
        // A crash in the middle of a line loses that line only.
        let cut = format!("{text}{{\"line\":\"ev");
        let (log2, info2) = read(&cut).expect("cut tail is dropped");
        assert_eq!(log2, log);
        assert!(info2.partial_tail);
        // A damaged line in the middle is an error naming it.
        let broken = text.replacen("\"steps\":5", "\"steps\":", 1);
        let e = read(&broken).expect_err("damaged").to_string();
        assert!(e.contains("line 3"), "{e}");
        s.reset().expect("reset");
        s.end(3).expect("end");
        let (log3, info3) = read_file(&path).expect("reads");
        assert!(log3.events.is_empty() && log3.steps == 3 && info3.ended);
        // Reopening a session writes the header and its events atomically.
        let again = LogStream::create(&path, &log).expect("recreate");
        drop(again);
        assert_eq!(read_file(&path).expect("reads").0, log);
        let newer = std::fs::read_to_string(&path).expect("read").replacen(
            "\"format\":1",
            "\"format\":9",
            1,
        );
        let e = read(&newer).expect_err("newer").to_string();
        assert!(e.contains("newer"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn run_paths_are_dated_and_the_oldest_logs_go() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_780_000_000), "20260528-202640");
        let dir = std::env::temp_dir().join(format!("ts-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for i in 0..KEEP_RUNS + 3 {
            std::fs::write(dir.join(format!("2000{i:04}-x.jsonl")), "").expect("write");
        }
        let p = new_run_path(&dir, "ff mnist/quick");
        assert!(
            p.to_string_lossy().ends_with("-ff_mnist_quick.jsonl"),
            "{p:?}"
        );
        assert_eq!(list_runs(&dir).len(), KEEP_RUNS - 1);
        assert!(!dir.join("20000000-x.jsonl").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
