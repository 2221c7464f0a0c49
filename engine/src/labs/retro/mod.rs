//! RETRO (Borgeaud et al. 2021, "Improving language models by retrieving from trillions of
//! tokens"): a language model that, at the end of every chunk of m tokens, looks up the k
//! nearest chunks of a database keyed by a frozen BERT and attends to them (and their
//! continuations) through chunked cross-attention.
//!
//! Three modes race on the same seed and batches: the baseline (the LM core's decoder), RETRO
//! trained from scratch (the same decoder initialisation plus encoder and CCA; evaluated with
//! retrieval on and off), and, after them, the retrofit: the trained baseline frozen, a fresh
//! encoder and CCA trained alone for a tenth of the steps. Held-out documents are scored in
//! bits per byte, against neighbours, database size and the leakage filter bpb(α), with and
//! without injected copies of held-out text.

pub mod bert;
pub mod cache;
pub mod config;
pub mod copytask;
pub mod db;
pub mod eval;
pub mod index;
pub mod model;
#[cfg(test)]
mod tests;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::text::fnv1a;
use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, StepReport};
use crate::lm::corpus::{Corpus, Part};
use crate::lm::data::{Splits, TokDoc, sample_windows};
use crate::lm::model::{LmShape, TransformerLm, int_tensor, token_losses};
use crate::lm::tokenizer::Tokenizer;
use crate::nn::{descend, scalar, to_vec, train_step};
use crate::results::Results;
use crate::rng::Rng;

use bert::MiniLm;
use cache::KeyCache;
pub use config::{RetrieverKind, RetroConfig};
use db::{ChunkRef, Database, Entry, Hit, chunk_share};
pub use eval::Evaluation;
use model::{RetroLm, RetroParts, RetroShape};
pub use view::{DocView, EvalView, NeighbourView, RetroView, SampleView};

const STREAM_INIT: u64 = 1;
const STREAM_DATA: u64 = 2;
const STREAM_SAMPLE: u64 = 3;
const STREAM_RETRIEVER: u64 = 4;
const STREAM_PARTS: u64 = 5;
const STREAM_RETROFIT: u64 = 6;
const STREAM_RETROFIT_DATA: u64 = 7;
/// Neighbours searched for each held-out chunk (the largest k of the sweep).
pub const K_MAX: usize = 16;
/// Nearest training chunks the leakage ratio r(C) compares with (the paper's 10).
pub const LEAK_NEIGHBOURS: usize = 10;
/// MiniLM chunks embedded per batch.
const EMBED_BATCH: usize = 32;

/// What a user can ask of the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetroAction {
    /// Score the held-out documents now (also done at the end).
    Evaluate,
    /// Sample a continuation of `prompt` from RETRO with retrieval, showing what it retrieved.
    Continue {
        /// The text to continue.
        prompt: String,
    },
}

/// The frozen retriever.
enum Retriever {
    MiniLm(Box<MiniLm>),
    /// Token embedding rows `[vocab, dim]` of the small LM.
    LmMean {
        emb: Vec<f32>,
        dim: usize,
    },
}

impl Retriever {
    fn dim(&self) -> usize {
        match self {
            Retriever::MiniLm(_) => bert::BertShape::MINILM.d,
            Retriever::LmMean { dim, .. } => *dim,
        }
    }

    /// Keys of token chunks, computed (no cache).
    fn keys(&self, tok: &Tokenizer, chunks: &[&[u32]]) -> Result<Vec<Vec<f32>>, LabError> {
        match self {
            Retriever::MiniLm(m) => {
                let texts: Vec<String> = chunks.iter().map(|c| tok.decode(c)).collect();
                m.keys(&texts)
            }
            Retriever::LmMean { emb, dim } => Ok(chunks
                .iter()
                .map(|c| {
                    let mut v = vec![0f32; *dim];
                    for &id in *c {
                        let row = id as usize * dim;
                        if let Some(r) = emb.get(row..row + dim) {
                            for (a, b) in v.iter_mut().zip(r) {
                                *a += b;
                            }
                        }
                    }
                    let n = c.len().max(1) as f32;
                    v.iter_mut().for_each(|x| *x /= n);
                    v
                })
                .collect()),
        }
    }
}

