//! Held-out evaluation of the race: the baseline, the baseline with dynamic evaluation and the
//! FWL model, on the same test documents and the same scored tokens; the analyses by position
//! in the document and by first occurrence against repeat of rare words; measured speed.

use std::collections::HashMap;
use std::time::Instant;

use burn::tensor::Device;

use super::model::FwlModel;
use crate::error::LabError;
use crate::lm::data::{TokDoc, doc_windows};
use crate::lm::dyneval::{DynEval, dyneval_doc, static_doc};
use crate::lm::model::int_tensor;
use crate::lm::tokenizer::Tokenizer;
use crate::nn::to_vec;

/// A word seen fewer times than this in the training split counts as rare.
pub const RARE_BELOW: usize = 20;

/// One test document's per-token losses under the three methods.
#[derive(Debug, Clone, PartialEq)]
pub struct DocScores {
    /// Title.
    pub title: String,
    /// The scored targets (tokens 1..=n of the document).
    pub targets: Vec<u32>,
    /// Baseline losses (nats).
    pub base: Vec<f32>,
    /// Dynamic evaluation's losses.
    pub dyneval: Vec<f32>,
    /// FWL losses.
    pub fwl: Vec<f32>,
}

/// Wall-clock seconds each method took on all test documents.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timing {
    /// Baseline.
    pub base: f64,
    /// Dynamic evaluation.
    pub dyneval: f64,
    /// FWL.
    pub fwl: f64,
    /// Tokens scored by each.
    pub tokens: usize,
}

/// FWL (or, with `fast` off, slow) losses of a document in segments of `span`, batched.
pub fn fwl_doc(
    model: &FwlModel,
    doc: &TokDoc,
    span: usize,
    max_tokens: usize,
    fast: bool,
    device: &Device,
) -> Result<Vec<f32>, LabError> {
    let windows = doc_windows(doc, span, max_tokens);
    let mut out = Vec::new();
    for group in windows.chunks(8) {
        let b = group.len();
        let x: Vec<u32> = group.iter().flat_map(|w| w.0.iter().copied()).collect();
        let y: Vec<u32> = group.iter().flat_map(|w| w.1.iter().copied()).collect();
        let l = model.losses_with(
            int_tensor(&x, b, span, device),
            int_tensor(&y, b, span, device),
            fast,
        );
        out.extend(to_vec(l)?);
    }
    Ok(out)
}

/// Scores every test document with all three methods; `train_dev` is the autodiff device the
/// models live on (dynamic evaluation needs gradients), the others run without autodiff.
#[allow(clippy::too_many_arguments)]
pub fn score(
    base: &FwlModel,
    fwl: &FwlModel,
    docs: &[TokDoc],
    span: usize,
    context: usize,
    max_tokens: usize,
    de: &DynEval,
    fwl_fast: bool,
    train_dev: &Device,
) -> Result<(Vec<DocScores>, Timing), LabError> {
    use burn::module::Module;
    let dev = train_dev.clone().without_autodiff();
    let base_valid = base.valid();
    let fwl_valid = fwl.valid();
    let mut timing = Timing::default();
    let mut out = Vec::new();
    for doc in docs {
        // Every method scores the same tokens: whole spans from the document's start.
        let n = (doc.ids.len().saturating_sub(1).min(max_tokens) / span) * span;
        if n == 0 {
            continue;
        }
        let t0 = Instant::now();
        let b = static_doc(&base_valid, doc, span, n, &dev)?;
        let t1 = Instant::now();
        let d = dyneval_doc(base, doc, context, n, de, train_dev)?;
        let t2 = Instant::now();
        let f = fwl_doc(&fwl_valid, doc, span, n, fwl_fast, &dev)?;
        let t3 = Instant::now();
        timing.base += (t1 - t0).as_secs_f64();
        timing.dyneval += (t2 - t1).as_secs_f64();
        timing.fwl += (t3 - t2).as_secs_f64();
        timing.tokens += n;
        out.push(DocScores {
            title: doc.title.clone(),
            targets: doc.ids[1..=n].to_vec(),
            base: b,
            dyneval: d,
            fwl: f,
        });
    }
    Ok((out, timing))
}

/// exp(mean loss) over all scored tokens of one method.
pub fn perplexity(docs: &[DocScores], pick: impl Fn(&DocScores) -> &[f32]) -> f64 {
    let (sum, n) = docs.iter().fold((0.0f64, 0usize), |(s, n), d| {
        let l = pick(d);
        (s + l.iter().map(|&v| v as f64).sum::<f64>(), n + l.len())
    });
    (sum / n.max(1) as f64).exp()
}

/// Mean loss improvement over the baseline (nats per token) of dynamic evaluation and FWL in
/// bins of position: `edges` are bin starts; returns `(bin start, dyneval gain, fwl gain,
/// tokens)` for the non-empty bins. `pos` maps a token index in its document to the position
/// binned (the index itself, or its place within the fast-weight span).
pub fn gain_by_position(
    docs: &[DocScores],
    edges: &[usize],
    pos: impl Fn(usize) -> usize,
) -> Vec<(usize, f64, f64, usize)> {
    let mut acc = vec![(0.0f64, 0.0f64, 0usize); edges.len()];
    for d in docs {
        for i in 0..d.base.len() {
            let p = pos(i);
            let Some(bin) = edges.iter().rposition(|&e| e <= p) else {
                continue;
            };
            acc[bin].0 += (d.base[i] - d.dyneval[i]) as f64;
            acc[bin].1 += (d.base[i] - d.fwl[i]) as f64;
            acc[bin].2 += 1;
        }
    }
    edges
        .iter()
        .zip(acc)
        .filter(|(_, a)| a.2 > 0)
        .map(|(&e, (g1, g2, n))| (e, g1 / n as f64, g2 / n as f64, n))
        .collect()
}

