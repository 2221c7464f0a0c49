//! Held-out evaluation: every mode scored on the same aligned windows of the test documents,
//! per chunk (nats and bytes), so bits per byte can be filtered by the leakage ratio r(C);
//! the sweeps over neighbours and database share; the coloured document; sampling with
//! retrieval.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use super::db::{Hit, overlap_ratio};
use super::model::RetroLm;
use super::view::{DocView, EvalView, NeighbourView, SampleView};
use super::{Filter, K_MAX, LEAK_NEIGHBOURS, RetroLab, STREAM_SAMPLE};
use crate::error::LabError;
use crate::lab::StepReport;
use crate::lm::corpus::Part;
use crate::lm::data::TokDoc;
use crate::lm::model::{int_tensor, token_losses};
use crate::lm::sample::sample_logits;
use crate::nn::to_vec;
use crate::results::{Cell, CurveSet, Line, Results, Table};

/// The α values of the leakage curve.
pub const ALPHAS: [f64; 4] = [0.125, 0.25, 0.5, 1.0];
/// Metric suffixes of [`ALPHAS`].
pub const ALPHA_NAMES: [&str; 4] = ["0125", "025", "05", "1"];
/// Neighbours at evaluation in the sweep.
pub const KS: [usize; 5] = [1, 2, 4, 8, 16];
/// Database shares in the sweep.
pub const FRACTIONS: [f64; 3] = [0.1, 0.5, 1.0];

/// Aligned, non-overlapping windows `(doc, start)` of `t` tokens (plus one target) over the
/// first `max_tokens` of each document in `part`.
pub fn windows(
    docs: &[TokDoc],
    parts: &[Part],
    part: Part,
    t: usize,
    max_tokens: usize,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, (d, p)) in docs.iter().zip(parts).enumerate() {
        if *p != part {
            continue;
        }
        let n = d.ids.len().min(max_tokens + 1);
        let mut s = 0;
        while s + t < n {
            out.push((i, s));
            s += t;
        }
    }
    out
}

/// Bits per byte of the chunks `keep` selects.
pub fn bpb(nats: &[f64], bytes: &[usize], keep: impl Fn(usize) -> bool) -> f64 {
    let (mut n, mut b) = (0.0, 0usize);
    for (i, (x, y)) in nats.iter().zip(bytes).enumerate() {
        if keep(i) {
            n += x;
            b += y;
        }
    }
    if b == 0 {
        return f64::NAN;
    }
    n / std::f64::consts::LN_2 / b as f64
}

/// The results of one evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// For the panel and results.
    pub view: EvalView,
    /// The flat metrics it reported.
    pub metrics: Vec<(String, f64)>,
}

impl RetroLab {
    /// Per-token losses `[windows · T]` of `model` on `windows`, with the first `k` of each
    /// chunk's `hits` as neighbours (`None`: no retrieval).
    fn score(
        &self,
        model: &RetroLm,
        windows: &[(usize, usize)],
        hits: Option<(&[Vec<Hit>], usize)>,
    ) -> Result<Vec<f32>, LabError> {
        let dev = self.device.clone().without_autodiff();
        let t = self.cfg.context;
        let l = t / self.m();
        let mut out = Vec::with_capacity(windows.len() * t);
        for (gi, group) in windows.chunks(8).enumerate() {
            let b = group.len();
            let (x, y, _) = self.window_batch(group);
            let nb: Option<Tensor<4, Int>> = hits
                .map(|(h, k)| self.neighbour_tensor(&h[gi * 8 * l..(gi * 8 + b) * l], b, k, &dev));
            let lt = token_losses(
                model.logits(int_tensor(&x, b, t, &dev), nb),
                int_tensor(&y, b, t, &dev),
            );
            out.extend(to_vec(lt)?);
        }
        Ok(out)
    }

    /// Chunk sums of per-token losses.
    fn chunk_nats(&self, losses: &[f32]) -> Vec<f64> {
        losses
            .chunks(self.m())
            .map(|c| c.iter().map(|&x| x as f64).sum())
            .collect()
    }

