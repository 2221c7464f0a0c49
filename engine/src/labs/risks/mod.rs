//! Weidinger et al. 2021, "Ethical and social risks of harm from Language Models": the 21
//! risks in 6 areas as data, and a live audit that runs small seeded measurements from other
//! labs and maps each onto the risks it touches, with why it measures that risk and what it
//! cannot show. Risks nothing here measures stay explicitly empty on the map.
//!
//! Other labs are used two ways. The `harms` lab (this sibling) is built and read
//! through its own engine functions. Every other lab (Sparrow) is reached only through the
//! generic Lab contract: a registered preset with `key=value` overrides, stepped to its
//! planned length, read through its step and finish metrics and its `results()`. Energy is the
//! measured compute time of each sub-run times the stated watts.

pub mod taxonomy;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{DynLab, Knob, Lab, LabConfig, Range, StepReport};
use crate::labs::harms::{Derived, HarmsConfig, HarmsLab, SampleAudit};
use crate::preset::Preset;
use crate::results::{Cell, CurveSet, Line, Results, Table};

pub use taxonomy::{Area, Risk, Taxonomy};

/// The lab's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RisksConfig {
    /// Seed given to every sub-run.
    pub seed: u64,
    /// Assumed average power draw while a sub-run computes (watts), for the energy estimate.
    pub watts: f64,
    /// The harms preset the audit builds (its config, typed).
    pub harms_preset: String,
    /// `key=value` overrides of the harms preset.
    pub harms_set: Vec<String>,
    /// The Sparrow preset, reached through the registry.
    pub sparrow_preset: String,
    /// `key=value` overrides of the Sparrow preset.
    pub sparrow_set: Vec<String>,
    /// Apply each sub-lab's own registered tiny settings first (tests).
    pub tiny_sublabs: bool,
    /// LM samples drawn for the copying and toxicity measurements.
    pub samples: usize,
    /// Characters per sample.
    pub sample_chars: usize,
}

impl Default for RisksConfig {
    fn default() -> Self {
        RisksConfig {
            seed: 1,
            watts: 20.0,
            harms_preset: "harms-quick".into(),
            harms_set: Vec::new(),
            sparrow_preset: "sparrow-eval".into(),
            sparrow_set: Vec::new(),
            tiny_sublabs: false,
            samples: 24,
            sample_chars: 150,
        }
    }
}

impl LabConfig for RisksConfig {
    const RANGES: &'static [Range] = &[
        Range::float("watts", 0.1, 100_000.0, true),
        Range::int("samples", 1, 1000),
        Range::int("sample_chars", 10, 2000),
    ];
}

/// One measurement mapped onto risks.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Identifier (also its metric name).
    pub id: &'static str,
    /// What it is.
    pub label: &'static str,
    /// The lab column of the map.
    pub lab: &'static str,
    /// The value.
    pub value: f64,
    /// The value for people.
    pub shown: String,
    /// How much harm it shows, 0..1, for the heat map's colour (see `why`).
    pub heat: f64,
    /// Risk ids it touches.
    pub risks: &'static [&'static str],
    /// Why it measures those risks.
    pub why: &'static str,
    /// What it cannot show.
    pub cannot: &'static str,
    /// Its figure, when it has one.
    pub figure: Option<CurveSet>,
}

/// The map's lab columns.
pub const LABS: [&str; 4] = ["harms classifier", "LM core", "sparrow", "compute"];

/// A sub-run's cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Which run.
    pub run: String,
    /// Compute seconds (steps and finish, measured).
    pub seconds: f64,
    /// Seconds × watts.
    pub joules: f64,
}

/// The panel's snapshot.
#[derive(Debug, Clone)]
pub struct RisksView {
    /// Steps done / planned.
    pub step: u64,
    /// Planned steps.
    pub planned: u64,
    /// Which sub-run is going.
    pub phase: String,
    /// The taxonomy.
    pub taxonomy: Arc<Taxonomy>,
    /// The measurements so far.
    pub measurements: Vec<Measurement>,
    /// The costs so far.
    pub costs: Vec<Cost>,
    /// The watts assumed.
    pub watts: f64,
    /// Mitigation trade-offs: `(title, figure)`.
    pub tradeoffs: Vec<CurveSet>,
}

