//! A byte-level BPE trained on the training split with the `tokenizers` crate (no vocabulary
//! from a hub). Byte-level pre-tokenisation means every string encodes, with no unknown token.
//! The trained tokeniser serialises to the crate's JSON format, saved beside a run.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use crate::error::LabError;

/// A trained byte-level BPE.
#[derive(Clone)]
pub struct Bpe {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Bpe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bpe({} ids)", self.vocab_size())
    }
}

impl Bpe {
    /// Trains a vocabulary of about `vocab_size` ids (the 256 byte symbols included) on `texts`.
    pub fn train(texts: &[&str], vocab_size: usize) -> Result<Bpe, LabError> {
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let mut inner = tokenizers::Tokenizer::new(BPE::default());
        inner.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        inner
            .train(&mut trainer, texts.iter())
            .map_err(|e| LabError::compute(format!("training the BPE: {e}")))?;
        Ok(Bpe { inner })
    }

    /// Loads a tokeniser saved by [`Bpe::to_json`].
    pub fn from_json(json: &str) -> Result<Bpe, LabError> {
        let inner: tokenizers::Tokenizer = json
            .parse()
            .map_err(|e| LabError::data("BPE tokeniser JSON", format!("{e}")))?;
        Ok(Bpe { inner })
    }

    /// The tokeniser in the `tokenizers` crate's JSON format.
    pub fn to_json(&self) -> Result<String, LabError> {
        self.inner
            .to_string(false)
            .map_err(|e| LabError::compute(format!("saving the BPE: {e}")))
    }

    /// Number of ids.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The ids of `text` (empty if the tokeniser fails, which byte-level BPE does not).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, false).unwrap_or_default()
    }

    /// The text of one id.
    pub fn piece(&self, id: u32) -> String {
        self.decode(&[id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trains_round_trips_and_saves() {
        let texts = [
            "the cat sat on the mat",
            "the dog sat on the log",
            "the cat and the dog",
        ];
        let bpe = Bpe::train(&texts, 300).expect("train");
        assert!(
            bpe.vocab_size() > 256 && bpe.vocab_size() <= 300,
            "{}",
            bpe.vocab_size()
        );
        let ids = bpe.encode("the cat sat");
        assert!(
            ids.len() < "the cat sat".len(),
            "merges were learned: {ids:?}"
        );
        assert_eq!(bpe.decode(&ids), "the cat sat");
        assert_eq!(bpe.decode(&bpe.encode("ünseen wörds")), "ünseen wörds");
        let again = Bpe::from_json(&bpe.to_json().expect("json")).expect("load");
        assert_eq!(again.encode("the dog"), bpe.encode("the dog"));
        let other = Bpe::train(&texts, 300).expect("train");
        assert_eq!(
            other.encode("the cat and the log"),
            bpe.encode("the cat and the log")
        );
    }
}
