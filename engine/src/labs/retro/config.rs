//! Configuration of the RETRO lab.

use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{LabConfig, Range};
use crate::labs::fwl::TokenizerKind;
use crate::lm::corpus::CorpusName;
use crate::lm::model::LmShape;
use crate::lm::train::TrainSettings;

/// Which frozen retriever keys the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetrieverKind {
    /// all-MiniLM-L6-v2 (a 6-layer BERT), mean-pooled and normalised; needs
    /// `scripts/fetch_minilm.sh`, else the lab falls back to `lm-mean` and says so.
    #[default]
    Minilm,
    /// The cheap fallback: time-averaged token embeddings of a small LM trained separately
    /// (its own seed stream) on the training documents, then frozen.
    LmMean,
}

impl RetrieverKind {
    /// The name summaries report.
    pub fn name(self) -> &'static str {
        match self {
            RetrieverKind::Minilm => "minilm",
            RetrieverKind::LmMean => "lm-mean",
        }
    }
}

/// The lab's configuration; every field has a default so presets list only what they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetroConfig {
    /// Seed for weights, data order and sampling.
    pub seed: u64,
    /// The text corpus (its training documents are the database).
    pub corpus: CorpusName,
    /// Use only the first N documents of the corpus (0 = all): keeps the database, and the
    /// first embedding pass, to a size two CPU cores manage.
    pub max_docs: usize,
    /// Tokeniser of the LM.
    pub tokenizer: TokenizerKind,
    /// BPE vocabulary size.
    pub bpe_vocab: usize,
    /// Held-out test documents.
    pub test_docs: usize,
    /// Held-out validation documents (the curves).
    pub valid_docs: usize,
    /// Decoder width.
    pub d_model: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Attention heads (decoder, encoder and cross-attention).
    pub heads: usize,
    /// Sequence length T (a multiple of `chunk`).
    pub context: usize,
    /// Chunk length m.
    pub chunk: usize,
    /// Encoder width d′.
    pub d_enc: usize,
    /// Encoder layers.
    pub enc_layers: usize,
    /// The relative-position logits of each CCA are stored divided by this (an effective
    /// learning-rate multiplier for them; 1 = plain).
    pub rel_scale: f64,
    /// 0 = the retrieval parts start random; else the CCA starts as a copy path of token
    /// identity with this gain (see the README).
    pub copy_init: f64,
    /// The relative-position logit each CCA head starts with at the aligned continuation
    /// offset (0 = none; see the README).
    pub align_init: f64,
    /// How many CCA heads (the first ones) start with `align_init` (0 = all).
    pub align_heads: usize,
    /// The match gate's starting weight on a neighbour's match share (with `sink_init`, both
    /// 0 = no gate, the paper's CCA; see the README).
    pub match_gate: f64,
    /// The match gate's starting logit of the null slot a head may attend to instead.
    pub sink_init: f64,
    /// Neighbours per chunk in training.
    pub k_train: usize,
    /// Neighbours per chunk at evaluation (knob).
    pub k_eval: usize,
    /// Share of the database searched at evaluation (knob; a fixed hash subset).
    pub db_fraction: f64,
    /// Retrieval on at evaluation (knob; off = the RETRO model without its neighbours).
    pub retrieval_eval: bool,
    /// Copies of held-out test documents in the database at evaluation (knob).
    pub inject_duplicates: bool,
    /// Share of the test documents whose copies are injected.
    pub dup_share: f64,
    /// Share of the training documents the database holds twice, the copy under another
    /// document id (the near-duplicates real corpora are full of): the same-document filter
    /// keeps the copy, so RETRO sees neighbours worth attending to in training. 0 = none.
    pub train_dup_share: f64,
    /// The retriever.
    pub retriever: RetrieverKind,
    /// Width of the fallback retriever's small LM.
    pub retriever_d: usize,
    /// Training steps of the fallback retriever's small LM.
    pub retriever_steps: u64,
    /// Sequences per batch.
    pub batch: usize,
    /// Training steps of the baseline and of RETRO from scratch.
    pub steps: u64,
    /// Retrofitting steps after them (the frozen baseline plus new encoder and CCA).
    pub retrofit_steps: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Peak learning rate of retrofitting.
    pub retrofit_lr: f64,
    /// Learning-rate floor.
    pub min_lr: f64,
    /// Warm-up steps.
    pub warmup: u64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Gradient-norm clip (0 = off).
    pub grad_clip: f64,
    /// Validation every N steps (0 = only at the end).
    pub eval_every: u64,
    /// Tokens scored per validation document.
    pub valid_tokens: usize,
    /// Tokens scored per test document (from its start).
    pub test_tokens: usize,
    /// Temperature of "continue this text".
    pub temperature: f64,
    /// Tokens "continue this text" generates.
    pub sample_tokens: usize,
}