enum Sub {
    Harms(Box<HarmsLab>),
    Other(String, Box<dyn DynLab>),
}

/// The running held-out figure: the harms sub-run's toxicity-classifier AUC on its held-out
/// comments, as it trains (the audit's own measurements come when a sub-run completes).
pub const LIVE_AUC: &str = "harms_held_out_auc_live";

/// The risks lab.
pub struct RisksLab {
    cfg: RisksConfig,
    taxonomy: Arc<Taxonomy>,
    queue: Vec<Sub>,
    current: Option<(Sub, u64, u64, f64)>,
    /// The last value of every metric the current non-harms sub-run reported.
    seen: BTreeMap<String, f64>,
    step: u64,
    planned: u64,
    measurements: Vec<Measurement>,
    costs: Vec<Cost>,
    tradeoffs: Vec<CurveSet>,
    version: u64,
    /// The harms sub-run's latest held-out AUC not yet reported (a figure to see while the
    /// first sub-run trains, long before it completes and the map fills).
    live_auc: Option<f64>,
}

fn preset_with(name: &str, sets: &[String], seed: u64, tiny: bool) -> Result<Preset, LabError> {
    let mut p = Preset::resolve(name)?;
    p.set_value("seed", toml::Value::Integer(seed as i64))?;
    if tiny {
        for s in p.entry()?.tiny {
            p.apply_set(s)?;
        }
    }
    for s in sets {
        p.apply_set(s)?;
    }
    Ok(p)
}

fn planned_of(sub: &Sub) -> u64 {
    match sub {
        Sub::Harms(h) => Lab::planned_steps(h.as_ref()).unwrap_or(1),
        Sub::Other(_, l) => l.planned_steps().unwrap_or(1),
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "n/a".into()
    }
}

fn last_values(reports: &[StepReport]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for r in reports {
        for (k, v) in &r.metrics {
            m.insert(k.clone(), *v);
        }
    }
    m
}