/// Trains the fallback retriever's small LM (its own stream) and returns its embedding rows.
fn train_lm_mean(
    cfg: &RetroConfig,
    splits: &Splits,
    root: &Rng,
    device: &Device,
) -> Result<Retriever, LabError> {
    let dim = cfg.retriever_d;
    let shape = LmShape {
        vocab: splits.tokenizer.vocab_size(),
        d_model: dim,
        layers: 1,
        heads: if dim.is_multiple_of(2) { 2 } else { 1 },
        context: cfg.chunk,
        tied: true,
    };
    let mut rng = root.fork(STREAM_RETRIEVER);
    let mut lm = TransformerLm::new(shape, &mut rng, device);
    let settings = crate::lm::train::TrainSettings {
        lr: 3e-3,
        min_lr: 3e-4,
        warmup: 10,
        decay_steps: cfg.retriever_steps,
        weight_decay: 0.0,
        beta2: 0.99,
        grad_clip: 1.0,
    };
    let mut opt = settings.optimizer();
    let b = 16;
    for s in 0..cfg.retriever_steps {
        let (x, y) = sample_windows(&splits.train, b, cfg.chunk, &mut rng)
            .ok_or_else(|| LabError::data("training documents", "shorter than one chunk"))?;
        let (xt, yt) = (
            int_tensor(&x, b, cfg.chunk, device),
            int_tensor(&y, b, cfg.chunk, device),
        );
        lm = train_step(lm, &mut opt, settings.lr_at(s), |m| {
            Ok(token_losses(m.logits(xt), yt).mean())
        })?
        .0;
    }
    let emb = to_vec(lm.valid().tok.weight.val())?;
    Ok(Retriever::LmMean { emb, dim })
}

/// The RETRO lab.
pub struct RetroLab {
    cfg: RetroConfig,
    device: Device,
    splits: Splits,
    /// Train, then validation, then test documents.
    docs: Vec<TokDoc>,
    parts: Vec<Part>,
    /// Key row of every aligned full chunk `(doc, start)` of every document.
    chunk_index: HashMap<(usize, usize), usize>,
    db: Database,
    retriever: Retriever,
    retriever_note: String,
    /// Test documents whose copies are injected.
    dup_docs: Vec<bool>,
    base: RetroLm,
    base_opt: ModuleOptimizer,
    retro: RetroLm,
    retro_opt: ModuleOptimizer,
    retrofit: Option<(RetroLm, ModuleOptimizer)>,
    rng_data: Rng,
    rng_retrofit: Rng,
    root: Rng,
    step: u64,
    valid: Vec<(u64, f64, f64, f64)>,
    retrofit_valid: Vec<(u64, f64)>,
    eval: Option<Evaluation>,
    doc: Option<DocView>,
    sample: Option<SampleView>,
    samples_drawn: u64,
    version: u64,
    /// Wall seconds of the key embedding (0 when all came from the cache).
    embed_seconds: f64,
    embedded: usize,
    /// Training tokens per second: baseline, RETRO.
    train_time: [f64; 2],
}

/// A training batch: inputs `[B, T]`, targets `[B, T]`, neighbours `[B, l, k, 2m]`.
type Batch = (Tensor<2, Int>, Tensor<2, Int>, Tensor<4, Int>);

/// The retrieval parts' sizes: RETRO blocks at every third layer from the middle.
fn retro_shape(cfg: &RetroConfig) -> RetroShape {
    RetroShape {
        chunk: cfg.chunk,
        d_enc: cfg.d_enc,
        enc_layers: cfg.enc_layers,
        heads: cfg.heads,
        layers: RetroShape::every_third_from_middle(cfg.layers),
        rel_scale: cfg.rel_scale as f32,
        copy_init: cfg.copy_init as f32,
        align_init: cfg.align_init as f32,
        align_heads: cfg.align_heads,
        match_gate: cfg.match_gate as f32,
        sink_init: cfg.sink_init as f32,
    }
}

/// Aligned training windows: `(doc, start)` with `start` a multiple of `m` and `t + 1` tokens
/// inside the document, drawn by usable length.
fn sample_aligned(
    docs: &[TokDoc],
    batch: usize,
    t: usize,
    m: usize,
    rng: &mut Rng,
) -> Option<Vec<(usize, usize)>> {
    let usable: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.ids.len() > t)
        .map(|(i, d)| (i, (d.ids.len() - t - 1) / m + 1))
        .collect();
    let total: usize = usable.iter().map(|u| u.1).sum();
    if total == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(batch);
    for _ in 0..batch {
        let mut r = rng.below(total);
        for &(i, n) in &usable {
            if r < n {
                out.push((i, r * m));
                break;
            }
            r -= n;
        }
    }
    Some(out)
}

