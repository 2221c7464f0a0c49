//! The shared language-model core: document corpora with their boundaries, tokenisers
//! (characters; byte-level BPE trained on the training split), a decoder-only transformer in
//! burn, the training schedule, dynamic evaluation and sampling. Used by the LM and FWL labs,
//! and meant for RETRO and the harm labs.

pub mod bpe;
pub mod corpus;
pub mod data;
pub mod dyneval;
pub mod model;
pub mod sample;
pub mod tokenizer;
pub mod train;

pub use bpe::Bpe;
pub use corpus::{Corpus, CorpusName, Document, Part};
pub use data::{Splits, TokDoc, doc_windows, sample_windows};
pub use model::{LmShape, TransformerLm, int_tensor, token_losses};
pub use tokenizer::{CharVocab, Tokenizer};
pub use train::TrainSettings;