impl RisksLab {
    fn harms_measurements(&mut self, d: &Derived, s: Option<&SampleAudit>) {
        let clf = "harms classifier";
        let fpr = d.groups.iter().map(|g| g.2);
        let (lo, hi) = fpr.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let group_curve = CurveSet {
            name: "identity_means".into(),
            title: "Mean toxicity score of benign sentences per group".into(),
            x_label: "group (index, see harms lab)".into(),
            y_label: "mean score".into(),
            lines: vec![Line {
                label: "mean score".into(),
                x: (0..d.groups.len()).map(|i| i as f64).collect(),
                y: d.groups.iter().map(|g| g.1).collect(),
            }],
        };
        let filter_curve = CurveSet {
            name: "filter_tradeoff".into(),
            title: "Filtering with the toxicity classifier: what it removes".into(),
            x_label: "threshold".into(),
            y_label: "share removed".into(),
            lines: vec![
                Line {
                    label: "toxic held-out texts".into(),
                    x: d.filter.iter().map(|p| p.threshold).collect(),
                    y: d.filter.iter().map(|p| p.toxic_removed).collect(),
                },
                Line {
                    label: "benign identity sentences".into(),
                    x: d.filter.iter().map(|p| p.threshold).collect(),
                    y: d.filter.iter().map(|p| p.identity_removed).collect(),
                },
            ],
        };
        self.tradeoffs.push(filter_curve.clone());
        let mut add = |m: Measurement| self.measurements.push(m);
        add(Measurement {
            id: "identity_max_gap",
            label: "largest gap in mean toxicity score between groups, benign sentences",
            lab: clf,
            value: d.identity_max_gap,
            shown: format!("{:.2}", d.identity_max_gap),
            heat: d.identity_max_gap.clamp(0.0, 1.0),
            risks: &["stereotypes", "lower-performance"],
            why: "The sentences are benign and identical apart from the group term or name, so any gap is the classifier associating the group itself with toxicity: an unfair association, and a tool that works worse for that group.",
            cannot: "Our templates and 16 groups are a small, US-centred choice; a gap in a classifier says nothing directly about what an LM writes about the group.",
            figure: Some(group_curve),
        });
        add(Measurement {
            id: "identity_fpr_spread",
            label: "spread of the false-positive rate between groups at the threshold",
            lab: clf,
            value: hi - lo,
            shown: format!("{} to {}", pct(lo), pct(hi)),
            heat: (hi - lo).clamp(0.0, 1.0),
            risks: &["lower-performance"],
            why: "Every identity sentence is benign, so each flag is an error; errors that fall more on some groups are a performance disparity.",
            cannot: "Only one threshold and templated text; real posts by group members (dialect, reclaimed words) are not sampled.",
            figure: None,
        });
        add(Measurement {
            id: "filter_identity_removed",
            label: "benign identity sentences a toxicity filter removes at the threshold",
            lab: clf,
            value: d.filter_at.identity_removed,
            shown: format!(
                "{} (removing {} of toxic texts)",
                pct(d.filter_at.identity_removed),
                pct(d.filter_at.toxic_removed)
            ),
            heat: d.filter_at.identity_removed.clamp(0.0, 1.0),
            risks: &["exclusionary-norms", "toxic-language"],
            why: "Filtering training data or outputs is the paper's mitigation for toxic language; removing benign text that names a group is the mitigation excluding that group's voice, the trade-off the paper warns of.",
            cannot: "A filter on templated sentences, not on a real training corpus; who is excluded from a real corpus depends on its text.",
            figure: None,
        });
        add(Measurement {
            id: "auc_toxic",
            label: "toxic vs benign ROC AUC of the classifier (held-out)",
            lab: clf,
            value: d.auc,
            shown: format!("{:.3}", d.auc),
            heat: (1.0 - d.auc).clamp(0.0, 1.0),
            risks: &["toxic-language"],
            why: "How well the lab's own detector separates toxic from benign text bounds how well any mitigation built on it can work (the heat is the detector's error, 1 - AUC).",
            cannot: "It measures the detector, not the toxicity of any model's output; Perspective's scores are the reference, with their own biases.",
            figure: None,
        });
        let dev = |p: f64| ((p - 0.5).abs() * 2.0).clamp(0.0, 1.0);
        add(Measurement {
            id: "crows_stereo_preference",
            label: "share of CrowS-Pairs pairs where the LM prefers the stereotyping sentence",
            lab: "LM core",
            value: d.crows_lm,
            shown: format!("{} (50% = no preference)", pct(d.crows_lm)),
            heat: dev(d.crows_lm),
            risks: &["stereotypes"],
            why: "A distributional harm: no single sentence is toxic, but a model that systematically finds stereotypes more likely will write them more often.",
            cannot: "A small character LM trained for minutes; the comparison also rewards shorter and more frequent group words, which is not bias about the group.",
            figure: None,
        });
        add(Measurement {
            id: "stereoset_stereo_preference",
            label: "share of StereoSet pairs where the LM prefers the stereotype",
            lab: "LM core",
            value: d.stereoset_lm,
            shown: format!("{} (50% = no preference)", pct(d.stereoset_lm)),
            heat: dev(d.stereoset_lm),
            risks: &["stereotypes"],
            why: "The same distributional reading on a second set whose pairs differ by a word or a sentence.",
            cannot: "As above; StereoSet's own 'unrelated' option (language-model quality) is not scored here.",
            figure: None,
        });
        if let Some(s) = s {
            add(Measurement {
                id: "lm_longest_copy",
                label: "longest span of an LM sample found verbatim in its training text (characters)",
                lab: "LM core",
                value: s.longest_copy as f64,
                shown: format!(
                    "{} chars; {} of {} samples copy a 50-char run",
                    s.longest_copy,
                    pct(s.copy50_share),
                    s.samples
                ),
                heat: (s.longest_copy as f64 / 100.0).clamp(0.0, 1.0),
                risks: &["private-leak"],
                why: "Leaking private data is regurgitating memorised training text; prompting with training-text openings and searching the samples for verbatim runs is the extraction test in miniature.",
                cannot: "The training text is Wikipedia, with no private data; a short run (under 20 characters) is common phrasing, not memorisation; larger models trained longer memorise far more.",
                figure: None,
            });
            add(Measurement {
                id: "lm_toxic_share",
                label: "share of LM samples the classifier flags as toxic",
                lab: "LM core",
                value: s.toxic_share,
                shown: pct(s.toxic_share),
                heat: s.toxic_share.clamp(0.0, 1.0),
                risks: &["toxic-language"],
                why: "The risk itself: how often the model writes text a toxicity classifier flags.",
                cannot: "Wikipedia-prompted samples from a Wikipedia-trained model; no adversarial prompts; the classifier's own errors (see the identity gap) count as toxicity.",
                figure: None,
            });
        }
    }

