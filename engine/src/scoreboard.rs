//! The paper scoreboard: for every lab, the paper's headline figures beside this run's live
//! values and the project's measured reference results.
//!
//! Each lab has a data file `assets/scoreboard/<lab id>.toml`, compiled into the binary, with
//! one `[[entry]]` per figure: what it is, the lab's metric key that corresponds to it (the
//! series whose latest value is "this run"), how to show the metric (`scale` × value, in
//! `unit`), the paper's figure (value, setting, source; or a `note` where the paper gives no
//! number) and the reference result with the preset and command that produced it (the README's
//! numbers). The generic test `engine/tests/scoreboard.rs` checks that every registered lab has
//! a file, that it parses and that each entry names a metric the lab reports.

use serde::Deserialize;

use crate::error::LabError;

/// One lab's scoreboard.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoreboard {
    /// The figures, in the order they are shown.
    pub entry: Vec<Entry>,
}

/// One headline figure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// What the figure is, for people.
    pub what: String,
    /// The lab's metric (series) key that corresponds to it.
    pub metric: String,
    /// The unit the figure is shown in ("%", "nats/char").
    pub unit: String,
    /// What a metric value is multiplied by to be in `unit` (100 for a fraction shown in %).
    #[serde(default = "one")]
    pub scale: f64,
    /// Whether a lower value is better (shown beside the figure).
    #[serde(default)]
    pub lower_is_better: bool,
    /// The paper's figure.
    pub paper: Paper,
    /// The project's measured reference result.
    pub reference: Reference,
}

fn one() -> f64 {
    1.0
}

/// The paper's side of an entry: a value with its setting, or a note saying why there is none.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    /// The figure, in the entry's unit.
    pub value: Option<f64>,
    /// The paper's setting for it (model size, epochs, data).
    #[serde(default)]
    pub setting: String,
    /// Where it comes from (paper, section or table, and the research note quoting it).
    pub source: String,
    /// Why there is no value, when there is none.
    pub note: Option<String>,
}

/// The project's measured reference result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The measured value, in the entry's unit.
    pub value: f64,
    /// The setting it was measured in (seeds, sizes).
    pub setting: String,
    /// The preset that produced it.
    pub preset: String,
    /// The command that reproduces it.
    pub command: String,
}

/// The shipped scoreboard files: `(lab id, file text)`.
static FILES: &[(&str, &str)] = &[
    ("ff", include_str!("../../assets/scoreboard/ff.toml")),
    ("fwl", include_str!("../../assets/scoreboard/fwl.toml")),
    ("glom", include_str!("../../assets/scoreboard/glom.toml")),
    ("gnn", include_str!("../../assets/scoreboard/gnn.toml")),
    ("harms", include_str!("../../assets/scoreboard/harms.toml")),
    (
        "hetnet",
        include_str!("../../assets/scoreboard/hetnet.toml"),
    ),
    ("lm", include_str!("../../assets/scoreboard/lm.toml")),
    ("otafl", include_str!("../../assets/scoreboard/otafl.toml")),
    ("retro", include_str!("../../assets/scoreboard/retro.toml")),
    ("risks", include_str!("../../assets/scoreboard/risks.toml")),
    (
        "sparrow",
        include_str!("../../assets/scoreboard/sparrow.toml"),
    ),
];

/// The path a lab's scoreboard file has in a checkout, for messages.
pub fn file_name(lab: &str) -> String {
    format!("assets/scoreboard/{lab}.toml")
}

/// Parses a scoreboard file's text; errors name `file`.
pub fn parse(file: &str, text: &str) -> Result<Scoreboard, LabError> {
    let board: Scoreboard =
        toml::from_str(text).map_err(|e| LabError::data(file, format!("scoreboard: {e}")))?;
    for (i, e) in board.entry.iter().enumerate() {
        let bad = |what: &str| {
            LabError::data(
                file,
                format!("scoreboard entry {} ({}): {what}", i + 1, e.metric),
            )
        };
        if e.metric.trim().is_empty() {
            return Err(bad("empty metric key"));
        }
        if !e.scale.is_finite() || e.scale == 0.0 {
            return Err(bad("scale must be a finite non-zero number"));
        }
        match (&e.paper.value, &e.paper.note) {
            (None, None) => return Err(bad("the paper side needs a value or a note")),
            (Some(v), _) if !v.is_finite() => return Err(bad("paper value is not finite")),
            _ => {}
        }
        if !e.reference.value.is_finite() {
            return Err(bad("reference value is not finite"));
        }
    }
    Ok(board)
}

/// Lab `lab`'s scoreboard, or `None` when it has no file.
pub fn for_lab(lab: &str) -> Option<Result<Scoreboard, LabError>> {
    FILES
        .iter()
        .find(|(id, _)| *id == lab)
        .map(|(id, text)| parse(&file_name(id), text))
}

/// The labs that have a scoreboard file.
pub fn labs() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_is_refused_with_its_name() {
        let err = parse("assets/scoreboard/x.toml", "[[entry]]\nwhat = 1\n")
            .expect_err("bad data must fail");
        assert!(
            err.to_string().contains("assets/scoreboard/x.toml"),
            "{err}"
        );
        let no_paper = r#"
[[entry]]
what = "w"
metric = "m"
unit = "%"
[entry.paper]
source = "s"
[entry.reference]
value = 1.0
setting = "s"
preset = "p"
command = "c"
"#;
        let err = parse("y.toml", no_paper).expect_err("paper without value or note");
        assert!(err.to_string().contains("value or a note"), "{err}");
    }
}