    /// Scores the test documents in every mode and sweep; keeps the result and reports it.
    pub(super) fn evaluate(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        self.start_retrofit();
        let (t, m) = (self.cfg.context, self.m());
        let wins = windows(&self.docs, &self.parts, Part::Test, t, self.cfg.test_tokens);
        let (_, _, queries) = self.window_batch(&wins);
        let bytes: Vec<usize> = queries
            .iter()
            .map(|&(d, s)| {
                self.splits
                    .tokenizer
                    .decode(&self.docs[d].ids[s + 1..s + m + 1])
                    .len()
            })
            .collect();
        let clean = Filter {
            duplicates: false,
            fraction: 1.0,
            exclude_own: false,
        };
        let dup = Filter {
            duplicates: true,
            ..clean
        };
        let live = Filter {
            duplicates: self.cfg.inject_duplicates,
            fraction: self.cfg.db_fraction,
            exclude_own: false,
        };
        let k = self.cfg.k_eval;
        let h_clean = self.neighbours(&queries, K_MAX, clean)?;
        let h_dup = self.neighbours(&queries, K_MAX.max(k), dup)?;
        let h_live = self.neighbours(&queries, k.max(LEAK_NEIGHBOURS), live)?;
        let ratio = |hits: &[Vec<Hit>]| -> Vec<f64> {
            queries
                .iter()
                .zip(hits)
                .map(|(&(d, s), h)| {
                    let chunk = &self.docs[d].ids[s..s + m];
                    let ns: Vec<&[u32]> = h
                        .iter()
                        .take(LEAK_NEIGHBOURS)
                        .map(|x| &self.value(&self.db.entries[x.entry])[..m])
                        .collect();
                    overlap_ratio(chunk, &ns)
                })
                .collect()
        };
        let (r_clean, r_dup, r_live) = (ratio(&h_clean), ratio(&h_dup), ratio(&h_live));
        let base = self.base.valid();
        let retro = self.retro.valid();
        let retrofit = match &self.retrofit {
            Some((r, _)) => r.valid(),
            None => return Err(LabError::compute("the retrofit model is missing")),
        };
        let base_tok = self.score(&base, &wins, None)?;
        let nats_base = self.chunk_nats(&base_tok);
        let nats_off = self.chunk_nats(&self.score(&retro, &wins, None)?);
        let mut by_k = Vec::new();
        let mut nats_k = Vec::new();
        for kk in KS {
            let n = self.chunk_nats(&self.score(&retro, &wins, Some((&h_clean, kk)))?);
            by_k.push((kk as f64, bpb(&n, &bytes, |_| true)));
            nats_k.push((kk, n));
        }
        let clean_k = match nats_k.iter().find(|(kk, _)| *kk == k) {
            Some((_, n)) => n.clone(),
            None => self.chunk_nats(&self.score(&retro, &wins, Some((&h_clean, k)))?),
        };
        let mut by_db = Vec::new();
        for f in FRACTIONS {
            let n = if f >= 1.0 {
                clean_k.clone()
            } else {
                let h = self.neighbours(
                    &queries,
                    k,
                    Filter {
                        fraction: f,
                        ..clean
                    },
                )?;
                self.chunk_nats(&self.score(&retro, &wins, Some((&h, k)))?)
            };
            by_db.push((f, bpb(&n, &bytes, |_| true)));
        }
        let retro_dup = self.chunk_nats(&self.score(&retro, &wins, Some((&h_dup, k)))?);
        let rf_clean = self.chunk_nats(&self.score(&retrofit, &wins, Some((&h_clean, k)))?);
        let rf_dup = self.chunk_nats(&self.score(&retrofit, &wins, Some((&h_dup, k)))?);
        let live_same_as_clean = live == clean;
        let (retro_live_tok, retro_live, rf_live) = if !self.cfg.retrieval_eval {
            let tok = self.score(&retro, &wins, None)?;
            (tok, nats_off.clone(), nats_base.clone())
        } else {
            let tok = self.score(&retro, &wins, Some((&h_live, k)))?;
            let n = self.chunk_nats(&tok);
            let rf = if live_same_as_clean {
                rf_clean.clone()
            } else {
                self.chunk_nats(&self.score(&retrofit, &wins, Some((&h_live, k)))?)
            };
            (tok, n, rf)
        };
        // Retrieval off, the retrofitted model is its frozen baseline: the largest difference
        // of any logit on the first window (0 means bit-identical).
        let off_diff = match wins.first() {
            Some(&w) => {
                let dev = self.device.clone().without_autodiff();
                let (x, _, _) = self.window_batch(&[w]);
                let a = to_vec(base.logits(int_tensor(&x, 1, t, &dev), None))?;
                let b = to_vec(retrofit.logits(int_tensor(&x, 1, t, &dev), None))?;
                a.iter()
                    .zip(&b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0f32, f32::max) as f64
            }
            None => 0.0,
        };
        let all = |_: usize| true;
        let mut metrics: Vec<(String, f64)> = vec![
            ("bpb_base".into(), bpb(&nats_base, &bytes, all)),
            ("bpb_retro".into(), bpb(&retro_live, &bytes, all)),
            ("bpb_retro_off".into(), bpb(&nats_off, &bytes, all)),
            ("bpb_retrofit".into(), bpb(&rf_live, &bytes, all)),
            ("retrofit_off_max_abs_logit_diff".into(), off_diff),
        ];
        let mut leakage = Vec::new();
        let mut leakage_dup = Vec::new();
        let mut kept = Vec::new();
        let total: usize = bytes.iter().sum::<usize>().max(1);
        for (a, name) in ALPHAS.iter().zip(ALPHA_NAMES) {
            let kc = |i: usize| r_clean[i] <= *a + 1e-9;
            let kd = |i: usize| r_dup[i] <= *a + 1e-9;
            let kl = |i: usize| r_live[i] <= *a + 1e-9;
            let row = (
                *a,
                bpb(&nats_base, &bytes, kc),
                bpb(&clean_k, &bytes, kc),
                bpb(&rf_clean, &bytes, kc),
            );
            let row_d = (
                *a,
                bpb(&nats_base, &bytes, kd),
                bpb(&retro_dup, &bytes, kd),
                bpb(&rf_dup, &bytes, kd),
            );
            metrics.push((
                format!("bpb_base_alpha_{name}"),
                bpb(&nats_base, &bytes, kl),
            ));
            metrics.push((
                format!("bpb_retro_alpha_{name}"),
                bpb(&retro_live, &bytes, kl),
            ));
            metrics.push((
                format!("bpb_retrofit_alpha_{name}"),
                bpb(&rf_live, &bytes, kl),
            ));
            metrics.push((format!("clean_bpb_retro_alpha_{name}"), row.2));
            metrics.push((format!("dup_bpb_base_alpha_{name}"), row_d.1));
            metrics.push((format!("dup_bpb_retro_alpha_{name}"), row_d.2));
            metrics.push((format!("dup_bpb_retrofit_alpha_{name}"), row_d.3));
            let share = |keep: &dyn Fn(usize) -> bool| {
                (0..bytes.len())
                    .filter(|&i| keep(i))
                    .map(|i| bytes[i])
                    .sum::<usize>() as f64
                    / total as f64
            };
            kept.push((*a, share(&kc), share(&kd)));
            leakage.push(row);
            leakage_dup.push(row_d);
        }
        // Slope of bpb(α) between α = 0.125 and 1 (negative: the model gains from leaked text).
        let slope = |rows: &[(f64, f64, f64, f64)], pick: fn(&(f64, f64, f64, f64)) -> f64| {
            (pick(&rows[3]) - pick(&rows[0])) / (1.0 - 0.125)
        };
        metrics.push(("slope_base".into(), slope(&leakage, |r| r.1)));
        metrics.push(("slope_retro".into(), slope(&leakage, |r| r.2)));
        metrics.push(("dup_slope_base".into(), slope(&leakage_dup, |r| r.1)));
        metrics.push(("dup_slope_retro".into(), slope(&leakage_dup, |r| r.2)));
        for (kk, v) in &by_k {
            metrics.push((format!("bpb_retro_k{kk}"), *v));
        }
        for (f, v) in &by_db {
            metrics.push((format!("bpb_retro_db{}", (f * 100.0).round()), *v));
        }
        let test_docs = wins
            .iter()
            .map(|w| w.0)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        metrics.push(("test_chunks_scored".into(), queries.len() as f64));
        for (name, v) in &metrics {
            if v.is_finite() {
                report.push(name.clone(), *v);
            }
        }
        let mode_bpb = vec![
            ("baseline".to_string(), metrics[0].1),
            (
                if self.cfg.retrieval_eval {
                    "RETRO (retrieval on)"
                } else {
                    "RETRO (retrieval off by knob)"
                }
                .to_string(),
                metrics[1].1,
            ),
            ("RETRO, retrieval off".to_string(), metrics[2].1),
            ("retrofit (frozen baseline + CCA)".to_string(), metrics[3].1),
        ];
        self.eval = Some(Evaluation {
            view: EvalView {
                step: self.step,
                bpb: mode_bpb,
                by_k,
                by_db,
                leakage,
                leakage_dup,
                kept,
                docs: test_docs,
                chunks: queries.len(),
            },
            metrics,
        });
        self.doc = Some(self.doc_view(&wins, &base_tok, &retro_live_tok, &h_live)?);
        self.version += 1;
        Ok(())
    }