    fn other_measurements(
        &mut self,
        name: &str,
        metrics: &BTreeMap<String, f64>,
        results: &Results,
    ) {
        if name != "sparrow" {
            return;
        }
        let get = |k: &str| metrics.get(k).copied();
        if let (Some(base), Some(rr)) = (get("violation_rate_base"), get("violation_rate_rerank")) {
            self.measurements.push(Measurement {
                id: "sparrow_violation_rate",
                label: "Sparrow: share of held-out red-team replies breaking a rule, re-ranked @N (base sampler in brackets)",
                lab: "sparrow",
                value: rr,
                shown: format!("{} ({} base)", pct(rr), pct(base)),
                heat: rr.clamp(0.0, 1.0),
                risks: &["anthropomorphising", "exploiting-trust", "toxic-language"],
                why: "Sparrow's rules operationalise these risks (claiming a body or feelings, building a relationship, insults and hate); the violation rate is how often the agent still breaks them under attack.",
                cannot: "One rate over all 23 rules (the contract exposes no per-rule rates); the candidate replies come from a labelled stand-in generator, not a dialogue LM.",
                figure: None,
            });
        }
        if let Some(sp) = get("sp_rate") {
            self.measurements.push(Measurement {
                id: "sparrow_sp_rate",
                label: "Sparrow: supported-and-plausible share of answered held-out questions",
                lab: "sparrow",
                value: sp,
                shown: format!("{} at coverage {}", pct(sp), pct(get("coverage").unwrap_or(f64::NAN))),
                heat: (1.0 - sp).clamp(0.0, 1.0),
                risks: &["false-info"],
                why: "An answer that its quoted evidence does not support, or that is wrong, is false information reaching the user (the heat is the unsupported share).",
                cannot: "BoolQ yes/no questions over Wikipedia; says nothing about medical or legal advice, where the material harm is.",
                figure: None,
            });
        }
        if let Some(t) = results.table("systems") {
            let col = |n: &str| t.columns.iter().position(|c| c == n);
            if let (Some(v), Some(p)) = (col("violation rate"), col("rater preference")) {
                let num = |c: &Cell| if let Cell::Num(x) = c { Some(*x) } else { None };
                let pts: Vec<(f64, f64)> = t
                    .rows
                    .iter()
                    .filter_map(|r| Some((num(r.get(v)?)?, num(r.get(p)?)?)))
                    .collect();
                if !pts.is_empty() {
                    self.tradeoffs.push(CurveSet {
                        name: "sparrow_lambda".into(),
                        title: "Sparrow @N: helpful (rater preference) against harmless (violations), one point per system and lambda".into(),
                        x_label: "violation rate".into(),
                        y_label: "rater preference".into(),
                        lines: vec![Line {
                            label: "systems".into(),
                            x: pts.iter().map(|q| q.0).collect(),
                            y: pts.iter().map(|q| q.1).collect(),
                        }],
                    });
                }
            }
        }
    }

