//! Structured results beside the time series: named curves and tables.
//!
//! `summary.json` is flat (one number per key, which scripts check), so a lab with a curve of
//! accuracy against a swept value used to encode the curve in series names. A lab now publishes
//! [`Results`]: the CLI writes them to `results.json` (and under `results` in `summary.json`),
//! and panels and exports draw them with one shared widget.

use serde::{Deserialize, Serialize};

/// One line of a [`CurveSet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Legend label.
    pub label: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values, one per x.
    pub y: Vec<f64>,
}

/// A plot's worth of lines over one x axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveSet {
    /// Stable name (a file stem or key; scripts may check it).
    pub name: String,
    /// Title for a person.
    pub title: String,
    /// x-axis label with units.
    pub x_label: String,
    /// y-axis label with units.
    pub y_label: String,
    /// The lines.
    pub lines: Vec<Line>,
}

/// A table of rows under named columns; cells are numbers or text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Stable name.
    pub name: String,
    /// Title for a person.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A number.
    Num(f64),
    /// Text.
    Text(String),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Num(x) if x.fract() == 0.0 && x.abs() < 1e9 => write!(f, "{x:.0}"),
            Cell::Num(x) => write!(f, "{x:.4}"),
            Cell::Text(s) => f.write_str(s),
        }
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Num(x)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

/// Everything structured a lab has to show at the moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Curves.
    pub curves: Vec<CurveSet>,
    /// Tables.
    pub tables: Vec<Table>,
}

impl Results {
    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.curves.is_empty() && self.tables.is_empty()
    }

    /// The curve set called `name`.
    pub fn curve(&self, name: &str) -> Option<&CurveSet> {
        self.curves.iter().find(|c| c.name == name)
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}
