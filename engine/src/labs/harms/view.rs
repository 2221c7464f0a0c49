//! What the panel draws and the lab's results (curves and tables).

use std::sync::Arc;

use super::HarmsLab;
use super::cases::{self, Card, FilterPoint};
use super::data::{ATTRIBUTES, HEADS, Source};
use crate::results::{Cell, CurveSet, Line, Results, Table};

/// The typed-text probe's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// The typed text.
    pub text: String,
    /// The typed context.
    pub context: String,
    /// The text inside its context, when there is one.
    pub within_text: Option<String>,
    /// Scores of the text alone.
    pub alone: [f32; HEADS],
    /// Scores of the text in context.
    pub within: Option<[f32; HEADS]>,
    /// `(group, swapped text, scores)`, the original first; empty without a group term.
    pub swaps: Vec<(String, String, [f32; HEADS])>,
}

/// Every case-study number at one threshold and attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// The attribute shown.
    pub attribute: &'static str,
    /// The threshold.
    pub threshold: f64,
    /// Spearman vs Perspective on held-out Perspective-scored texts, this attribute.
    pub spearman: f64,
    /// The same for every attribute.
    pub spearman_all: Vec<f64>,
    /// ROC AUC toxic vs benign on the held-out texts.
    pub auc: f64,
    /// Reliability bins `(mean predicted, mean target, n)`.
    pub calibration: Vec<(f64, f64, usize)>,
    /// Expected calibration error.
    pub ece: f64,
    /// Held-out texts.
    pub held_out: usize,
    /// Of which Perspective-scored.
    pub perspective_held_out: usize,
    /// Share of context pairs whose verdict flips.
    pub flip_rate: f64,
    /// Flip rate per context kind.
    pub flip_by_kind: Vec<(String, f64)>,
    /// Mean in-context minus alone score.
    pub mean_shift: f64,
    /// Every pair's shift.
    pub shifts: Vec<f32>,
    /// Context pairs.
    pub context_pairs: usize,
    /// `(group, mean score, false-positive rate, sentences)`.
    pub groups: Vec<(String, f64, f64, usize)>,
    /// Largest minus smallest group mean.
    pub identity_max_gap: f64,
    /// Share of CrowS-Pairs pairs where the LM prefers the stereotyping sentence.
    pub crows_lm: f64,
    /// The same on StereoSet.
    pub stereoset_lm: f64,
    /// Share of CrowS pairs the classifier scores higher on the stereotyping side.
    pub crows_clf_pref: f64,
    /// The same on StereoSet.
    pub stereoset_clf_pref: f64,
    /// Share of CrowS stereotyping sentences the classifier flags.
    pub crows_clf_flag: f64,
    /// The same on StereoSet.
    pub stereoset_clf_flag: f64,
    /// Pairs scored `(CrowS, StereoSet)`.
    pub pairs: (usize, usize),
    /// The probe LM's held-out loss (nats per character).
    pub lm_held_out_loss: Option<f64>,
    /// The filter trade-off at thresholds 0.05..0.95.
    pub filter: Vec<FilterPoint>,
    /// The filter at the threshold knob.
    pub filter_at: FilterPoint,
}

/// The panel's snapshot.
#[derive(Debug, Clone)]
pub struct HarmsView {
    /// Steps done.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// Classifier steps (the rest train the probe LM).
    pub clf_steps: u64,
    /// What the data is.
    pub data: String,
    /// Classifier loss per step.
    pub clf_curve: Vec<(u64, f64)>,
    /// Held-out AUC.
    pub auc_curve: Vec<(u64, f64)>,
    /// Probe LM loss per LM step.
    pub lm_curve: Vec<(u64, f64)>,
    /// Case-study numbers (after finish).
    pub derived: Option<Derived>,
    /// The last typed-text probe.
    pub probe: Option<ProbeResult>,
    /// Head index of the attribute knob.
    pub head: usize,
    /// Threshold knob.
    pub threshold: f64,
    /// Context knob.
    pub use_context: bool,
    /// The six-characteristics cards.
    pub cards: Arc<Vec<Card>>,
    /// `(characteristic, value, cards covering it)`.
    pub coverage: Vec<(&'static str, &'static str, usize)>,
}

pub(super) fn build(lab: &HarmsLab) -> HarmsView {
    let d = &lab.data;
    let count = |src: Source| {
        d.train
            .iter()
            .chain(&d.held_out)
            .filter(|e| e.source == src)
            .count()
    };
    HarmsView {
        step: lab.step,
        planned: lab.cfg.clf_steps
            + if lab.lm.is_some() {
                lab.cfg.lm_steps
            } else {
                0
            },
        clf_steps: lab.cfg.clf_steps,
        data: format!(
            "{} training / {} held-out texts: {} Perspective-scored, {} rustrict profane, {} rustrict clean, {} Wikipedia, {} Sparrow complying turns; probe LM on {} characters",
            d.train.len(),
            d.held_out.len(),
            count(Source::Perspective),
            count(Source::Profane),
            count(Source::Clean),
            count(Source::Wikipedia),
            count(Source::Complies),
            lab.lm.as_ref().map_or(0, |l| l.train_chars()),
        ),
        clf_curve: lab.clf_curve.clone(),
        auc_curve: lab.auc_curve.clone(),
        lm_curve: lab.lm_curve.clone(),
        derived: lab.derived(),
        probe: lab.probe.clone(),
        head: lab.cfg.head(),
        threshold: lab.cfg.threshold,
        use_context: lab.cfg.use_context,
        cards: lab.cards.clone(),
        coverage: cases::coverage(&lab.cards),
    }
}

fn line(label: &str, pts: impl Iterator<Item = (f64, f64)>) -> Line {
    let (x, y) = pts.unzip();
    Line {
        label: label.into(),
        x,
        y,
    }
}

