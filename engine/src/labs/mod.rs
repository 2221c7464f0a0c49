//! The labs and their registry: one line per lab. Everything else a lab is (its name, config,
//! knobs, headline metrics, tiny test settings) it declares on itself through [`Lab`]; its
//! presets are the files `presets/<id>-*.toml`, found at build time.

pub mod ff;
pub mod fwl;
pub mod glom;
pub mod gnn;
pub mod harms;
pub mod hetnet;
pub mod lm;
pub mod otafl;
pub mod retro;
pub mod risks;
pub mod sparrow;

use burn::tensor::Device;

use crate::error::LabError;
use crate::lab::{DynLab, Knob, Lab, LabConfig, Range};

/// The registered labs. Adding a lab is one line here.
static LABS: &[LabEntry] = &[
    LabEntry::of::<ff::FfLab>(),
    LabEntry::of::<fwl::FwlLab>(),
    LabEntry::of::<glom::GlomLab>(),
    LabEntry::of::<gnn::GnnLab>(),
    LabEntry::of::<harms::HarmsLab>(),
    LabEntry::of::<hetnet::HetnetLab>(),
    LabEntry::of::<lm::LmLab>(),
    LabEntry::of::<otafl::OtaflLab>(),
    LabEntry::of::<retro::RetroLab>(),
    LabEntry::of::<risks::RisksLab>(),
    LabEntry::of::<sparrow::SparrowLab>(),
];

/// Builds a lab from a normalised config table on a device.
pub type BuildFn = fn(toml::Table, &Device) -> Result<Box<dyn DynLab>, LabError>;

/// A registered lab, type-erased: what the preset loader, the CLI and the generic tests need.
pub struct LabEntry {
    /// Identifier used in presets (`lab = "ff"`).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// The paper it reproduces.
    pub paper: &'static str,
    /// One paragraph for the lab list.
    pub summary: &'static str,
    /// `key=value` settings that shrink any preset of the lab to seconds (tests, CI).
    pub tiny: &'static [&'static str],
    /// The live knobs.
    pub knobs: fn() -> &'static [Knob],
    /// The config's key ranges.
    pub ranges: &'static [Range],
    /// The headline metrics of a normalised config (see [`Lab::headline`]).
    pub headline: fn(&toml::Table) -> Vec<&'static str>,
    /// Deserialises a config table (applying defaults), validates it and returns the full table.
    pub normalize: fn(toml::Table) -> Result<toml::Table, LabError>,
    /// Checks a whole preset document with this lab's typed config, for errors with positions.
    pub check_document: fn(&str) -> Result<(), toml::de::Error>,
    /// Builds the lab from a normalised config table.
    pub build: BuildFn,
}

impl LabEntry {
    /// The entry of lab type `L`.
    pub const fn of<L: Lab>() -> LabEntry {
        LabEntry {
            id: L::ID,
            name: L::NAME,
            paper: L::PAPER,
            summary: L::SUMMARY,
            tiny: L::TINY,
            knobs: L::knobs,
            ranges: <L::Config as LabConfig>::RANGES,
            headline: headline::<L>,
            normalize: normalize::<L>,
            check_document: check_document::<L>,
            build: build::<L>,
        }
    }
}

fn typed<L: Lab>(table: toml::Table) -> Result<L::Config, LabError> {
    table
        .try_into()
        .map_err(|e: toml::de::Error| LabError::Preset(e.message().trim_end().to_string()))
}

fn normalize<L: Lab>(table: toml::Table) -> Result<toml::Table, LabError> {
    let cfg = typed::<L>(table)?;
    cfg.validate()?;
    toml::Table::try_from(&cfg).map_err(|e| LabError::Preset(e.to_string()))
}

fn headline<L: Lab>(table: &toml::Table) -> Vec<&'static str> {
    match typed::<L>(table.clone()) {
        Ok(cfg) => L::headline(&cfg),
        Err(_) => L::headline(&L::Config::default()),
    }
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
    let cfg = typed::<L>(table)?;
    cfg.validate()?;
    Ok(Box::new(L::new(cfg, device)?))
}

/// Every registered lab.
pub fn all() -> &'static [LabEntry] {
    LABS
}

/// The lab registered under `id`.
pub fn find(id: &str) -> Option<&'static LabEntry> {
    LABS.iter().find(|e| e.id == id)
}
