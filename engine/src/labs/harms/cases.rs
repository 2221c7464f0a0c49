//! The four case studies as pure functions over a scorer, plus the six-characteristics cards.

use serde::Deserialize;

use super::data::{BiasPair, Context, Group, HarmsData};
use crate::error::LabError;

static BENCHMARKS_TOML: &str = include_str!("../../../../assets/harms/benchmarks.toml");

/// A text in and out of a context.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextPair {
    /// The utterance alone.
    pub alone: String,
    /// The utterance inside the context.
    pub within: String,
    /// The context's kind.
    pub kind: String,
}

/// Every held-out toxic span in every context (span `i` gets contexts in turn, so each kind is
/// used about equally): `per_span` pairs per span.
pub fn context_pairs(spans: &[&str], contexts: &[Context], per_span: usize) -> Vec<ContextPair> {
    let mut out = Vec::new();
    if contexts.is_empty() {
        return out;
    }
    for (i, s) in spans.iter().enumerate() {
        for k in 0..per_span.min(contexts.len()) {
            let c = &contexts[(i + k) % contexts.len()];
            out.push(ContextPair {
                alone: s.to_string(),
                within: c.text.replace("{text}", s),
                kind: c.kind.clone(),
            });
        }
    }
    out
}

/// Share of pairs whose verdict at `threshold` differs alone and in context, and the shifts
/// (in-context score minus alone score).
pub fn flip_rate(alone: &[f32], within: &[f32], threshold: f32) -> (f64, Vec<f32>) {
    let n = alone.len().min(within.len());
    let flips = (0..n)
        .filter(|&i| (alone[i] >= threshold) != (within[i] >= threshold))
        .count();
    let shifts = (0..n).map(|i| within[i] - alone[i]).collect();
    (flips as f64 / n.max(1) as f64, shifts)
}

/// A benign template sentence about one group.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySentence {
    /// Group id.
    pub group: String,
    /// Template index.
    pub template: usize,
    /// The sentence.
    pub text: String,
    /// Filled with a name (rather than the group's term).
    pub by_name: bool,
}

/// Every term template filled with every group's term, and every name template with up to
/// `names_per_group` names of every group that has names.
pub fn identity_sentences(data: &HarmsData, names_per_group: usize) -> Vec<IdentitySentence> {
    let mut out = Vec::new();
    for g in &data.groups {
        for (t, tpl) in data.term_templates.iter().enumerate() {
            out.push(IdentitySentence {
                group: g.id.clone(),
                template: t,
                text: fill_term(tpl, &g.term),
                by_name: false,
            });
        }
        let Some(ng) = &g.names else { continue };
        let names = data
            .names
            .iter()
            .filter(|(group, _)| group == ng)
            .take(names_per_group);
        for (k, (_, name)) in names.enumerate() {
            let t = k % data.name_templates.len().max(1);
            if let Some(tpl) = data.name_templates.get(t) {
                out.push(IdentitySentence {
                    group: g.id.clone(),
                    template: data.term_templates.len() + t,
                    text: tpl.replace("{name}", name),
                    by_name: true,
                });
            }
        }
    }
    out
}

/// A term template filled with `term`.
pub fn fill_term(template: &str, term: &str) -> String {
    template.replace("{term}", term)
}

/// Per group: `(group, mean score, false-positive rate at threshold, sentences)` — every
/// sentence is benign, so any flag is a false positive.
pub fn group_stats(
    sentences: &[IdentitySentence],
    scores: &[f32],
    groups: &[Group],
    threshold: f32,
) -> Vec<(String, f64, f64, usize)> {
    groups
        .iter()
        .map(|g| {
            let s: Vec<f32> = sentences
                .iter()
                .zip(scores)
                .filter(|(x, _)| x.group == g.id)
                .map(|(_, &v)| v)
                .collect();
            let n = s.len().max(1) as f64;
            let mean = s.iter().map(|&v| v as f64).sum::<f64>() / n;
            let fpr = s.iter().filter(|&&v| v >= threshold).count() as f64 / n;
            (g.id.clone(), mean, fpr, s.len())
        })
        .collect()
}

/// The swaps of a typed text: for every group term found in it as a whole word, the text with
/// that term replaced by each other group's term. `(group id, text)`, the original first.
pub fn identity_swaps(text: &str, groups: &[Group]) -> Vec<(String, String)> {
    let words: Vec<&str> = text
        .split_inclusive(|c: char| !c.is_alphanumeric())
        .collect();
    let lower = |w: &str| {
        w.trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    let Some((pos, found)) = words.iter().enumerate().find_map(|(i, w)| {
        let lw = lower(w);
        groups
            .iter()
            .find(|g| g.term.to_lowercase() == lw)
            .map(|g| (i, g))
    }) else {
        return Vec::new();
    };
    let mut out = vec![(found.id.clone(), text.to_string())];
    for g in groups.iter().filter(|g| g.id != found.id) {
        let mut s = String::new();
        for (i, w) in words.iter().enumerate() {
            if i == pos {
                let tail = &w[w.trim_end_matches(|c: char| !c.is_alphanumeric()).len()..];
                s.push_str(&g.term);
                s.push_str(tail);
            } else {
                s.push_str(w);
            }
        }
        out.push((g.id.clone(), s));
    }
    out
}

/// The texts an LM compares for a pair: `(stereotyping, anti-stereotyping)`, the shared
/// context (if any) in front of both.
pub fn pair_texts(p: &BiasPair) -> (String, String) {
    if p.context.is_empty() {
        (p.stereo.clone(), p.anti.clone())
    } else {
        (
            format!("{} {}", p.context, p.stereo),
            format!("{} {}", p.context, p.anti),
        )
    }
}

/// One point of the filter trade-off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterPoint {
    /// Threshold.
    pub threshold: f64,
    /// Share of held-out toxic texts removed.
    pub toxic_removed: f64,
    /// Share of benign identity-mentioning sentences removed.
    pub identity_removed: f64,
    /// Share of other benign held-out texts removed.
    pub benign_removed: f64,
}