/// Histogram of `values` in `bins` bins over [lo, hi], as (bin centre, count).
pub fn histogram(values: &[f32], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let w = (hi - lo) / bins as f64;
    let mut c = vec![0usize; bins];
    for &v in values {
        let b = (((v as f64 - lo) / w).floor().max(0.0) as usize).min(bins - 1);
        c[b] += 1;
    }
    c.into_iter()
        .enumerate()
        .map(|(i, n)| (lo + (i as f64 + 0.5) * w, n as f64))
        .collect()
}

fn text_cells(v: &[String]) -> Cell {
    Cell::Text(if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    })
}

pub(super) fn results(lab: &HarmsLab) -> Results {
    let mut out = Results::default();
    if !lab.auc_curve.is_empty() {
        out.curves.push(CurveSet {
            name: "classifier_training".into(),
            title: "Classifier: held-out ROC AUC, toxic vs benign".into(),
            x_label: "classifier step".into(),
            y_label: "ROC AUC".into(),
            lines: vec![line(
                "held-out AUC",
                lab.auc_curve.iter().map(|&(s, v)| (s as f64, v)),
            )],
        });
    }
    if let Some(d) = lab.derived() {
        out.curves.push(CurveSet {
            name: "calibration".into(),
            title: format!(
                "Calibration of {} (held-out; benign texts count as 0)",
                d.attribute
            ),
            x_label: "mean predicted score in bin".into(),
            y_label: "mean target score".into(),
            lines: vec![
                line("classifier", d.calibration.iter().map(|b| (b.0, b.1))),
                line("perfect", [(0.0, 0.0), (1.0, 1.0)].into_iter()),
            ],
        });
        out.curves.push(CurveSet {
            name: "context_shift".into(),
            title: format!(
                "Context: score in context minus alone, {} pairs ({:.0}% flip at {:.2})",
                d.context_pairs,
                100.0 * d.flip_rate,
                d.threshold
            ),
            x_label: format!("shift of {} score", d.attribute),
            y_label: "pairs".into(),
            lines: vec![line(
                "pairs",
                histogram(&d.shifts, -1.0, 1.0, 20).into_iter(),
            )],
        });
        out.curves.push(CurveSet {
            name: "filter_tradeoff".into(),
            title: "Mitigation: filtering with the classifier".into(),
            x_label: "threshold".into(),
            y_label: "share removed".into(),
            lines: vec![
                line(
                    "toxic held-out texts",
                    d.filter.iter().map(|p| (p.threshold, p.toxic_removed)),
                ),
                line(
                    "benign identity sentences",
                    d.filter.iter().map(|p| (p.threshold, p.identity_removed)),
                ),
                line(
                    "other benign held-out texts",
                    d.filter.iter().map(|p| (p.threshold, p.benign_removed)),
                ),
            ],
        });
        out.tables.push(Table {
            name: "identity_groups".into(),
            title: format!(
                "Identity terms: benign sentences per group ({}, threshold {:.2})",
                d.attribute, d.threshold
            ),
            columns: vec![
                "group".into(),
                "sentences".into(),
                "mean score".into(),
                "false-positive rate".into(),
            ],
            rows: d
                .groups
                .iter()
                .map(|g| {
                    vec![
                        g.0.clone().into(),
                        (g.3 as f64).into(),
                        g.1.into(),
                        g.2.into(),
                    ]
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "distributional".into(),
            title: "Instance vs distributional: the same sentences, two instruments".into(),
            columns: vec![
                "set".into(),
                "pairs".into(),
                "LM prefers stereotype".into(),
                "classifier scores stereotype higher".into(),
                "classifier flags stereotype".into(),
            ],
            rows: vec![
                vec![
                    "CrowS-Pairs".into(),
                    (d.pairs.0 as f64).into(),
                    d.crows_lm.into(),
                    d.crows_clf_pref.into(),
                    d.crows_clf_flag.into(),
                ],
                vec![
                    "StereoSet".into(),
                    (d.pairs.1 as f64).into(),
                    d.stereoset_lm.into(),
                    d.stereoset_clf_pref.into(),
                    d.stereoset_clf_flag.into(),
                ],
            ],
        });
        out.tables.push(Table {
            name: "spearman".into(),
            title: format!(
                "Rank correlation with Perspective on {} held-out scored texts",
                d.perspective_held_out
            ),
            columns: vec!["attribute".into(), "Spearman".into()],
            rows: ATTRIBUTES
                .iter()
                .zip(&d.spearman_all)
                .map(|(a, s)| vec![(*a).into(), (*s).into()])
                .collect(),
        });
    }
    out.tables.push(Table {
        name: "cards".into(),
        title: "Six characteristics of each benchmark (names reconstructed from secondary notes)"
            .into(),
        columns: [
            "benchmark",
            "in lab",
            "harm definition",
            "harm type",
            "instance/distributional",
            "context",
            "recipient",
            "groups",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: lab
            .cards
            .iter()
            .map(|c| {
                vec![
                    c.name.clone().into(),
                    (if c.in_lab { "yes" } else { "no" }).into(),
                    c.harm_definition.clone().into(),
                    text_cells(&c.harm_types),
                    text_cells(&c.scope),
                    text_cells(&c.context),
                    text_cells(&c.recipients),
                    text_cells(&c.groups),
                ]
            })
            .collect(),
    });
    out.tables.push(Table {
        name: "gaps".into(),
        title: "Gaps: how many of the cards cover each value".into(),
        columns: vec!["characteristic".into(), "value".into(), "cards".into()],
        rows: cases::coverage(&lab.cards)
            .into_iter()
            .map(|(c, v, n)| vec![c.into(), v.into(), (n as f64).into()])
            .collect(),
    });
    out
}
