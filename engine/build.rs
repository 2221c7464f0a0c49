//! Finds the presets in `presets/` and the lessons in `presets/lessons/` at build time, so no
//! hand-kept list names them: every `presets/*.toml` and `presets/lessons/*.toml` is compiled
//! into the binary (sorted by name). Only files directly in each folder count, so the
//! `lessons/` folder is never taken for a preset.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `OUT_DIR/<out>` listing every `*.toml` file directly in `dir` as `(stem, text)`.
fn embed(dir: &Path, out: &str) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut text = String::from("&[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = f.canonicalize().unwrap_or_else(|_| f.clone());
        let _ = writeln!(
            text,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    text.push_str("]\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join(out);
    if let Err(e) = std::fs::write(&dest, text) {
        panic!("writing {}: {e}", dest.display());
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let presets = manifest.join("../presets");
    embed(&presets, "presets.rs");
    embed(&presets.join("lessons"), "lessons.rs");
}
