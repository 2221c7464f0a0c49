//! TOML presets, shared by the GUI and the CLI.
//!
//! A preset names its lab and carries a title, a description, a seed, an optional step count,
//! and the lab's config table:
//!
//! ```toml
//! lab = "ff"
//! title = "Forward-Forward on MNIST, quick"
//! description = "..."
//! seed = 1
//!
//! [config]
//! layers = [500, 500]
//! ```
//!
//! Unknown keys and bad values are errors that name the file, the line and the key.

use std::path::Path;

use burn::tensor::Device;

use crate::error::LabError;
use crate::lab::DynLab;
use crate::labs::{self, LabEntry};

/// Presets compiled into the binary, so the app works from any folder: every
/// `presets/*.toml`, found by the build script (`engine/build.rs`), sorted by name.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// A parsed, validated preset.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Short name, e.g. `ff-mnist-quick` (the file stem).
    pub name: String,
    /// Where it came from (a path, or `built-in`), for messages.
    pub source: String,
    /// The lab id.
    pub lab: String,
    /// One-line title.
    pub title: String,
    /// What the preset shows and how long it takes.
    pub description: String,
    /// The seed; also present in `config` as `seed`.
    pub seed: u64,
    /// Steps a headless run takes unless `--steps` says otherwise; `None` means the lab's own
    /// planned length.
    pub steps: Option<u64>,
    /// The lab's full config table after defaults, including `seed`.
    pub config: toml::Table,
    /// The original text, used to point errors at lines.
    text: String,
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// The line where `key` is assigned, preferring the `[config]` table.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let mut table = String::new();
    let mut fallback = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        if k.trim().trim_matches('"') == key {
            if table == "config" {
                return Some(i + 1);
            }
            fallback.get_or_insert(i + 1);
        }
    }
    fallback
}

fn toml_error(source: &str, text: &str, e: &toml::de::Error) -> LabError {
    let at = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            format!("{source}:{l}:{c}")
        }
        None => source.to_string(),
    };
    LabError::Preset(format!("{at}: {}", e.message().trim_end()))
}

/// Parses a `--set` value as a TOML literal (`0.01`, `true`, `[500, 500]`, `"x"`); anything that
/// is not one is taken as a bare string. Lessons and the GUI's branch changes read values so too.
pub fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

