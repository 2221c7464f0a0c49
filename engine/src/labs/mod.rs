//! The labs and their registry: one line per lab.

pub mod ff;
pub mod glom;
pub mod hetnet;
pub mod sparrow;

use burn::tensor::Device;

use crate::error::LabError;
use crate::lab::{DynLab, Lab};

/// Builds a lab from a normalised config table on a device.
pub type BuildFn = fn(toml::Table, &Device) -> Result<Box<dyn DynLab>, LabError>;

/// A registered lab: how to name, validate and build it from a preset's config table.
pub struct LabEntry {
    /// Identifier used in presets (`lab = "ff"`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// The paper it reproduces.
    pub paper: &'static str,
    /// One paragraph for the lab list.
    pub summary: &'static str,
    /// Deserialises a config table (applying defaults), validates it and returns the full table.
    pub normalize: fn(toml::Table) -> Result<toml::Table, LabError>,
    /// Checks a whole preset document with this lab's typed config, for errors with positions.
    pub check_document: fn(&str) -> Result<(), toml::de::Error>,
    /// Builds the lab from a normalised config table.
    pub build: BuildFn,
}

fn normalize<L: Lab>(table: toml::Table) -> Result<toml::Table, LabError> {
    let cfg: L::Config = table
        .try_into()
        .map_err(|e: toml::de::Error| LabError::Preset(e.message().to_string()))?;
    L::validate(&cfg)?;
    toml::Table::try_from(&cfg).map_err(|e| LabError::Preset(e.to_string()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialised, to check a document's shape and report positions.
struct Document<C> {
    lab: String,
    title: String,
    #[serde(default)]
    description: String,
    seed: u64,
    #[serde(default)]
    steps: Option<u64>,
    #[serde(default)]
    config: Option<C>,
}

fn check_document<L: Lab>(text: &str) -> Result<(), toml::de::Error> {
    toml::from_str::<Document<L::Config>>(text).map(|_| ())
}

fn build<L: Lab>(table: toml::Table, device: &Device) -> Result<Box<dyn DynLab>, LabError> {
    let cfg: L::Config = table
        .try_into()
        .map_err(|e: toml::de::Error| LabError::Preset(e.message().to_string()))?;
    Ok(Box::new(L::new(cfg, device)?))
}

macro_rules! entry {
    ($ty:ty, $id:literal, $name:literal, $paper:literal, $summary:literal) => {
        LabEntry {
            id: $id,
            name: $name,
            paper: $paper,
            summary: $summary,
            normalize: normalize::<$ty>,
            check_document: check_document::<$ty>,
            build: build::<$ty>,
        }
    };
}

static LABS: &[LabEntry] = &[
    entry!(
        ff::FfLab,
        "ff",
        "Forward-Forward",
        "Hinton 2022, The Forward-Forward Algorithm: Some Preliminary Investigations",
        "Each layer learns on its own to give high goodness (summed squared activity) to real images \
     carrying their true label and low goodness to the same images with a wrong label. No \
     gradient crosses layers. A backprop net of the same widths trains on the same batches."
    ),
    entry!(
        glom::GlomLab,
        "glom",
        "GLOM islands of agreement",
        "After Culp, Sabour & Hinton 2022, Testing GLOM's ability to infer wholes from ambiguous parts",
        "Objects made of ambiguous ellipse parts on an 8x8 grid. A simplified GLOM (columns x \
         levels, bottom-up, top-down and within-level attention, T iterations) learns to give \
         every location of an object nearly the same embedding, and uses that agreement to \
         classify parts no single location could. A T = 0 per-location baseline trains on the \
         same batches. Our own set-up in the paper's spirit (its body was not retrievable)."
    ),
    entry!(
        hetnet::HetnetLab,
        "hetnet",
        "HetNet power control (PQL vs IDQN)",
        "Xu, Huynh & Li 2022, Distributed-Training-and-Execution Multi-Agent Reinforcement \
         Learning for Power Control in HetNet",
        "One DQN agent per access point (a macro BS and small cells) picks its transmit power \
         from local measurements only; nothing is shared between agents. PQL adds a penalty \
         pulling each agent toward its best previously experienced action in a revisited state \
         (our reading of the abstract; the full text was unavailable). PQL and independent DQN \
         race on the same channels, scored against WMMSE, FP, max and random power."
    ),
    entry!(
        sparrow::SparrowLab,
        "sparrow",
        "Sparrow: rules, evidence and re-ranking @N",
        "Glaese et al. 2022, Improving alignment of dialogue agents via targeted human judgements",
        "An agent that searches BoolQ's 12,271 Wikipedia paragraphs (tantivy BM25 plus a learned \
         re-ranker), shows the evidence and answers yes/no with a learned reader, declining when \
         unsure. 23 rules as data; a rule-conditional reward model is compared with per-rule and \
         general classifiers on held-out phrasings; a Bradley-Terry preference model learns from a \
         simulated rater; N candidates from a labelled stand-in generator are re-ranked on \
         held-out red-team probes."
    ),
];

/// Every registered lab.
pub fn all() -> &'static [LabEntry] {
    LABS
}

/// The lab registered under `id`.
pub fn find(id: &str) -> Option<&'static LabEntry> {
    LABS.iter().find(|e| e.id == id)
}