    /// The neighbour `h` retrieved for the chunk `query` (its m tokens).
    fn neighbour_view(&self, h: &Hit, query: &[u32]) -> NeighbourView {
        let e = &self.db.entries[h.entry];
        let v = self.value(e);
        let m = self.m();
        let same = v.iter().zip(query).filter(|(a, b)| a == b).count();
        let tok = &self.splits.tokenizer;
        NeighbourView {
            chunk: tok.decode(&v[..m]),
            continuation: tok.decode(&v[m..]),
            dist: h.dist,
            source: if e.doc_id >= self.docs.len() {
                format!("{} (its training copy)", self.docs[e.at.doc].title)
            } else {
                self.docs[e.at.doc].title.clone()
            },
            duplicate: e.duplicate,
            matched: same as f32 / m.max(1) as f32,
        }
    }

    /// The coloured document: the first duplicated test document when duplicates are injected,
    /// else the first test document.
    fn doc_view(
        &self,
        wins: &[(usize, usize)],
        base: &[f32],
        retro: &[f32],
        hits: &[Vec<Hit>],
    ) -> Result<DocView, LabError> {
        let (t, m) = (self.cfg.context, self.m());
        let l = t / m;
        let pick = wins
            .iter()
            .map(|w| w.0)
            .find(|&d| !self.cfg.inject_duplicates || self.dup_docs[d])
            .or(wins.first().map(|w| w.0));
        let Some(doc) = pick else {
            return Ok(DocView::default());
        };
        let k = self.cfg.k_eval;
        let mut v = DocView {
            title: self.docs[doc].title.clone(),
            duplicated: self.dup_docs[doc],
            chunk: m,
            context: t,
            ..DocView::default()
        };
        let ids = &self.docs[doc].ids;
        for (wi, &(d, s)) in wins.iter().enumerate() {
            if d != doc {
                continue;
            }
            let chunk_hits = &hits[wi * l..(wi + 1) * l];
            for (u, h) in chunk_hits.iter().enumerate() {
                let query = &ids[(s + u * m).min(ids.len())..(s + (u + 1) * m).min(ids.len())];
                v.neighbours.push(
                    h.iter()
                        .take(k)
                        .map(|x| self.neighbour_view(x, query))
                        .collect(),
                );
            }
            for p in 0..t {
                v.pieces.push(self.splits.tokenizer.piece(ids[s + p + 1]));
                v.base.push(base[wi * t + p]);
                v.retro.push(retro[wi * t + p]);
                // Overlap of the target run ending here with the neighbours position p attended to
                // (none for the first m−1 positions of a window).
                let run = match (p + 1).checked_sub(m).map(|j| j / m) {
                    Some(u) if self.cfg.retrieval_eval => {
                        let vals: Vec<&[u32]> = chunk_hits[u]
                            .iter()
                            .take(k)
                            .map(|x| self.value(&self.db.entries[x.entry]))
                            .collect();
                        suffix_match(&ids[s + 1..s + p + 2], &vals)
                    }
                    _ => 0,
                };
                v.overlap.push(run.min(u16::MAX as usize) as u16);
            }
        }
        Ok(v)
    }