impl Preset {
    /// Parses and validates preset text. `source` names it in errors (usually the path).
    pub fn parse(text: &str, name: &str, source: &str) -> Result<Preset, LabError> {
        let doc: toml::Table = text.parse().map_err(|e| toml_error(source, text, &e))?;
        let lab = match doc.get("lab") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(_) => {
                let l = key_line(text, "lab").unwrap_or(1);
                return Err(LabError::Preset(format!(
                    "{source}:{l}: `lab` must be a string"
                )));
            }
            None => {
                return Err(LabError::Preset(format!(
                    "{source}: missing `lab = \"...\"` (one of: {})",
                    lab_ids()
                )));
            }
        };
        let entry = labs::find(&lab).ok_or_else(|| {
            let l = key_line(text, "lab").unwrap_or(1);
            LabError::Preset(format!(
                "{source}:{l}: unknown lab `{lab}` (known: {})",
                lab_ids()
            ))
        })?;
        (entry.check_document)(text).map_err(|e| toml_error(source, text, &e))?;
        let get_str = |k: &str| {
            doc.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let seed = doc
            .get("seed")
            .and_then(|v| v.as_integer())
            .and_then(|s| u64::try_from(s).ok())
            .ok_or_else(|| {
                LabError::Preset(format!("{source}: `seed` must be a non-negative integer"))
            })?;
        let steps = doc
            .get("steps")
            .and_then(|v| v.as_integer())
            .map(|s| s.max(0) as u64);
        let mut config = match doc.get("config") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => toml::Table::new(),
        };
        if config.contains_key("seed") {
            let l = key_line(text, "seed").unwrap_or(1);
            return Err(LabError::Preset(format!(
                "{source}:{l}: put `seed` at the top level of the preset, not in [config]"
            )));
        }
        config.insert("seed".into(), toml::Value::Integer(seed as i64));
        let config = (entry.normalize)(config).map_err(|e| match &e {
            LabError::Config { key, .. } => {
                let l = key_line(text, key).map_or(String::new(), |l| format!("{l}:"));
                LabError::Preset(format!("{source}:{l} {e}"))
            }
            _ => LabError::Preset(format!("{source}: {e}")),
        })?;
        Ok(Preset {
            name: name.to_string(),
            source: source.to_string(),
            lab,
            title: get_str("title"),
            description: get_str("description"),
            seed,
            steps,
            config,
            text: text.to_string(),
        })
    }

    /// Reads a preset file.
    pub fn load(path: &Path) -> Result<Preset, LabError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LabError::Io {
            context: format!("reading preset {source}"),
            source: e,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.clone());
        Preset::parse(&text, &name, &source)
    }

    /// A path to a preset file, or the name of a built-in preset (with or without `.toml` or a
    /// `presets/` prefix).
    pub fn resolve(arg: &str) -> Result<Preset, LabError> {
        let path = Path::new(arg);
        if path.is_file() {
            return Preset::load(path);
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match BUILTIN.iter().find(|(n, _)| *n == stem) {
            Some((n, text)) => Preset::parse(text, n, &format!("presets/{n}.toml (built in)")),
            None => Err(LabError::Preset(format!(
                "no preset file `{arg}` and no built-in preset of that name (built in: {})",
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Every built-in preset, parsed.
    pub fn builtins() -> Result<Vec<Preset>, LabError> {
        BUILTIN
            .iter()
            .map(|(n, t)| Preset::parse(t, n, &format!("presets/{n}.toml (built in)")))
            .collect()
    }

    /// The registry entry of this preset's lab.
    pub fn entry(&self) -> Result<&'static LabEntry, LabError> {
        labs::find(&self.lab).ok_or_else(|| LabError::Preset(format!("unknown lab `{}`", self.lab)))
    }

    /// Applies one `key=value` override. `seed` and `steps` are top-level; any other key (with or
    /// without a `config.` prefix) is a config key, validated like the file. A lab whose config
    /// has its own `steps` (its training length, which sets its planned run length) takes
    /// `steps=N` there, and the run then lasts as long as the lab plans: setting only the
    /// run length would leave such a lab's schedule at the file's value and run idle steps
    /// past its end. (`--steps` on the command line still sets the run length alone.)
    pub fn apply_set(&mut self, assignment: &str) -> Result<(), LabError> {
        let (key, raw) = assignment
            .split_once('=')
            .ok_or_else(|| LabError::Preset(format!("--set {assignment}: expected key=value")))?;
        let key = key.trim();
        let key = key.strip_prefix("config.").unwrap_or(key);
        self.set_value(key, parse_value(raw.trim()))
            .map_err(|e| LabError::Preset(format!("--set {assignment}: {e}")))
    }

    /// Sets one key to a TOML value (see [`Preset::apply_set`]).
    pub fn set_value(&mut self, key: &str, value: toml::Value) -> Result<(), LabError> {
        match key {
            "steps" => {
                let n = value
                    .as_integer()
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| LabError::config("steps", "must be a non-negative integer"))?;
                if !self.config.contains_key("steps") {
                    self.steps = Some(n as u64);
                    return Ok(());
                }
                self.steps = None;
            }
            "seed" => {
                let s = value
                    .as_integer()
                    .filter(|&n| n >= 0)
                    .ok_or_else(|| LabError::config("seed", "must be a non-negative integer"))?;
                self.seed = s as u64;
            }
            _ => {}
        }
        if !self.config.contains_key(key) {
            return Err(LabError::config(
                key,
                format!(
                    "lab `{}` has no such setting (it has: {})",
                    self.lab,
                    self.config.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let mut config = self.config.clone();
        config.insert(key.to_string(), value);
        self.config = (self.entry()?.normalize)(config).map_err(|e| match e {
            LabError::Preset(m) => LabError::config(key, m),
            other => other,
        })?;
        Ok(())
    }

    /// The preset as TOML text, for saving (the config lists every key with its value).
    pub fn to_toml(&self) -> Result<String, LabError> {
        let mut doc = toml::Table::new();
        doc.insert("lab".into(), self.lab.clone().into());
        doc.insert("title".into(), self.title.clone().into());
        doc.insert("description".into(), self.description.clone().into());
        doc.insert("seed".into(), toml::Value::Integer(self.seed as i64));
        if let Some(s) = self.steps {
            doc.insert("steps".into(), toml::Value::Integer(s as i64));
        }
        let mut cfg = self.config.clone();
        cfg.remove("seed");
        doc.insert("config".into(), toml::Value::Table(cfg));
        toml::to_string(&doc).map_err(|e| LabError::Preset(e.to_string()))
    }

    /// The original text of the file this preset was read from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Builds the lab on `device`.
    pub fn build(&self, device: &Device) -> Result<Box<dyn DynLab>, LabError> {
        (self.entry()?.build)(self.config.clone(), device)
    }
}

fn lab_ids() -> String {
    labs::all()
        .iter()
        .map(|e| e.id)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "lab = \"ff\"\ntitle = \"t\"\nseed = 3\n\n[config]\nlayers = [20]\nlr = 0.01\n";

    #[test]
    fn parses_and_fills_defaults() {
        let p = Preset::parse(GOOD, "x", "x.toml").expect("valid preset");
        assert_eq!(p.seed, 3);
        assert_eq!(p.config.get("seed").and_then(|v| v.as_integer()), Some(3));
        assert_eq!(p.config.get("lr").and_then(|v| v.as_float()), Some(0.01));
        assert!(
            p.config.contains_key("batch_size"),
            "defaults are filled in"
        );
        let again = Preset::parse(&p.to_toml().expect("toml"), "x", "y").expect("round trip");
        assert_eq!(again.config, p.config);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let err = |t: &str| {
            Preset::parse(t, "x", "p.toml")
                .expect_err("must fail")
                .to_string()
        };
        let e = err(&GOOD.replace("lr = 0.01", "lrr = 0.01"));
        assert!(e.starts_with("p.toml:7:") && e.contains("lrr"), "{e}");
        let e = err(&GOOD.replace("lr = 0.01", "lr = \"fast\""));
        assert!(e.starts_with("p.toml:7:"), "{e}");
        let e = err(&GOOD.replace("lr = 0.01", "lr = 5.0"));
        assert!(e.starts_with("p.toml:7:") && e.contains("`lr`"), "{e}");
        let e = err(&GOOD.replace("lab = \"ff\"", "lab = \"nope\""));
        assert!(e.contains("p.toml:1") && e.contains("unknown lab"), "{e}");
        let e = err(&GOOD.replace("seed = 3", "seed = 3\ncolour = 2"));
        assert!(e.starts_with("p.toml:4:") && e.contains("colour"), "{e}");
        let e = err("lab = \"ff\"\ntitle = \n");
        assert!(e.starts_with("p.toml:2:"), "{e}");
        let e = err(&GOOD.replace("[config]", "[config]\nseed = 4"));
        assert!(e.contains("top level"), "{e}");
    }

    #[test]
    fn set_overrides_keys_and_rejects_bad_values() {
        let mut p = Preset::parse(GOOD, "x", "x.toml").expect("valid");
        p.apply_set("seed=9").expect("seed");
        assert_eq!(p.seed, 9);
        assert_eq!(p.config.get("seed").and_then(|v| v.as_integer()), Some(9));
        p.apply_set("layers=[30, 10]").expect("list");
        p.apply_set("config.lr=0.02").expect("prefixed");
        p.apply_set("steps=5").expect("steps");
        assert_eq!(p.steps, Some(5));
        for bad in [
            "lr=abc",
            "lr=2",
            "nope=1",
            "layers",
            "seed=-1",
            "batch_size=0",
        ] {
            let e = p.apply_set(bad).expect_err(bad).to_string();
            assert!(e.starts_with(&format!("--set {bad}")), "{e}");
        }
        let e = p.apply_set("nope=1").expect_err("unknown").to_string();
        assert!(e.contains("`nope`") && e.contains("no such setting"), "{e}");
    }

    #[test]
    fn steps_goes_to_the_config_of_a_lab_that_has_its_own() {
        let mut p = Preset::resolve("glom-quick").expect("built in");
        p.apply_set("steps=40").expect("steps");
        assert_eq!(p.steps, None, "the run follows the lab's planned length");
        assert_eq!(p.config.get("steps").and_then(|v| v.as_integer()), Some(40));
        let mut p = Preset::parse(GOOD, "x", "x.toml").expect("valid");
        assert!(!p.config.contains_key("steps"), "ff has no config steps");
        p.apply_set("config.steps=7").expect("prefixed steps");
        assert_eq!(p.steps, Some(7));
    }

    #[test]
    fn builtin_list_matches_the_presets_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../presets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("presets folder")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        on_disk.sort();
        let mut built_in: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        built_in.sort();
        assert_eq!(on_disk, built_in, "the build script finds every preset");
        for p in Preset::builtins().expect("every built-in preset parses") {
            let text = std::fs::read_to_string(dir.join(format!("{}.toml", p.name))).expect("read");
            assert_eq!(text, p.text(), "built-in copy of {} is stale", p.name);
        }
    }
}