/// Which entries a search may return.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Filter {
    /// Injected duplicates allowed.
    pub duplicates: bool,
    /// Database share.
    pub fraction: f64,
    /// Training: exclude the query's own document.
    pub exclude_own: bool,
}

impl RetroLab {
    fn m(&self) -> usize {
        self.cfg.chunk
    }

    /// The key row of the chunk at `(doc, start)`.
    fn row(&self, doc: usize, start: usize) -> Result<usize, LabError> {
        self.chunk_index
            .get(&(doc, start))
            .copied()
            .ok_or_else(|| LabError::compute(format!("no chunk at document {doc}, token {start}")))
    }

    /// Nearest entries of each chunk `(doc, start)` under `filter`.
    pub fn neighbours(
        &self,
        queries: &[(usize, usize)],
        k: usize,
        filter: Filter,
    ) -> Result<Vec<Vec<Hit>>, LabError> {
        let rows: Vec<usize> = queries
            .iter()
            .map(|&(d, s)| self.row(d, s))
            .collect::<Result<_, _>>()?;
        let dev = self.device.clone().without_autodiff();
        self.db.search(&rows, k, &dev, |q, e| {
            (filter.duplicates || !e.duplicate)
                && e.share < filter.fraction
                && !(filter.exclude_own && e.doc_id == queries[q].0)
        })
    }

    /// The value tokens (chunk + continuation, 2m) of an entry.
    fn value(&self, e: &Entry) -> &[u32] {
        let m = self.m();
        &self.docs[e.at.doc].ids[e.at.start..e.at.start + 2 * m]
    }

    /// Neighbour tokens `[B, l, k, 2m]` for windows whose chunks' hits are `hits` (B·l lists,
    /// window-major); missing neighbours (a database smaller than k) repeat the last found, or
    /// are all-zero tokens when none was.
    fn neighbour_tensor(
        &self,
        hits: &[Vec<Hit>],
        b: usize,
        k: usize,
        device: &Device,
    ) -> Tensor<4, Int> {
        let m = self.m();
        let l = self.cfg.context / m;
        let r = 2 * m;
        let mut data = Vec::with_capacity(b * l * k * r);
        for h in hits {
            for j in 0..k {
                match h.get(j).or(h.last()) {
                    Some(hit) => data.extend(
                        self.value(&self.db.entries[hit.entry])
                            .iter()
                            .map(|&x| x as i64),
                    ),
                    None => data.extend(std::iter::repeat_n(0i64, r)),
                }
            }
        }
        Tensor::from_data(TensorData::new(data, [b, l, k, r]), device)
    }

    /// Inputs, targets and the chunk queries of aligned windows.
    fn window_batch(
        &self,
        windows: &[(usize, usize)],
    ) -> (Vec<u32>, Vec<u32>, Vec<(usize, usize)>) {
        let (t, m) = (self.cfg.context, self.m());
        let mut x = Vec::with_capacity(windows.len() * t);
        let mut y = Vec::with_capacity(windows.len() * t);
        let mut q = Vec::new();
        for &(d, s) in windows {
            let ids = &self.docs[d].ids;
            x.extend_from_slice(&ids[s..s + t]);
            y.extend_from_slice(&ids[s + 1..s + t + 1]);
            q.extend((0..t / m).map(|u| (d, s + u * m)));
        }
        (x, y, q)
    }

    /// The training neighbours of a batch of windows: k_train each, never from the window's
    /// own document, no duplicates, the whole database.
    pub fn train_hits(&self, queries: &[(usize, usize)]) -> Result<Vec<Vec<Hit>>, LabError> {
        self.neighbours(
            queries,
            self.cfg.k_train,
            Filter {
                duplicates: false,
                fraction: 1.0,
                exclude_own: true,
            },
        )
    }