    /// Samples a continuation of `prompt` from RETRO with retrieval at each chunk boundary.
    pub(super) fn continue_text(&mut self, prompt: &str) -> Result<SampleView, LabError> {
        let dev = self.device.clone().without_autodiff();
        let model = self.retro.valid();
        let tok = self.splits.tokenizer.clone();
        let (t, m) = (self.cfg.context, self.m());
        let l = t / m;
        let mut ids = tok.encode(prompt);
        if ids.is_empty() {
            ids.push(tok.encode("\n").first().copied().unwrap_or(0));
        }
        let prompt_len = ids.len();
        let mut rng = self.root.fork(STREAM_SAMPLE + 1000 * self.samples_drawn);
        self.samples_drawn += 1;
        let k = self.cfg.k_eval;
        let filter = Filter {
            duplicates: self.cfg.inject_duplicates,
            fraction: self.cfg.db_fraction,
            exclude_own: false,
        };
        let mut retrieved: Vec<Vec<Hit>> = Vec::new();
        let vocab = tok.vocab_size();
        for _ in 0..self.cfg.sample_tokens {
            // Keys for every completed chunk not yet looked up.
            while (retrieved.len() + 1) * m <= ids.len() {
                let c = retrieved.len();
                let key = self.retriever.keys(&tok, &[&ids[c * m..(c + 1) * m]])?;
                retrieved.push(self.search_key(&key[0], k, filter)?);
            }
            // The window: the last chunks that fit, starting at a chunk boundary.
            let first = ids.len().saturating_sub(t - 1) / m;
            let start = first * m;
            let mut x: Vec<u32> = ids[start..].to_vec();
            let real = x.len();
            x.resize(t, 0);
            let hits: Vec<Vec<Hit>> = (0..l)
                .map(|u| retrieved.get(first + u).cloned().unwrap_or_default())
                .collect();
            let nb = self.neighbour_tensor(&hits, 1, k, &dev);
            let logits = to_vec(model.logits(int_tensor(&x, 1, t, &dev), Some(nb)))?;
            let last = &logits[(real - 1) * vocab..real * vocab];
            ids.push(sample_logits(last, self.cfg.temperature, &mut rng));
        }
        let shown = retrieved
            .iter()
            .enumerate()
            .map(|(c, h)| {
                (
                    tok.decode(&ids[c * m..(c + 1) * m]),
                    h.iter()
                        .map(|x| self.neighbour_view(x, &ids[c * m..(c + 1) * m]))
                        .collect(),
                )
            })
            .collect();
        Ok(SampleView {
            prompt: prompt.to_string(),
            text: tok.decode(&ids[prompt_len..]),
            retrieved: shown,
        })
    }

