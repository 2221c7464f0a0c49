//! Tokenisers: characters (the vocabulary is the training split's characters plus one id for
//! anything unseen) and, behind the same type, a byte-level BPE (see [`super::bpe`]).

use serde::{Deserialize, Serialize};

/// Id 0: a character the training split never contained.
pub const UNK: u32 = 0;

/// A character vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharVocab {
    /// The characters, id i+1 for `chars[i]` (sorted, so the vocabulary is deterministic).
    pub chars: Vec<char>,
}

impl CharVocab {
    /// The vocabulary of `texts` (the training documents).
    pub fn build<'a>(texts: impl Iterator<Item = &'a str>) -> CharVocab {
        let mut set = std::collections::BTreeSet::new();
        for t in texts {
            set.extend(t.chars());
        }
        CharVocab {
            chars: set.into_iter().collect(),
        }
    }
}

/// A tokeniser: text to ids and back.
#[derive(Debug, Clone)]
pub enum Tokenizer {
    /// One id per character.
    Char(CharVocab),
    /// Byte-level BPE trained on the training split.
    Bpe(Box<super::bpe::Bpe>),
}

impl Tokenizer {
    /// Number of ids.
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::Char(v) => v.chars.len() + 1,
            Tokenizer::Bpe(b) => b.vocab_size(),
        }
    }

    /// The ids of `text`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match self {
            Tokenizer::Char(v) => text
                .chars()
                .map(|c| v.chars.binary_search(&c).map_or(UNK, |i| i as u32 + 1))
                .collect(),
            Tokenizer::Bpe(b) => b.encode(text),
        }
    }

    /// The text of one id (`�` for the unknown id or an id out of range).
    pub fn piece(&self, id: u32) -> String {
        match self {
            Tokenizer::Char(v) => id
                .checked_sub(1)
                .and_then(|i| v.chars.get(i as usize))
                .map_or("\u{fffd}".to_string(), |c| c.to_string()),
            Tokenizer::Bpe(b) => b.piece(id),
        }
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> String {
        match self {
            Tokenizer::Char(_) => ids.iter().map(|&i| self.piece(i)).collect(),
            Tokenizer::Bpe(b) => b.decode(ids),
        }
    }

    /// Characters per token of `text` under this tokeniser (1 for characters), for turning
    /// nats per token into nats per character.
    pub fn chars_per_token(&self, text: &str) -> f64 {
        let n = self.encode(text).len().max(1);
        text.chars().count() as f64 / n as f64
    }
}

/// The tokeniser of `kind` built on the training documents of `corpus` under `parts` (the
/// character vocabulary, or a byte-level BPE of `bpe_vocab` ids).
pub fn build(
    kind: crate::labs::fwl::TokenizerKind,
    bpe_vocab: usize,
    corpus: &super::corpus::Corpus,
    parts: &[super::corpus::Part],
) -> Result<Tokenizer, crate::error::LabError> {
    use crate::labs::fwl::TokenizerKind;
    let train: Vec<&str> = corpus.texts_in(parts, super::corpus::Part::Train).collect();
    Ok(match kind {
        TokenizerKind::Char => Tokenizer::Char(CharVocab::build(train.into_iter())),
        TokenizerKind::Bpe => Tokenizer::Bpe(Box::new(super::bpe::Bpe::train(&train, bpe_vocab)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_round_trip_and_unseen_is_unk() {
        let t = Tokenizer::Char(CharVocab::build(["hello", "world"].into_iter()));
        assert_eq!(t.vocab_size(), 8);
        let ids = t.encode("hold");
        assert_eq!(t.decode(&ids), "hold");
        assert_eq!(t.encode("z"), vec![UNK]);
        assert_eq!(t.piece(99), "\u{fffd}");
    }
}