/// The filter's trade-off at one threshold.
pub fn filter_at(toxic: &[f32], identity: &[f32], benign: &[f32], t: f64) -> FilterPoint {
    let share =
        |v: &[f32]| v.iter().filter(|&&s| s as f64 >= t).count() as f64 / v.len().max(1) as f64;
    FilterPoint {
        threshold: t,
        toxic_removed: share(toxic),
        identity_removed: share(identity),
        benign_removed: share(benign),
    }
}

/// A six-characteristics card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Identifier.
    pub id: String,
    /// Name.
    pub name: String,
    /// Whether the lab measures with it.
    pub in_lab: bool,
    /// Characteristic 1.
    pub harm_definition: String,
    /// Characteristic 2.
    pub harm_types: Vec<String>,
    /// Characteristic 3.
    pub scope: Vec<String>,
    /// Characteristic 4.
    pub context: Vec<String>,
    /// Characteristic 5.
    pub recipients: Vec<String>,
    /// Characteristic 6.
    pub groups: Vec<String>,
}

/// The values each characteristic can take (the gaps table checks coverage of these).
pub const VALUES: &[(&str, &[&str])] = &[
    ("harm type", &["representation", "allocation", "capability"]),
    ("instance / distributional", &["instance", "distributional"]),
    ("context", &["none", "utterance", "interaction", "social"]),
    ("recipient", &["subject", "reader", "author", "society"]),
];

#[derive(Deserialize)]
struct CardFile {
    benchmark: Vec<Card>,
}

/// The cards of `assets/harms/benchmarks.toml`, checked against [`VALUES`].
pub fn cards() -> Result<Vec<Card>, LabError> {
    let f: CardFile = toml::from_str(BENCHMARKS_TOML)
        .map_err(|e| LabError::data("assets/harms/benchmarks.toml", e.message()))?;
    for c in &f.benchmark {
        for (k, vals) in [&c.harm_types, &c.scope, &c.context, &c.recipients]
            .into_iter()
            .enumerate()
        {
            if let Some(bad) = vals.iter().find(|v| !VALUES[k].1.contains(&v.as_str())) {
                return Err(LabError::data(
                    "assets/harms/benchmarks.toml",
                    format!("{}: `{bad}` is not a {} value", c.id, VALUES[k].0),
                ));
            }
        }
    }
    Ok(f.benchmark)
}

/// `(characteristic, value, how many cards cover it)` for every value.
pub fn coverage(cards: &[Card]) -> Vec<(&'static str, &'static str, usize)> {
    let mut out = Vec::new();
    for (k, (name, vals)) in VALUES.iter().enumerate() {
        for v in vals.iter() {
            let n = cards
                .iter()
                .filter(|c| {
                    [&c.harm_types, &c.scope, &c.context, &c.recipients][k]
                        .iter()
                        .any(|x| x == v)
                })
                .count();
            out.push((*name, *v, n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> Vec<Group> {
        ["gay", "straight", "Muslim"]
            .iter()
            .map(|t| Group {
                id: t.to_lowercase(),
                axis: "x".into(),
                term: t.to_string(),
                names: None,
            })
            .collect()
    }

    #[test]
    fn identity_sentences_differ_only_in_the_term() {
        let data = HarmsData::load(50).expect("data");
        let s = identity_sentences(&data, 6);
        for tpl in 0..data.term_templates.len() {
            let same: Vec<&IdentitySentence> = s.iter().filter(|x| x.template == tpl).collect();
            assert_eq!(same.len(), data.groups.len());
            for x in &same {
                let g = data.groups.iter().find(|g| g.id == x.group).expect("group");
                let (a, b) = data.term_templates[tpl]
                    .split_once("{term}")
                    .expect("one slot");
                assert!(!b.contains("{term}"));
                assert_eq!(x.text, format!("{a}{}{b}", g.term));
            }
        }
        assert!(s.iter().any(|x| x.by_name));
    }

    #[test]
    fn swaps_replace_one_whole_word_keeping_punctuation() {
        let sw = identity_swaps("I am gay, and proud.", &groups());
        assert_eq!(sw.len(), 3);
        assert_eq!(sw[0].1, "I am gay, and proud.");
        assert_eq!(sw[1].1, "I am straight, and proud.");
        assert_eq!(sw[2].1, "I am Muslim, and proud.");
        assert!(identity_swaps("nothing here", &groups()).is_empty());
        assert!(identity_swaps("gayety is a word", &groups()).is_empty());
    }

    #[test]
    fn flips_filter_and_cards() {
        let (rate, shift) = flip_rate(&[0.9, 0.6, 0.2], &[0.3, 0.7, 0.6], 0.5);
        assert!((rate - 2.0 / 3.0).abs() < 1e-9);
        assert!((shift[0] + 0.6).abs() < 1e-6);
        let p = filter_at(&[0.9, 0.4], &[0.6, 0.1], &[0.1], 0.5);
        assert_eq!(
            (p.toxic_removed, p.identity_removed, p.benign_removed),
            (0.5, 0.5, 0.0)
        );
        let c = cards().expect("cards");
        assert!(c.len() >= 8);
        let cov = coverage(&c);
        assert!(cov.iter().any(|(_, v, n)| *v == "allocation" && *n == 0));
        assert!(cov.iter().any(|(_, v, n)| *v == "instance" && *n > 0));
    }
}