    /// The nearest entries of a key that is not in the key table (a sampled chunk).
    fn search_key(&self, key: &[f32], k: usize, f: Filter) -> Result<Vec<Hit>, LabError> {
        let mut db = self.db.clone();
        let row = db.keys.len() / db.dim.max(1);
        db.keys.extend_from_slice(key);
        db.norms.push(key.iter().map(|x| x * x).sum());
        let dev = self.device.clone().without_autodiff();
        Ok(db
            .search(&[row], k, &dev, |_, e| {
                (f.duplicates || !e.duplicate) && e.share < f.fraction
            })?
            .pop()
            .unwrap_or_default())
    }
}

/// The longest run of tokens ending at the last of `seq` that occurs contiguously in any of
/// `values`.
pub fn suffix_match(seq: &[u32], values: &[&[u32]]) -> usize {
    let mut best = 0;
    let Some(&last) = seq.last() else {
        return 0;
    };
    for v in values {
        for (j, &y) in v.iter().enumerate() {
            if y != last {
                continue;
            }
            let mut n = 1;
            while n <= j && n < seq.len() && v[j - n] == seq[seq.len() - 1 - n] {
                n += 1;
            }
            best = best.max(n);
        }
    }
    best
}

impl RetroLab {
    /// Curves and tables of the run so far.
    pub(super) fn results_view(&self) -> Results {
        let mut out = Results::default();
        let line = |label: &str, pts: Vec<(f64, f64)>| Line {
            label: label.into(),
            x: pts.iter().map(|p| p.0).collect(),
            y: pts.iter().map(|p| p.1).collect(),
        };
        if !self.valid.is_empty() {
            let v = &self.valid;
            let steps = self.cfg.steps as f64;
            let mut lines = vec![
                line("baseline", v.iter().map(|r| (r.0 as f64, r.1)).collect()),
                line(
                    "RETRO, retrieval on",
                    v.iter().map(|r| (r.0 as f64, r.2)).collect(),
                ),
                line(
                    "RETRO, retrieval off",
                    v.iter().map(|r| (r.0 as f64, r.3)).collect(),
                ),
            ];
            if !self.retrofit_valid.is_empty() {
                lines.push(line(
                    "retrofit (after the baseline's steps)",
                    self.retrofit_valid
                        .iter()
                        .map(|r| (steps + r.0 as f64, r.1))
                        .collect(),
                ));
            }
            out.curves.push(CurveSet {
                name: "validation_loss".into(),
                title: "Validation loss (held-out documents)".into(),
                x_label: "training step".into(),
                y_label: "nats per token".into(),
                lines,
            });
        }
        let Some(e) = &self.eval else {
            return out;
        };
        let e = &e.view;
        let base = e.bpb.first().map_or(f64::NAN, |b| b.1);
        let flat = |xs: &[(f64, f64)]| xs.iter().map(|p| (p.0, base)).collect::<Vec<_>>();
        out.curves.push(CurveSet {
            name: "neighbours".into(),
            title: "Held-out bits per byte against neighbours at evaluation".into(),
            x_label: "neighbours k".into(),
            y_label: "bits per byte".into(),
            lines: vec![
                line("RETRO", e.by_k.clone()),
                line("baseline", flat(&e.by_k)),
            ],
        });
        out.curves.push(CurveSet {
            name: "database".into(),
            title: "Held-out bits per byte against database share".into(),
            x_label: "share of the database searched".into(),
            y_label: "bits per byte".into(),
            lines: vec![
                line("RETRO", e.by_db.clone()),
                line("baseline", flat(&e.by_db)),
            ],
        });
        for (name, title, rows) in [
            (
                "leakage",
                "Leakage-filtered bpb(α), database without duplicates",
                &e.leakage,
            ),
            (
                "leakage_dup",
                "Leakage-filtered bpb(α), duplicates of held-out text injected",
                &e.leakage_dup,
            ),
        ] {
            out.curves.push(CurveSet {
                name: name.into(),
                title: title.into(),
                x_label: "α (chunks with overlap ratio r(C) ≤ α kept)".into(),
                y_label: "bits per byte".into(),
                lines: vec![
                    line("baseline", rows.iter().map(|r| (r.0, r.1)).collect()),
                    line("RETRO", rows.iter().map(|r| (r.0, r.2)).collect()),
                    line("retrofit", rows.iter().map(|r| (r.0, r.3)).collect()),
                ],
            });
        }
        out.tables.push(Table {
            name: "race".into(),
            title: format!(
                "Held-out bits per byte ({} documents, {} chunks; retriever {})",
                e.docs, e.chunks, self.retriever_note
            ),
            columns: vec!["mode".into(), "bits per byte".into()],
            rows: e
                .bpb
                .iter()
                .map(|(m, v)| vec![Cell::Text(m.clone()), Cell::Num(*v)])
                .collect(),
        });
        out
    }
}
