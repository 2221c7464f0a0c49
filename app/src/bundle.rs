//! Session bundles: one file (a gzipped tar) a teacher can hand out and a student can hand
//! back, holding a run's log, its metrics as CSV, `summary.json`, the figures as SVG and PNG,
//! the preset and the user's notes, under a manifest with a format version and a CRC-32 of every
//! file. Opening re-executes the log, so the run comes back exactly (on the CPU backend);
//! `trainscope replay BUNDLE --check` compares the re-execution with the stored metrics.
//!
//! Writes are atomic (a temporary file in the same folder, then a rename), so a crash never
//! leaves half a bundle under the name. A truncated, edited or newer-format bundle is refused
//! with a message that says which, before anything is replaced.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use trainscope_engine::{Curves, RunLog, labs};

use crate::figure::Figure;

/// The bundle format this build writes and reads.
pub const FORMAT: u32 = 1;
/// What the manifest's `kind` says.
pub const KIND: &str = "trainscope-session";
/// The file extension bundles get.
pub const EXTENSION: &str = "trainscope";
/// Largest bundle member read (a guard against a hostile file).
const MAX_MEMBER: u64 = 256 << 20;

/// One file in a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its path inside the bundle.
    pub name: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// Its CRC-32.
    pub crc32: u32,
}

/// `manifest.json`: what the bundle is and holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`KIND`].
    pub kind: String,
    /// [`FORMAT`] of the writer.
    pub format: u32,
    /// The Trainscope version that wrote it.
    pub written_by: String,
    /// The preset's name.
    pub preset: String,
    /// The lab id.
    pub lab: String,
    /// Steps the run had taken.
    pub steps: u64,
    /// Every other file, with its checksum.
    pub files: Vec<Member>,
}

/// What a bundle carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The run log (preset, effective config, backend, inputs).
    pub log: RunLog,
    /// The metric history as the app held it.
    pub curves: Curves,
    /// `summary.json`.
    pub summary: serde_json::Value,
    /// The user's notes (Markdown).
    pub notes: String,
}

impl Session {
    /// A session of a run with its log and history; the summary is built from them.
    pub fn new(log: RunLog, curves: Curves, notes: String) -> Session {
        let summary = summary(&log, &curves);
        Session {
            log,
            curves,
            summary,
            notes,
        }
    }

    /// The series the bundle draws as figures: the lab's headline metrics that the run has.
    pub fn figure_series(&self) -> Vec<String> {
        let headline = self
            .log
            .preset()
            .ok()
            .and_then(|p| labs::find(&p.lab).map(|e| (e.headline)(&p.config)))
            .unwrap_or_default();
        let mut out: Vec<String> = headline
            .iter()
            .filter(|h| self.curves.get(h).is_some_and(|p| p.len() > 1))
            .map(|h| h.to_string())
            .collect();
        if out.is_empty() {
            out.extend(
                self.curves
                    .series
                    .iter()
                    .filter(|(_, p)| p.len() > 1)
                    .take(1)
                    .map(|(n, _)| n.clone()),
            );
        }
        out
    }
}

/// `summary.json` of a session: the run's description and every series' latest value.
pub fn summary(log: &RunLog, curves: &Curves) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("preset".into(), log.preset.clone().into());
    m.insert("lab".into(), log.lab.clone().into());
    m.insert("seed".into(), log.seed.into());
    m.insert("backend".into(), log.backend.clone().into());
    m.insert("steps".into(), log.steps.into());
    m.insert("events".into(), log.events.len().into());
    if let Ok(p) = log.preset() {
        m.insert("title".into(), p.title.clone().into());
        if let Ok(c) = serde_json::to_value(&p.config) {
            m.insert("config".into(), c);
        }
    }
    for (name, value) in curves.last_values() {
        let key = if m.contains_key(&name) {
            format!("metric_{name}")
        } else {
            name
        };
        m.insert(
            key,
            serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, Into::into),
        );
    }
    serde_json::Value::Object(m)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> Result<()> {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("moving the new file into place at {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The bundle's files, manifest first, as `(name, bytes)`.
pub fn members(session: &Session) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("runlog.json".into(), session.log.to_json()?.into_bytes()),
        ("metrics.csv".into(), session.curves.to_csv().into_bytes()),
        (
            "summary.json".into(),
            (serde_json::to_string_pretty(&session.summary)? + "\n").into_bytes(),
        ),
        (
            "preset.toml".into(),
            session.log.preset_toml.clone().into_bytes(),
        ),
        ("notes.md".into(), session.notes.clone().into_bytes()),
    ];
    let title = session
        .log
        .preset()
        .map(|p| p.title)
        .unwrap_or_else(|_| session.log.preset.clone());
    for name in session.figure_series() {
        let fig = Figure::of(&session.curves, std::slice::from_ref(&name), &title);
        let safe = trainscope_engine::logstream::file_safe(&name);
        files.push((format!("figures/{safe}.svg"), fig.svg()?.into_bytes()));
        files.push((format!("figures/{safe}.png"), fig.png()?));
    }
    let manifest = Manifest {
        kind: KIND.into(),
        format: FORMAT,
        written_by: format!("trainscope {}", env!("CARGO_PKG_VERSION")),
        preset: session.log.preset.clone(),
        lab: session.log.lab.clone(),
        steps: session.log.steps,
        files: files
            .iter()
            .map(|(n, b)| Member {
                name: n.clone(),
                bytes: b.len() as u64,
                crc32: crc32fast::hash(b),
            })
            .collect(),
    };
    let mut all = vec![(
        "manifest.json".to_string(),
        (serde_json::to_string_pretty(&manifest)? + "\n").into_bytes(),
    )];
    all.extend(files);
    Ok(all)
}