    fn energy_measurement(&mut self) {
        self.measurements.retain(|m| m.id != "energy_wh");
        let j: f64 = self.costs.iter().map(|c| c.joules).sum();
        let s: f64 = self.costs.iter().map(|c| c.seconds).sum();
        self.measurements.push(Measurement {
            id: "energy_wh",
            label: "energy of this audit's runs: measured compute time × assumed watts",
            lab: "compute",
            value: j / 3600.0,
            shown: format!("{:.3} Wh ({:.0} s at {} W)", j / 3600.0, s, self.cfg.watts),
            heat: (j / 3600.0 / 10.0).clamp(0.0, 1.0),
            risks: &["environment"],
            why: "Operating models costs energy; measuring it per run is the first step of the paper's mitigation (report it).",
            cannot: "Wall time on a shared CPU at a stated, not metered, wattage; nothing about training large models, hardware or water.",
            figure: None,
        });
    }

    /// Advances the current sub-run by one step, starting the next one when it is done.
    fn advance(&mut self) -> Result<bool, LabError> {
        if self.current.is_none() {
            if self.queue.is_empty() {
                return Ok(false);
            }
            let sub = self.queue.remove(0);
            let planned = planned_of(&sub);
            self.current = Some((sub, 0, planned, 0.0));
        }
        let Some((sub, done, planned, secs)) = self.current.as_mut() else {
            return Ok(false);
        };
        let t0 = Instant::now();
        if *done < *planned {
            match sub {
                Sub::Harms(h) => {
                    let r = Lab::step(h.as_mut())?;
                    if let Some((_, v)) = r.metrics.iter().find(|(k, _)| k == "held_out_auc") {
                        self.live_auc = Some(*v);
                    }
                }
                Sub::Other(_, l) => {
                    for (k, v) in l.step()?.metrics {
                        self.seen.insert(k, v);
                    }
                }
            }
            *done += 1;
            *secs += t0.elapsed().as_secs_f64();
        }
        if *done >= *planned {
            let (sub, _, _, secs) = self
                .current
                .take()
                .ok_or_else(|| LabError::compute("no sub-run"))?;
            self.complete(sub, secs)?;
        }
        Ok(true)
    }

    fn complete(&mut self, sub: Sub, secs: f64) -> Result<(), LabError> {
        let t0 = Instant::now();
        match sub {
            Sub::Harms(mut h) => {
                Lab::finish(h.as_mut())?;
                let audit = h.sample_audit(self.cfg.samples, self.cfg.sample_chars)?;
                let secs = secs + t0.elapsed().as_secs_f64();
                if let Some(d) = h.derived() {
                    self.harms_measurements(&d, audit.as_ref());
                }
                self.costs.push(Cost {
                    run: "harms".into(),
                    seconds: secs,
                    joules: secs * self.cfg.watts,
                });
            }
            Sub::Other(name, mut l) => {
                let fin = l.finish()?;
                let secs = secs + t0.elapsed().as_secs_f64();
                let mut metrics = std::mem::take(&mut self.seen);
                metrics.extend(last_values(&[fin]));
                let results = l.results();
                self.other_measurements(&name, &metrics, &results);
                self.costs.push(Cost {
                    run: name,
                    seconds: secs,
                    joules: secs * self.cfg.watts,
                });
            }
        }
        self.energy_measurement();
        self.version += 1;
        Ok(())
    }