    fn validate(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let dev = self.device.clone().without_autodiff();
        let windows = eval::windows(
            &self.docs,
            &self.parts,
            Part::Valid,
            self.cfg.context,
            self.cfg.valid_tokens,
        );
        let (_, _, queries) = self.window_batch(&windows);
        let hits = self.neighbours(
            &queries,
            self.cfg.k_eval,
            Filter {
                duplicates: false,
                fraction: 1.0,
                exclude_own: false,
            },
        )?;
        let k = self.cfg.k_eval;
        let mut sums = [0f64; 4];
        let mut n = 0usize;
        let l = self.cfg.context / self.m();
        let (base, retro) = (self.base.valid(), self.retro.valid());
        let retrofit = self.retrofit.as_ref().map(|r| r.0.valid());
        for (wi, group) in windows.chunks(8).enumerate() {
            let b = group.len();
            let (x, y, _) = self.window_batch(group);
            let t = self.cfg.context;
            let (xt, yt) = (int_tensor(&x, b, t, &dev), int_tensor(&y, b, t, &dev));
            let h = &hits[wi * 8 * l..(wi * 8 + b) * l];
            let nb = self.neighbour_tensor(h, b, k, &dev);
            let loss = |m: &RetroLm, nb: Option<Tensor<4, Int>>| -> Result<f64, LabError> {
                scalar(
                    token_losses(m.logits(xt.clone(), nb), yt.clone())
                        .sum()
                        .reshape([1]),
                )
            };
            match &retrofit {
                Some(rf) => sums[3] += loss(rf, Some(nb))?,
                None => {
                    sums[0] += loss(&base, None)?;
                    sums[1] += loss(&retro, Some(nb))?;
                    sums[2] += loss(&retro, None)?;
                }
            }
            n += b * t;
        }
        let n = n.max(1) as f64;
        let v = sums.map(|s| s / n);
        if self.retrofit.is_some() {
            report.push("val_retrofit", v[3]);
            self.retrofit_valid
                .push((self.step.saturating_sub(self.cfg.steps), v[3]));
        } else {
            report.push("val_base", v[0]);
            report.push("val_retro", v[1]);
            report.push("val_retro_off", v[2]);
            self.valid.push((self.step, v[0], v[1], v[2]));
        }
        self.version += 1;
        Ok(())
    }

    /// A training batch drawn with `rng` (the race's or the retrofit's stream): inputs,
    /// targets and the k_train neighbours of every chunk.
    fn train_batch(&self, rng: &mut Rng) -> Result<Batch, LabError> {
        let (t, b) = (self.cfg.context, self.cfg.batch);
        let train_docs = self.splits.train.len();
        let windows =
            sample_aligned(&self.docs[..train_docs], b, t, self.m(), rng).ok_or_else(|| {
                LabError::data("training documents", "none is longer than the context")
            })?;
        let (x, y, queries) = self.window_batch(&windows);
        let hits = self.train_hits(&queries)?;
        let nb = self.neighbour_tensor(&hits, b, self.cfg.k_train, &self.device);
        Ok((
            int_tensor(&x, b, t, &self.device),
            int_tensor(&y, b, t, &self.device),
            nb,
        ))
    }

    /// One step of the baseline and RETRO on the same batch.
    fn train_both(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let mut rng = self.rng_data.clone();
        let (xt, yt, nb) = self.train_batch(&mut rng)?;
        self.rng_data = rng;
        let lr = self.cfg.train().lr_at(self.step);
        report.push("lr", lr);
        let clock = std::time::Instant::now();
        let loss = token_losses(self.base.logits(xt.clone(), None), yt.clone()).mean();
        report.push("loss_base", scalar(loss.clone().detach())?);
        self.base = descend(self.base.clone(), loss, &mut self.base_opt, lr);
        self.train_time[0] += clock.elapsed().as_secs_f64();
        let clock = std::time::Instant::now();
        let loss = token_losses(self.retro.logits(xt, Some(nb)), yt).mean();
        report.push("loss_retro", scalar(loss.clone().detach())?);
        self.retro = descend(self.retro.clone(), loss, &mut self.retro_opt, lr);
        self.train_time[1] += clock.elapsed().as_secs_f64();
        Ok(())
    }

    /// The retrofit model: the trained baseline frozen, fresh encoder and CCA (own stream).
    fn start_retrofit(&mut self) {
        if self.retrofit.is_some() {
            return;
        }
        let lm = self.base.lm.clone().no_grad();
        let parts = RetroParts::new(
            &lm.shape,
            self.retro_shape(),
            &mut self.root.fork(STREAM_RETROFIT),
            &self.device,
        );
        self.retrofit = Some((
            RetroLm {
                lm,
                parts: Some(parts),
            },
            self.cfg.retrofit().optimizer(),
        ));
    }