/// Writes a session bundle to `path` (atomically).
pub fn save(path: &Path, session: &Session) -> Result<()> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in members(session)? {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, &name, bytes.as_slice())
            .with_context(|| format!("packing {name}"))?;
    }
    let bytes = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .context("packing the bundle")?;
    write_atomic(path, &bytes)
}

/// Reads and checks a bundle: the manifest's kind and format, every listed file present with
/// its checksum, and the log and metrics parse. Errors say what is wrong in words.
pub fn open(path: &Path) -> Result<Session> {
    let shown = path.display().to_string();
    let raw = std::fs::read(path).with_context(|| format!("reading {shown}"))?;
    let files = unpack(&raw).map_err(|e| {
        anyhow!("{shown} is not a readable Trainscope session bundle ({e}); is it truncated?")
    })?;
    let manifest: Manifest = files
        .get("manifest.json")
        .ok_or_else(|| anyhow!("{shown}: no manifest.json, so not a Trainscope session bundle"))
        .and_then(|m| {
            serde_json::from_slice(m).map_err(|e| anyhow!("{shown}: manifest.json: {e}"))
        })?;
    if manifest.kind != KIND {
        bail!("{shown}: a `{}`, not a Trainscope session", manifest.kind);
    }
    if manifest.format > FORMAT {
        bail!(
            "{shown} was written by a newer Trainscope ({}, bundle format {}); this one reads \
             format {FORMAT}: update Trainscope to open it",
            manifest.written_by,
            manifest.format
        );
    }
    for m in &manifest.files {
        let bytes = files.get(&m.name).ok_or_else(|| {
            anyhow!(
                "{shown}: {} is listed but missing; the bundle is damaged",
                m.name
            )
        })?;
        if bytes.len() as u64 != m.bytes || crc32fast::hash(bytes) != m.crc32 {
            bail!(
                "{shown}: {} does not match its checksum; the bundle is damaged or was edited",
                m.name
            );
        }
    }
    let text = |name: &str| -> Result<String> {
        let b = files
            .get(name)
            .ok_or_else(|| anyhow!("{shown}: no {name} in the bundle"))?;
        String::from_utf8(b.clone()).map_err(|_| anyhow!("{shown}: {name} is not UTF-8 text"))
    };
    let log = RunLog::from_json(&text("runlog.json")?).map_err(|e| anyhow!("{shown}: {e}"))?;
    let curves = Curves::from_csv(&text("metrics.csv")?).map_err(|e| anyhow!("{shown}: {e}"))?;
    let summary = serde_json::from_str(&text("summary.json")?)
        .map_err(|e| anyhow!("{shown}: summary.json: {e}"))?;
    let notes = text("notes.md").unwrap_or_default();
    Ok(Session {
        log,
        curves,
        summary,
        notes,
    })
}

fn unpack(raw: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(raw));
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if entry.size() > MAX_MEMBER {
            bail!("{name} is implausibly large");
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.take(MAX_MEMBER).read_to_end(&mut bytes)?;
        out.insert(name, bytes);
    }
    if out.is_empty() {
        bail!("it holds no files");
    }
    Ok(out)
}