    /// Risk ids at least one measurement touches.
    pub fn measured_risks(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self
            .measurements
            .iter()
            .flat_map(|m| m.risks.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

impl Lab for RisksLab {
    const ID: &'static str = "risks";
    const NAME: &'static str = "The map of LM risks, measured across the labs";
    const PAPER: &'static str =
        "Weidinger et al. 2021, Ethical and social risks of harm from Language Models";
    const SUMMARY: &'static str = "The paper's 21 risks in 6 areas as data (mechanism, observed or \
        anticipated, points of origin, mitigations), and a live audit: seeded runs of the harms \
        lab (identity gaps, stereotype preference, a filter's trade-off, an LM's copying of its \
        training text) and of Sparrow through the generic lab contract (rule violations, \
        supported answers, the helpful-harmless trade-off), with each run's energy, mapped onto \
        the risks they touch. The map says plainly which risks nothing here measures.";
    const TINY: &'static [&'static str] = &["tiny_sublabs=true", "samples=2", "sample_chars=20"];

    type Config = RisksConfig;
    type View = RisksView;
    type Action = crate::lab::NoAction;

    fn new(cfg: RisksConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let taxonomy = Arc::new(Taxonomy::load()?);
        let hp = preset_with(
            &cfg.harms_preset,
            &cfg.harms_set,
            cfg.seed,
            cfg.tiny_sublabs,
        )?;
        if hp.lab != "harms" {
            return Err(LabError::config(
                "harms_preset",
                format!("{} is a preset of lab {}", hp.name, hp.lab),
            ));
        }
        let hc: HarmsConfig = hp.config.clone().try_into().map_err(|e: toml::de::Error| {
            LabError::config("harms_preset", e.message().to_string())
        })?;
        let harms = HarmsLab::new(hc, device)?;
        let sp = preset_with(
            &cfg.sparrow_preset,
            &cfg.sparrow_set,
            cfg.seed,
            cfg.tiny_sublabs,
        )?;
        let sparrow = sp.build(device)?;
        let queue = vec![
            Sub::Harms(Box::new(harms)),
            Sub::Other(sp.lab.clone(), sparrow),
        ];
        let planned = queue.iter().map(planned_of).sum();
        Ok(RisksLab {
            cfg,
            taxonomy,
            queue,
            current: None,
            seen: BTreeMap::new(),
            step: 0,
            planned,
            measurements: Vec::new(),
            costs: Vec::new(),
            tradeoffs: Vec::new(),
            version: 0,
            live_auc: None,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let before = self.measurements.len();
        if self.advance()? {
            self.step += 1;
        }
        let mut r = StepReport::default();
        if self.measurements.len() != before {
            r.push("risks_measured", self.measured_risks().len() as f64);
        }
        if let Some(v) = self.live_auc.take() {
            r.push(LIVE_AUC, v);
        }
        self.version += 1;
        Ok(r)
    }

    fn view(&self) -> RisksView {
        let phase = match (&self.current, self.queue.first()) {
            (Some((Sub::Harms(_), d, p, _)), _) => format!("harms lab, step {d} / {p}"),
            (Some((Sub::Other(n, _), d, p, _)), _) => format!("{n} lab, step {d} / {p}"),
            (None, Some(_)) => "waiting to start".into(),
            (None, None) => "done".into(),
        };
        RisksView {
            step: self.step,
            planned: self.planned,
            phase,
            taxonomy: self.taxonomy.clone(),
            measurements: self.measurements.clone(),
            costs: self.costs.clone(),
            watts: self.cfg.watts,
            tradeoffs: self.tradeoffs.clone(),
        }
    }

    fn config(&self) -> &RisksConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut RisksConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[Knob::new(
            "watts",
            "assumed watts",
            "Average power assumed while a run computes; energy = measured seconds × watts.",
        )];
        KNOBS
    }

    fn knob_changed(&mut self, _key: &str) -> Result<(), LabError> {
        for c in &mut self.costs {
            c.joules = c.seconds * self.cfg.watts;
        }
        if !self.costs.is_empty() {
            self.energy_measurement();
        }
        self.version += 1;
        Ok(())
    }

    fn headline(_: &RisksConfig) -> Vec<&'static str> {
        vec!["risks_total", "risks_measured"]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.planned)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        while self.advance()? {}
        let mut r = StepReport::default();
        r.push("risks_total", self.taxonomy.risk.len() as f64);
        r.push("risks_areas", self.taxonomy.area.len() as f64);
        r.push("risks_measured", self.measured_risks().len() as f64);
        // Energy depends on wall time, so it is in the results, not among the metrics (which
        // the same seed must reproduce).
        for m in self.measurements.iter().filter(|m| m.lab != "compute") {
            r.push(m.id, m.value);
        }
        Ok(r)
    }

    fn results(&self) -> Results {
        let mut out = Results::default();
        let measured = self.measured_risks();
        out.tables.push(Table {
            name: "risk_map".into(),
            title: "The 21 risks and what measures them".into(),
            columns: ["area", "risk", "status", "measured by", "values"]
                .map(String::from)
                .to_vec(),
            rows: self
                .taxonomy
                .risk
                .iter()
                .map(|r| {
                    let area = self
                        .taxonomy
                        .area
                        .iter()
                        .find(|a| a.id == r.area)
                        .map_or("", |a| a.name.as_str());
                    let ms: Vec<&Measurement> = self
                        .measurements
                        .iter()
                        .filter(|m| m.risks.contains(&r.id.as_str()))
                        .collect();
                    vec![
                        Cell::from(area),
                        Cell::from(r.name.as_str()),
                        Cell::from(r.status.as_str()),
                        Cell::from(if ms.is_empty() {
                            "nothing here measures this".to_string()
                        } else {
                            ms.iter().map(|m| m.id).collect::<Vec<_>>().join(", ")
                        }),
                        Cell::from(
                            ms.iter()
                                .map(|m| m.shown.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                    ]
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "measurements".into(),
            title: format!("Measurements ({} of 21 risks touched)", measured.len()),
            columns: [
                "measurement",
                "lab",
                "value",
                "risks",
                "why it measures them",
                "what it cannot show",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .measurements
                .iter()
                .map(|m| {
                    vec![
                        Cell::from(m.label),
                        Cell::from(m.lab),
                        Cell::from(m.shown.clone()),
                        Cell::from(m.risks.join(", ")),
                        Cell::from(m.why),
                        Cell::from(m.cannot),
                    ]
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "energy".into(),
            title: format!(
                "Energy per run (measured compute seconds × {} W assumed)",
                self.cfg.watts
            ),
            columns: ["run", "seconds", "joules", "watt-hours"]
                .map(String::from)
                .to_vec(),
            rows: self
                .costs
                .iter()
                .map(|c| {
                    vec![
                        Cell::from(c.run.clone()),
                        c.seconds.into(),
                        c.joules.into(),
                        (c.joules / 3600.0).into(),
                    ]
                })
                .collect(),
        });
        out.curves.extend(self.tradeoffs.iter().cloned());
        out
    }

    fn view_version(&self) -> Option<u64> {
        Some(self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;

    #[test]
    fn every_audit_measurement_runs_tiny_and_names_known_risks() {
        let cfg = RisksConfig {
            tiny_sublabs: true,
            samples: 2,
            sample_chars: 20,
            ..RisksConfig::default()
        };
        let mut lab = RisksLab::new(cfg, &Backend::cpu().device).expect("lab");
        let fin = Lab::finish(&mut lab).expect("finish");
        let ids: Vec<&str> = lab.measurements.iter().map(|m| m.id).collect();
        for want in [
            "identity_max_gap",
            "identity_fpr_spread",
            "filter_identity_removed",
            "auc_toxic",
            "crows_stereo_preference",
            "stereoset_stereo_preference",
            "lm_longest_copy",
            "lm_toxic_share",
            "sparrow_violation_rate",
            "sparrow_sp_rate",
            "energy_wh",
        ] {
            assert!(ids.contains(&want), "missing {want}: {ids:?}");
        }
        for m in &lab.measurements {
            assert!(
                LABS.contains(&m.lab),
                "{}: unknown lab column {}",
                m.id,
                m.lab
            );
            assert!((0.0..=1.0).contains(&m.heat), "{}: heat {}", m.id, m.heat);
            for r in m.risks {
                assert!(
                    lab.taxonomy.risk(r).is_some(),
                    "{} names unknown risk {r}",
                    m.id
                );
            }
        }
        let total = fin
            .metrics
            .iter()
            .find(|(k, _)| k == "risks_total")
            .map(|x| x.1);
        assert_eq!(total, Some(21.0));
        let measured = lab.measured_risks().len();
        assert!(measured > 0 && measured < 21, "{measured}");
        let map = Lab::results(&lab);
        let rows = &map.table("risk_map").expect("map").rows;
        assert_eq!(rows.len(), 21);
        assert!(
            rows.iter()
                .any(|r| r[3] == Cell::from("nothing here measures this"))
        );
    }
}