/// Lower-case words and how often each occurs in `texts`.
pub fn word_counts<'a>(texts: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for t in texts {
        for w in crate::data::text::tokens(t) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts
}

/// One row of the first-occurrence / repeat table.
#[derive(Debug, Clone, PartialEq)]
pub struct OccurrenceRow {
    /// "rare, first occurrence", ...
    pub label: String,
    /// Tokens in the group.
    pub tokens: usize,
    /// Mean baseline loss (nats per token).
    pub base: f64,
    /// Mean improvement of dynamic evaluation.
    pub dyneval_gain: f64,
    /// Mean improvement of FWL.
    pub fwl_gain: f64,
}

/// Groups every scored token by the word it belongs to (the word containing its first
/// character): rare (fewer than [`RARE_BELOW`] training occurrences) or common, and the first
/// occurrence of that word in the document or a repeat. Tokens outside words are left out.
pub fn by_occurrence(
    docs: &[DocScores],
    tokenizer: &Tokenizer,
    counts: &HashMap<String, usize>,
) -> Vec<OccurrenceRow> {
    // [rare first, rare repeat, common first, common repeat]: (n, base, dyn gain, fwl gain).
    let mut acc = [(0usize, 0.0f64, 0.0f64, 0.0f64); 4];
    for d in docs {
        let pieces: Vec<String> = d.targets.iter().map(|&t| tokenizer.piece(t)).collect();
        let text: String = pieces.concat();
        let chars: Vec<char> = text.chars().collect();
        // Word id of every character: (start, end) of its alphanumeric run.
        let mut word_of = vec![None; chars.len()];
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_alphanumeric() {
                let s = i;
                while i < chars.len() && chars[i].is_alphanumeric() {
                    i += 1;
                }
                for slot in &mut word_of[s..i] {
                    *slot = Some((s, i));
                }
            } else {
                i += 1;
            }
        }
        let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
        let mut offset = 0;
        for (k, piece) in pieces.iter().enumerate() {
            let lead = piece.chars().take_while(|c| !c.is_alphanumeric()).count();
            let first_char = offset + lead;
            offset += piece.chars().count();
            if lead == piece.chars().count() {
                continue;
            }
            let Some(Some((s, e))) = word_of.get(first_char).copied() else {
                continue;
            };
            let word: String = chars[s..e].iter().collect::<String>().to_lowercase();
            let first = match seen.get(&word) {
                None => {
                    seen.insert(word.clone(), (s, e));
                    true
                }
                Some(&span) => span == (s, e),
            };
            let rare = counts.get(&word).copied().unwrap_or(0) < RARE_BELOW;
            let g = match (rare, first) {
                (true, true) => 0,
                (true, false) => 1,
                (false, true) => 2,
                (false, false) => 3,
            };
            acc[g].0 += 1;
            acc[g].1 += d.base[k] as f64;
            acc[g].2 += (d.base[k] - d.dyneval[k]) as f64;
            acc[g].3 += (d.base[k] - d.fwl[k]) as f64;
        }
    }
    let labels = [
        "rare word, first occurrence",
        "rare word, repeat",
        "common word, first occurrence",
        "common word, repeat",
    ];
    labels
        .iter()
        .zip(acc)
        .map(|(l, (n, b, g1, g2))| {
            let m = n.max(1) as f64;
            OccurrenceRow {
                label: l.to_string(),
                tokens: n,
                base: b / m,
                dyneval_gain: g1 / m,
                fwl_gain: g2 / m,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lm::tokenizer::CharVocab;

    #[test]
    fn occurrences_and_positions_are_grouped() {
        let tok = Tokenizer::Char(CharVocab::build(["abc xyz ."].into_iter()));
        let text = "xyz abc xyz";
        let targets = tok.encode(text);
        let n = targets.len();
        let d = DocScores {
            title: "t".into(),
            targets,
            base: vec![2.0; n],
            dyneval: vec![1.0; n],
            fwl: vec![1.5; n],
        };
        let mut counts = HashMap::new();
        counts.insert("abc".to_string(), 100);
        let rows = by_occurrence(std::slice::from_ref(&d), &tok, &counts);
        assert_eq!(rows[0].tokens, 3, "rare first: xyz");
        assert_eq!(rows[1].tokens, 3, "rare repeat: the second xyz");
        assert_eq!(rows[2].tokens, 3, "common first: abc");
        assert_eq!(rows[3].tokens, 0);
        assert!((rows[1].dyneval_gain - 1.0).abs() < 1e-9 && (rows[1].fwl_gain - 0.5).abs() < 1e-9);
        let bins = gain_by_position(std::slice::from_ref(&d), &[0, 4, 100], |i| i);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].0, bins[0].3), (0, 4));
        assert_eq!(bins[1].3, n - 4);
        assert!((perplexity(&[d], |d| &d.base) - 2f64.exp()).abs() < 1e-9);
    }
}