impl Default for RetroConfig {
    fn default() -> Self {
        RetroConfig {
            seed: 1,
            corpus: CorpusName::Wikipedia,
            max_docs: 800,
            tokenizer: TokenizerKind::Bpe,
            bpe_vocab: 1024,
            test_docs: 24,
            valid_docs: 8,
            d_model: 128,
            layers: 4,
            heads: 4,
            context: 128,
            chunk: 32,
            d_enc: 64,
            enc_layers: 1,
            rel_scale: 1.0,
            copy_init: 0.0,
            align_init: 0.0,
            align_heads: 0,
            match_gate: 0.0,
            sink_init: 0.0,
            k_train: 2,
            k_eval: 2,
            db_fraction: 1.0,
            retrieval_eval: true,
            inject_duplicates: false,
            dup_share: 0.5,
            train_dup_share: 0.3,
            retriever: RetrieverKind::Minilm,
            retriever_d: 32,
            retriever_steps: 150,
            batch: 8,
            steps: 300,
            retrofit_steps: 30,
            lr: 2e-3,
            retrofit_lr: 2e-3,
            min_lr: 2e-4,
            warmup: 30,
            weight_decay: 0.1,
            grad_clip: 1.0,
            eval_every: 50,
            valid_tokens: 512,
            test_tokens: 1024,
            temperature: 0.8,
            sample_tokens: 96,
        }
    }
}

impl RetroConfig {
    /// The decoder's shape.
    pub fn shape(&self, vocab: usize) -> LmShape {
        LmShape {
            vocab,
            d_model: self.d_model,
            layers: self.layers,
            heads: self.heads,
            context: self.context,
            tied: true,
        }
    }

    /// Optimiser settings of the baseline and RETRO.
    pub fn train(&self) -> TrainSettings {
        TrainSettings {
            lr: self.lr,
            min_lr: self.min_lr,
            warmup: self.warmup,
            decay_steps: self.steps,
            weight_decay: self.weight_decay,
            beta2: 0.99,
            grad_clip: self.grad_clip,
        }
    }

    /// Optimiser settings of retrofitting (a tenth of the warm-up, its own cosine).
    pub fn retrofit(&self) -> TrainSettings {
        TrainSettings {
            lr: self.retrofit_lr,
            warmup: (self.retrofit_steps / 10).max(1),
            decay_steps: self.retrofit_steps,
            ..self.train()
        }
    }
}

impl LabConfig for RetroConfig {
    const RANGES: &'static [Range] = &[
        Range::choice("corpus", CorpusName::CHOICES),
        Range::int("max_docs", 0, 1_000_000),
        Range::choice("tokenizer", &["char", "bpe"]),
        Range::int("bpe_vocab", 260, 16_384),
        Range::int("test_docs", 1, 200),
        Range::int("valid_docs", 1, 200),
        Range::int("d_model", 8, 1024),
        Range::int("layers", 1, 24),
        Range::int("heads", 1, 32),
        Range::int("context", 4, 2048),
        Range::int("chunk", 2, 256),
        Range::int("d_enc", 4, 1024),
        Range::int("enc_layers", 1, 8),
        Range::float("rel_scale", 0.01, 1000.0, true),
        Range::float("copy_init", 0.0, 10.0, false),
        Range::float("align_init", 0.0, 30.0, false),
        Range::int("align_heads", 0, 32),
        Range::float("match_gate", 0.0, 50.0, false),
        Range::float("sink_init", -30.0, 30.0, false),
        Range::int("k_train", 1, 16),
        Range::int("k_eval", 1, 16),
        Range::float("db_fraction", 0.01, 1.0, false),
        Range::float("dup_share", 0.0, 1.0, false),
        Range::float("train_dup_share", 0.0, 1.0, false),
        Range::choice("retriever", &["minilm", "lm-mean"]),
        Range::int("retriever_d", 4, 512),
        Range::int("retriever_steps", 1, 100_000),
        Range::int("batch", 1, 512),
        Range::int("steps", 1, 10_000_000),
        Range::int("retrofit_steps", 1, 10_000_000),
        Range::float("lr", 1e-6, 1.0, true),
        Range::float("retrofit_lr", 1e-6, 1.0, true),
        Range::float("min_lr", 0.0, 1.0, false),
        Range::int("warmup", 0, 1_000_000),
        Range::float("weight_decay", 0.0, 1.0, false),
        Range::float("grad_clip", 0.0, 100.0, false),
        Range::int("valid_tokens", 8, 10_000_000),
        Range::int("test_tokens", 8, 10_000_000),
        Range::float("temperature", 0.0, 3.0, false),
        Range::int("sample_tokens", 1, 2000),
    ];

    fn check(&self) -> Result<(), LabError> {
        if !self.d_model.is_multiple_of(self.heads) || !self.d_enc.is_multiple_of(self.heads) {
            return Err(LabError::config("heads", "must divide d_model and d_enc"));
        }
        if !self.context.is_multiple_of(self.chunk) || self.context < 2 * self.chunk {
            return Err(LabError::config(
                "chunk",
                "context must be a multiple of chunk, at least two chunks",
            ));
        }
        if self.test_tokens < self.context || self.valid_tokens < self.context {
            return Err(LabError::config(
                "test_tokens",
                "test and validation tokens must cover at least one context",
            ));
        }
        Ok(())
    }
}
