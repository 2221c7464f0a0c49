//! Token streams per document and the batches drawn from them.

use std::sync::Arc;

use super::corpus::{Corpus, Part};
use super::tokenizer::Tokenizer;
use crate::rng::Rng;

/// One tokenised document.
#[derive(Debug, Clone)]
pub struct TokDoc {
    /// Index in the corpus.
    pub index: usize,
    /// Title for people.
    pub title: String,
    /// Its token ids.
    pub ids: Vec<u32>,
}

/// A corpus split and tokenised: training, validation and test documents.
#[derive(Debug, Clone)]
pub struct Splits {
    /// The tokeniser (built on the training documents only).
    pub tokenizer: Arc<Tokenizer>,
    /// Trained on.
    pub train: Vec<TokDoc>,
    /// Held out for validation.
    pub valid: Vec<TokDoc>,
    /// Held out for the reported numbers.
    pub test: Vec<TokDoc>,
}

impl Splits {
    /// Tokenises `corpus` under `parts` with `tokenizer`.
    pub fn new(corpus: &Corpus, parts: &[Part], tokenizer: Arc<Tokenizer>) -> Splits {
        let mut s = Splits {
            tokenizer,
            train: Vec::new(),
            valid: Vec::new(),
            test: Vec::new(),
        };
        for (i, (d, p)) in corpus.docs.iter().zip(parts).enumerate() {
            let doc = TokDoc {
                index: i,
                title: d.title.clone(),
                ids: s.tokenizer.encode(&d.text),
            };
            match p {
                Part::Train => s.train.push(doc),
                Part::Valid => s.valid.push(doc),
                Part::Test => s.test.push(doc),
            }
        }
        s
    }

    /// Training tokens in all.
    pub fn train_tokens(&self) -> usize {
        self.train.iter().map(|d| d.ids.len()).sum()
    }
}

/// Draws `batch` windows of `len + 1` consecutive tokens from `docs` (a document with
/// probability proportional to its usable length, then a uniform offset), returned as inputs
/// and next-token targets, each `batch · len` row-major. A window never crosses a document
/// boundary. Documents shorter than `len + 1` tokens are skipped; `None` if all are.
pub fn sample_windows(
    docs: &[TokDoc],
    batch: usize,
    len: usize,
    rng: &mut Rng,
) -> Option<(Vec<u32>, Vec<u32>)> {
    let usable: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.ids.len() > len)
        .map(|(i, d)| (i, d.ids.len() - len))
        .collect();
    let total: usize = usable.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let mut x = Vec::with_capacity(batch * len);
    let mut y = Vec::with_capacity(batch * len);
    for _ in 0..batch {
        // One draw over all start positions = document by length, then offset.
        let mut r = rng.below(total);
        let mut pick = (usable[0].0, 0);
        for &(i, n) in &usable {
            if r < n {
                pick = (i, r);
                break;
            }
            r -= n;
        }
        let ids = &docs[pick.0].ids[pick.1..pick.1 + len + 1];
        x.extend_from_slice(&ids[..len]);
        y.extend_from_slice(&ids[1..]);
    }
    Some((x, y))
}

/// Consecutive, non-overlapping windows of `len` inputs (with their targets) covering the
/// first `max_tokens + 1` tokens of `doc`; a final partial window is dropped.
pub fn doc_windows(doc: &TokDoc, len: usize, max_tokens: usize) -> Vec<(Vec<u32>, Vec<u32>)> {
    let n = doc.ids.len().min(max_tokens + 1);
    let mut out = Vec::new();
    let mut s = 0;
    while s + len < n {
        out.push((
            doc.ids[s..s + len].to_vec(),
            doc.ids[s + 1..s + len + 1].to_vec(),
        ));
        s += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_stay_inside_documents_and_are_seeded() {
        let docs = vec![
            TokDoc {
                index: 0,
                title: "a".into(),
                ids: (0..10).collect(),
            },
            TokDoc {
                index: 1,
                title: "b".into(),
                ids: (100..103).collect(),
            },
        ];
        let (x, y) = sample_windows(&docs, 5, 4, &mut Rng::new(1)).expect("windows");
        for w in 0..5 {
            let xs = &x[w * 4..w * 4 + 4];
            assert!(xs.iter().all(|&t| t < 10), "the short document is skipped");
            assert!(xs.windows(2).all(|p| p[1] == p[0] + 1));
            assert_eq!(y[w * 4], xs[0] + 1);
        }
        assert_eq!(
            sample_windows(&docs, 5, 4, &mut Rng::new(1)).map(|p| p.0),
            Some(x)
        );
        assert!(sample_windows(&docs[1..], 1, 4, &mut Rng::new(1)).is_none());
        let w = doc_windows(&docs[0], 4, 100);
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].0, vec![4, 5, 6, 7]);
        assert_eq!(w[1].1, vec![5, 6, 7, 8]);
    }
}