    fn train_retrofit(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        self.start_retrofit();
        let mut rng = self.rng_retrofit.clone();
        let (xt, yt, nb) = self.train_batch(&mut rng)?;
        self.rng_retrofit = rng;
        let rs = self.step - self.cfg.steps;
        let lr = self.cfg.retrofit().lr_at(rs);
        report.push("lr", lr);
        if let Some((model, mut opt)) = self.retrofit.take() {
            let loss = token_losses(model.logits(xt, Some(nb)), yt).mean();
            report.push("loss_retrofit", scalar(loss.clone().detach())?);
            let model = descend(model, loss, &mut opt, lr);
            self.retrofit = Some((model, opt));
        }
        Ok(())
    }

    /// Measured speeds: training tokens per second of the baseline and RETRO, and the key
    /// embedding pass (chunks embedded now, not read from the cache).
    fn timing(&self) -> serde_json::Value {
        let tokens =
            (self.cfg.steps.min(self.step) as usize * self.cfg.batch * self.cfg.context) as f64;
        let rate = |secs: f64| if secs > 0.0 { tokens / secs } else { 0.0 };
        serde_json::json!({
            "train_tokens_per_s_base": rate(self.train_time[0]),
            "train_tokens_per_s_retro": rate(self.train_time[1]),
            "keys_embedded": self.embedded,
            "embed_seconds": self.embed_seconds,
            "embed_chunks_per_s": if self.embed_seconds > 0.0 { self.embedded as f64 / self.embed_seconds } else { 0.0 },
        })
    }

    fn retro_shape(&self) -> RetroShape {
        retro_shape(&self.cfg)
    }
}

/// Embeds the chunks' keys with `retriever`, through the on-disk cache for MiniLM, printing
/// progress to stderr. Returns the keys (row-major), how many were computed and the seconds
/// that took.
fn embed_keys(
    retriever: &Retriever,
    tok: &Tokenizer,
    docs: &[TokDoc],
    chunks: &[ChunkRef],
    m: usize,
) -> Result<(Vec<f32>, usize, f64), LabError> {
    let dim = retriever.dim();
    let slice = |c: &ChunkRef| &docs[c.doc].ids[c.start..c.start + m];
    let Retriever::MiniLm(_) = retriever else {
        let all: Vec<&[u32]> = chunks.iter().map(slice).collect();
        let keys = retriever.keys(tok, &all)?;
        return Ok((keys.concat(), chunks.len(), 0.0));
    };
    let mut cache = KeyCache::open("minilm", dim);
    let texts: Vec<String> = chunks.iter().map(|c| tok.decode(slice(c))).collect();
    let mut missing: Vec<usize> = (0..chunks.len())
        .filter(|&i| cache.get(&texts[i]).is_none())
        .collect();
    missing.dedup_by(|a, b| texts[*a] == texts[*b]);
    let clock = std::time::Instant::now();
    let total = missing.len();
    if total > 0 {
        eprintln!(
            "retro: embedding {total} chunk keys with MiniLM ({} cached)",
            cache.len()
        );
    }
    for (done, batch) in missing.chunks(EMBED_BATCH).enumerate() {
        let ids: Vec<&[u32]> = batch.iter().map(|&i| slice(&chunks[i])).collect();
        let keys = retriever.keys(tok, &ids)?;
        let items: Vec<(String, Vec<f32>)> =
            batch.iter().map(|&i| texts[i].clone()).zip(keys).collect();
        cache.insert(&items)?;
        let n = ((done + 1) * EMBED_BATCH).min(total);
        if (done + 1) % 8 == 0 || n == total {
            let s = clock.elapsed().as_secs_f64();
            eprintln!(
                "retro: keys {n}/{total} ({:.1} chunks/s)",
                n as f64 / s.max(1e-9)
            );
        }
    }
    let mut keys = Vec::with_capacity(chunks.len() * dim);
    for t in &texts {
        let k = cache
            .get(t)
            .ok_or_else(|| LabError::compute("a key is missing from the cache after embedding"))?;
        keys.extend_from_slice(k);
    }
    Ok((keys, total, clock.elapsed().as_secs_f64()))
}

impl Lab for RetroLab {
    const ID: &'static str = "retro";
    const NAME: &'static str = "RETRO: retrieval-enhanced language model";
    const PAPER: &'static str =
        "Borgeaud et al. 2021, Improving language models by retrieving from trillions of tokens";
    const SUMMARY: &'static str = "A language model that looks things up. At the end of every \
        chunk of m tokens it retrieves the k nearest chunks of a database (keys: a frozen \
        BERT's embeddings; values: neighbour plus continuation), encodes them and attends to \
        them through chunked cross-attention, shifted so a chunk only sees neighbours of \
        earlier chunks. A baseline, RETRO from scratch and a retrofitted baseline race on the \
        same seed and batches; held-out bits per byte against neighbours, database size and \
        the leakage filter bpb(α).";
    const TINY: &'static [&'static str] = &[
        "retriever=lm-mean",
        "retriever_steps=3",
        "retriever_d=8",
        "max_docs=60",
        "test_docs=2",
        "valid_docs=1",
        "tokenizer=char",
        "d_model=16",
        "d_enc=8",
        "layers=2",
        "heads=2",
        "chunk=4",
        "context=16",
        "batch=2",
        "steps=4",
        "retrofit_steps=2",
        "eval_every=2",
        "valid_tokens=32",
        "test_tokens=32",
        "sample_tokens=6",
    ];

    type Config = RetroConfig;
    type View = RetroView;
    type Action = RetroAction;

    fn new(cfg: RetroConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let full = Corpus::load(cfg.corpus)?;
        let corpus = if cfg.max_docs > 0 && cfg.max_docs < full.docs.len() {
            Corpus {
                name: full.name,
                docs: full.docs[..cfg.max_docs].to_vec(),
            }
        } else {
            (*full).clone()
        };
        let corpus_parts = corpus.split(cfg.valid_docs, cfg.test_docs);
        let tok = Arc::new(crate::lm::tokenizer::build(
            cfg.tokenizer,
            cfg.bpe_vocab,
            &corpus,
            &corpus_parts,
        )?);
        let splits = Splits::new(&corpus, &corpus_parts, tok);
        let mut docs = Vec::new();
        let mut parts = Vec::new();
        for (list, part) in [
            (&splits.train, Part::Train),
            (&splits.valid, Part::Valid),
            (&splits.test, Part::Test),
        ] {
            docs.extend(list.iter().cloned());
            parts.extend(std::iter::repeat_n(part, list.len()));
        }
        let m = cfg.chunk;
        let mut chunks = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            let mut s = 0;
            while s + m <= d.ids.len() {
                chunks.push(ChunkRef { doc: i, start: s });
                s += m;
            }
        }
        let chunk_index = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.doc, c.start), i))
            .collect();
        let root = Rng::new(cfg.seed);
        let dev = device.clone().without_autodiff();
        let (retriever, retriever_note) = match cfg.retriever {
            RetrieverKind::Minilm => match bert::minilm_dir().map(|d| MiniLm::load(&d, &dev)) {
                Some(Ok(m)) => (Retriever::MiniLm(Box::new(m)), "minilm".to_string()),
                failed => {
                    let why = match failed {
                        Some(Err(e)) => e.to_string(),
                        _ => "no cache folder ($HOME is unset)".to_string(),
                    };
                    (
                        train_lm_mean(&cfg, &splits, &root, &device)?,
                        format!(
                            "lm-mean (fallback: MiniLM unavailable: {why}; run scripts/fetch_minilm.sh)"
                        ),
                    )
                }
            },
            RetrieverKind::LmMean => (
                train_lm_mean(&cfg, &splits, &root, &device)?,
                "lm-mean".to_string(),
            ),
        };
        let (keys, embedded, embed_seconds) =
            embed_keys(&retriever, &splits.tokenizer, &docs, &chunks, m)?;
        let hashed = |salt: &str, d: &TokDoc| {
            (fnv1a(format!("{salt}|{}", d.title).as_bytes()) >> 11) as f64 / (1u64 << 53) as f64
        };
        let dup_docs: Vec<bool> = docs
            .iter()
            .zip(&parts)
            .map(|(d, p)| *p == Part::Test && hashed("retro-dup", d) < cfg.dup_share)
            .collect();
        let twice: Vec<bool> = docs
            .iter()
            .zip(&parts)
            .map(|(d, p)| *p == Part::Train && hashed("retro-twice", d) < cfg.train_dup_share)
            .collect();
        let mut entries = Vec::new();
        for (row, c) in chunks.iter().enumerate() {
            let full = c.start + 2 * m <= docs[c.doc].ids.len();
            let part = parts[c.doc];
            if full && (part == Part::Train || dup_docs[c.doc]) {
                entries.push(Entry {
                    at: *c,
                    doc_id: c.doc,
                    key: row,
                    share: chunk_share(c.doc, c.start),
                    duplicate: part != Part::Train,
                });
            }
            if full && twice[c.doc] {
                // The copy: same tokens and key, another document id.
                entries.push(Entry {
                    at: *c,
                    doc_id: docs.len() + c.doc,
                    key: row,
                    share: chunk_share(docs.len() + c.doc, c.start),
                    duplicate: false,
                });
            }
        }
        let db = Database::new(retriever.dim(), keys, entries);
        let shape = cfg.shape(splits.tokenizer.vocab_size());
        let base = RetroLm {
            lm: TransformerLm::new(shape, &mut root.fork(STREAM_INIT), &device),
            parts: None,
        };
        // The same decoder initialisation: the race differs only in retrieval.
        let retro = RetroLm {
            lm: TransformerLm::new(shape, &mut root.fork(STREAM_INIT), &device),
            parts: Some(RetroParts::new(
                &shape,
                retro_shape(&cfg),
                &mut root.fork(STREAM_PARTS),
                &device,
            )),
        };
        let t = cfg.train();
        Ok(RetroLab {
            base_opt: t.optimizer(),
            retro_opt: t.optimizer(),
            rng_data: root.fork(STREAM_DATA),
            rng_retrofit: root.fork(STREAM_RETROFIT_DATA),
            root,
            splits,
            docs,
            parts,
            chunk_index,
            db,
            retriever,
            retriever_note,
            dup_docs,
            base,
            retro,
            retrofit: None,
            cfg,
            device,
            step: 0,
            valid: Vec::new(),
            retrofit_valid: Vec::new(),
            eval: None,
            doc: None,
            sample: None,
            samples_drawn: 0,
            version: 0,
            embed_seconds,
            embedded,
            train_time: [0.0; 2],
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let (steps, rf) = (self.cfg.steps, self.cfg.retrofit_steps);
        if self.step < steps {
            self.train_both(&mut report)?;
            self.step += 1;
            let every = self.cfg.eval_every;
            if self.step == steps || (every > 0 && self.step.is_multiple_of(every)) {
                self.validate(&mut report)?;
            }
        } else if self.step < steps + rf {
            self.train_retrofit(&mut report)?;
            self.step += 1;
            let every = (rf / 6).max(1);
            if (self.step - steps).is_multiple_of(every) {
                self.validate(&mut report)?;
            }
        }
        Ok(report)
    }

    fn view(&self) -> RetroView {
        let phase = if self.step < self.cfg.steps {
            "training the baseline and RETRO on the same batches".to_string()
        } else if self.step < self.cfg.steps + self.cfg.retrofit_steps {
            "retrofitting the frozen baseline".to_string()
        } else {
            "done training".to_string()
        };
        RetroView {
            step: self.step,
            planned: self.cfg.steps + self.cfg.retrofit_steps,
            phase,
            data: format!(
                "{:?}, {} documents ({} held out), {} ids, database {} chunks of {} tokens ({} injected duplicates), {} keys computed in {:.0} s",
                self.cfg.corpus,
                self.docs.len(),
                self.splits.valid.len() + self.splits.test.len(),
                self.splits.tokenizer.vocab_size(),
                self.db.entries.iter().filter(|e| !e.duplicate).count(),
                self.cfg.chunk,
                self.db.entries.iter().filter(|e| e.duplicate).count(),
                self.embedded,
                self.embed_seconds,
            ),
            retriever: self.retriever_note.clone(),
            valid: self.valid.clone(),
            retrofit: self.retrofit_valid.clone(),
            eval: self.eval.as_ref().map(|e| e.view.clone()),
            doc: self.doc.clone(),
            sample: self.sample.clone(),
            k_eval: self.cfg.k_eval,
            db_fraction: self.cfg.db_fraction,
            retrieval_eval: self.cfg.retrieval_eval,
            inject_duplicates: self.cfg.inject_duplicates,
            temperature: self.cfg.temperature,
        }
    }

    fn view_version(&self) -> Option<u64> {
        Some(self.version * 1_000_000 + self.step)
    }

    fn config(&self) -> &RetroConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut RetroConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "k_eval",
                "neighbours at evaluation",
                "Neighbours per chunk when scoring held-out text (re-scores it now).",
            ),
            Knob::new(
                "db_fraction",
                "database share",
                "Share of the database searched at evaluation (a fixed hash subset).",
            ),
            Knob::new(
                "retrieval_eval",
                "retrieval on at evaluation",
                "Off: RETRO and the retrofit scored without neighbours.",
            ),
            Knob::new(
                "inject_duplicates",
                "inject duplicates",
                "Put copies of half the held-out documents into the database (leakage).",
            ),
            Knob::new(
                "temperature",
                "sampling temperature",
                "Temperature of \"continue this text\" (0 = greedy).",
            ),
        ];
        KNOBS
    }

    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        if key != "temperature" && self.eval.is_some() {
            let mut r = StepReport::default();
            self.evaluate(&mut r)?;
        }
        Ok(())
    }

    fn headline(cfg: &RetroConfig) -> Vec<&'static str> {
        let mut keys = vec!["bpb_base", "bpb_retro", "bpb_retro_off", "bpb_retrofit"];
        // r(C) ≤ 0.125 allows a run of m/8 shared tokens: with chunks under 16 tokens that is
        // at most one token, so hardly any chunk qualifies and bpb(0.125) may be undefined
        // (the tiny test settings use 4-token chunks).
        if cfg.chunk >= 16 {
            keys.extend(["bpb_base_alpha_0125", "bpb_retro_alpha_0125"]);
        }
        keys
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.steps + self.cfg.retrofit_steps)
    }

    fn act(&mut self, action: RetroAction) -> Result<ActionReport, LabError> {
        match action {
            RetroAction::Evaluate => {
                let mut metrics = StepReport::default();
                self.evaluate(&mut metrics)?;
                Ok(ActionReport {
                    message: String::new(),
                    metrics,
                })
            }
            RetroAction::Continue { prompt } => {
                if prompt.chars().count() > 2000 {
                    return Err(LabError::Action(
                        "the prompt is over 2,000 characters".into(),
                    ));
                }
                let s = self.continue_text(&prompt)?;
                let message = format!("continued: {}", s.text.chars().take(60).collect::<String>());
                self.sample = Some(s);
                self.version += 1;
                Ok(ActionReport {
                    message,
                    ..ActionReport::default()
                })
            }
        }
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        self.start_retrofit();
        self.validate(&mut report)?;
        self.evaluate(&mut report)?;
        let base_final = self.valid.last().map(|v| v.1);
        let beat = self
            .retrofit_valid
            .iter()
            .find(|(_, v)| base_final.is_some_and(|b| *v < b))
            .map_or(-1.0, |(s, _)| *s as f64);
        report.push("retrofit_steps_to_beat_base", beat);
        report.push(
            "retrofit_steps_share",
            self.cfg.retrofit_steps as f64 / self.cfg.steps as f64,
        );
        report.push(
            "db_chunks",
            self.db.entries.iter().filter(|e| !e.duplicate).count() as f64,
        );
        Ok(report)
    }

    fn results(&self) -> Results {
        self.results_view()
    }

    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        let name = if self.retriever_note == "minilm" {
            "minilm"
        } else {
            "lm-mean"
        };
        let mut out = vec![(
            "summary".to_string(),
            serde_json::json!({"retriever": name, "retriever_note": self.retriever_note}),
        )];
        if let Some(e) = &self.eval {
            let m: serde_json::Map<String, serde_json::Value> = e
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                .collect();
            out.push((
                "retro_eval".to_string(),
                serde_json::json!({
                    "retriever": self.retriever_note,
                    "metrics": m,
                    "by_k": e.view.by_k,
                    "by_db": e.view.by_db,
                    "leakage_clean": e.view.leakage,
                    "leakage_dup": e.view.leakage_dup,
                    "kept_share": e.view.kept,
                    "validation": self.valid,
                    "retrofit_validation": self.retrofit_valid,
                    // Measured wall-clock figures: here, not in the metrics, which must be the
                    // same for the same seed.
                    "timing": self.timing(),
                }),
            ));
        }
        out
    }
}
