//! RETRO's correctness tests: chunked cross-attention is causal (a token or a neighbour of
//! chunk u+1 never changes the logits of chunk u or earlier), training never retrieves from
//! the sequence's own document, and a retrofitted model with retrieval off is bit-identical
//! to its frozen baseline.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};

use super::model::{RetroLm, RetroParts, RetroShape};
use super::{RetrieverKind, RetroConfig, RetroLab};
use crate::backend::Backend;
use crate::lab::Lab;
use crate::labs::fwl::TokenizerKind;
use crate::lm::model::{LmShape, TransformerLm, int_tensor};
use crate::nn::to_vec;
use crate::rng::Rng;

const V: usize = 13;

/// A tiny RETRO of chunk `m`; `gate` = the match gate's starting weight and null-slot logit
/// (0 = no gate).
fn tiny_model(m: usize, gate: f32) -> RetroLm {
    let device = Backend::cpu().device.without_autodiff();
    let shape = LmShape {
        vocab: V,
        d_model: 16,
        layers: 4,
        heads: 2,
        context: 4 * m,
        tied: true,
    };
    let mut rng = Rng::new(11);
    let lm = TransformerLm::new(shape, &mut rng, &device);
    let parts = RetroParts::new(
        &shape,
        RetroShape {
            chunk: m,
            d_enc: 8,
            enc_layers: 2,
            heads: 2,
            layers: RetroShape::every_third_from_middle(4),
            rel_scale: 1.0,
            copy_init: 0.0,
            align_init: 0.0,
            align_heads: 0,
            match_gate: gate,
            sink_init: gate,
        },
        &mut rng,
        &device,
    );
    RetroLm {
        lm,
        parts: Some(parts),
    }
}

fn nb_tensor(v: &[i64], l: usize, k: usize, r: usize) -> Tensor<4, Int> {
    let device = Backend::cpu().device.without_autodiff();
    Tensor::from_data(TensorData::new(v.to_vec(), [1, l, k, r]), &device)
}

#[test]
fn retro_blocks_sit_at_every_third_layer_from_the_middle() {
    assert_eq!(RetroShape::every_third_from_middle(12), vec![5, 8, 11]);
    assert_eq!(RetroShape::every_third_from_middle(4), vec![1]);
    assert_eq!(RetroShape::every_third_from_middle(6), vec![2, 5]);
    assert_eq!(RetroShape::every_third_from_middle(1), vec![0]);
}

#[test]
fn chunked_cross_attention_is_causal() {
    cca_causality(&tiny_model(4, 0.0), false);
    cca_causality(&tiny_model(4, 3.0), true);
}

/// The causality checks on `model` (chunk 4); `gated`: each chunk's first neighbour starts
/// with the chunk itself, so its match share is 1 and changing a token of the chunk changes
/// it (the match gate must not let that reach earlier positions either).
fn cca_causality(model: &RetroLm, gated: bool) {
    let device = Backend::cpu().device.without_autodiff();
    let (m, l, k) = (4, 4, 2);
    let t = m * l;
    let r = 2 * m;
    let mut rng = Rng::new(5);
    let tokens: Vec<u32> = (0..t).map(|_| rng.below(V) as u32).collect();
    let mut nbs: Vec<i64> = (0..l * k * r).map(|_| rng.below(V) as i64).collect();
    if gated {
        for u in 0..l {
            for i in 0..m {
                nbs[u * k * r + i] = i64::from(tokens[u * m + i]);
            }
        }
    }
    let logits = |tok: &[u32], nb: &[i64]| {
        to_vec(model.logits(int_tensor(tok, 1, t, &device), Some(nb_tensor(nb, l, k, r))))
            .expect("logits")
    };
    let reference = logits(&tokens, &nbs);
    for u in 0..l - 1 {
        // The logits of chunk u and earlier: positions < (u+1)·m.
        let kept = (u + 1) * m * V;
        // A token of chunk u+1.
        let mut tok2 = tokens.clone();
        tok2[(u + 1) * m + 1] = (tokens[(u + 1) * m + 1] + 1) % V as u32;
        let changed = logits(&tok2, &nbs);
        assert_eq!(
            changed[..kept],
            reference[..kept],
            "token of chunk {}",
            u + 1
        );
        assert_ne!(changed[kept..], reference[kept..]);
        // Every neighbour token retrieved for chunk u+1.
        let mut nb2 = nbs.clone();
        for x in &mut nb2[(u + 1) * k * r..(u + 2) * k * r] {
            *x = (*x + 3) % V as i64;
        }
        let changed = logits(&tokens, &nb2);
        // The neighbours of chunk u+1 first reach its last token (position (u+1)·m + m − 1):
        // that token's logits, and only later ones, may change.
        let reach = ((u + 1) * m + m - 1) * V;
        assert_eq!(
            changed[..reach],
            reference[..reach],
            "neighbours of chunk {}",
            u + 1
        );
        if u + 2 < l {
            assert_ne!(
                changed[reach..],
                reference[reach..],
                "the neighbours are used"
            );
        }
    }
    // The neighbours of chunk u do reach chunk u's last token (the m−1 shift, not m).
    let mut nb2 = nbs.clone();
    for x in &mut nb2[..k * r] {
        *x = (*x + 3) % V as i64;
    }
    let changed = logits(&tokens, &nb2);
    assert_eq!(changed[..(m - 1) * V], reference[..(m - 1) * V]);
    assert_ne!(changed[(m - 1) * V..m * V], reference[(m - 1) * V..m * V]);
}

#[test]
fn match_shares_count_aligned_equal_tokens() {
    let device = Backend::cpu().device.without_autodiff();
    // One chunk of m = 4: [1, 2, 3, 4]; neighbours (k = 4, r = 8): the chunk itself, half of
    // it in place, its tokens in another order (no aligned match), one aligned token; the
    // continuations do not count.
    let tokens = int_tensor(&[1, 2, 3, 4, 5, 6, 7, 8], 1, 8, &device);
    let nb: Vec<i64> = [
        [1, 2, 3, 4, 9, 9, 9, 9],
        [1, 2, 0, 0, 3, 4, 0, 0],
        [4, 3, 2, 1, 1, 2, 3, 4],
        [0, 0, 0, 4, 0, 0, 0, 0],
        // chunk 1 (tokens 5..8)
        [5, 6, 7, 8, 0, 0, 0, 0],
        [0, 0, 0, 0, 5, 6, 7, 8],
        [5, 0, 7, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 0, 0, 0, 0],
    ]
    .concat();
    let a = to_vec(super::model::match_shares(
        tokens,
        nb_tensor(&nb, 2, 4, 8),
        4,
    ))
    .expect("a");
    assert_eq!(a, vec![1.0, 0.5, 0.0, 0.25, 1.0, 0.0, 0.5, 0.0]);
}

/// With its null slot far above every other logit and no weight on the match, the gate closes
/// the CCA: retrieval on gives the logits of retrieval off. The default gate does not.
#[test]
fn a_closed_gate_leaves_the_decoder_as_without_retrieval() {
    let device = Backend::cpu().device.without_autodiff();
    let (m, l, k) = (4, 4, 2);
    let (t, r) = (m * l, 2 * m);
    let mut rng = Rng::new(6);
    let tokens: Vec<u32> = (0..t).map(|_| rng.below(V) as u32).collect();
    let nbs: Vec<i64> = (0..l * k * r).map(|_| rng.below(V) as i64).collect();
    let run = |model: &RetroLm, on: bool| {
        let nb = on.then(|| nb_tensor(&nbs, l, k, r));
        to_vec(model.logits(int_tensor(&tokens, 1, t, &device), nb)).expect("logits")
    };
    let mut closed = tiny_model(m, 3.0);
    let parts = closed.parts.as_mut().expect("parts");
    for g in &mut parts.gate {
        let [heads, _] = g.table.dims();
        let v: Vec<f32> = (0..heads).flat_map(|_| [60.0 / g.scale, 0.0]).collect();
        g.table = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(v, [heads, 2]),
            &device,
        ));
    }
    let gap = |model: &RetroLm| {
        let (off, on) = (run(model, false), run(model, true));
        off.iter()
            .zip(&on)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max)
    };
    let closed_gap = gap(&closed);
    assert!(
        closed_gap < 1e-5,
        "closed gate moved the logits by {closed_gap}"
    );
    let gap = gap(&tiny_model(m, 3.0));
    assert!(
        gap > 1e-4,
        "the default gate leaves retrieval without effect: {gap}"
    );
}

pub(super) fn tiny_config() -> RetroConfig {
    RetroConfig {
        retriever: RetrieverKind::LmMean,
        retriever_steps: 3,
        retriever_d: 8,
        max_docs: 60,
        test_docs: 2,
        valid_docs: 1,
        tokenizer: TokenizerKind::Char,
        d_model: 16,
        d_enc: 8,
        layers: 2,
        heads: 2,
        chunk: 4,
        context: 16,
        batch: 2,
        steps: 3,
        retrofit_steps: 3,
        eval_every: 2,
        valid_tokens: 32,
        test_tokens: 32,
        sample_tokens: 6,
        ..RetroConfig::default()
    }
}

#[test]
fn training_never_retrieves_from_the_sequences_own_document() {
    let device = Backend::cpu().device;
    let mut lab = RetroLab::new(tiny_config(), &device).expect("lab");
    let train = lab.splits.train.len();
    let mut rng = Rng::new(8);
    let mut seen_other = 0;
    for _ in 0..20 {
        let windows =
            super::sample_aligned(&lab.docs[..train], 4, 16, 4, &mut rng).expect("windows");
        let (_, _, queries) = lab.window_batch(&windows);
        let hits = lab.train_hits(&queries).expect("hits");
        for (q, h) in queries.iter().zip(&hits) {
            assert_eq!(h.len(), lab.cfg.k_train);
            for x in h {
                let e = &lab.db.entries[x.entry];
                assert_ne!(e.doc_id, q.0, "a neighbour from the query's own document");
                assert!(!e.duplicate, "duplicates are for evaluation only");
                seen_other += 1;
            }
        }
    }
    assert!(seen_other > 0);
    // Without the filter the nearest neighbour of a database chunk is itself.
    let q = lab.db.entries[0].at;
    let own = lab
        .neighbours(
            &[(q.doc, q.start)],
            1,
            super::Filter {
                duplicates: false,
                fraction: 1.0,
                exclude_own: false,
            },
        )
        .expect("search");
    assert_eq!(lab.db.entries[own[0][0].entry].doc_id, q.doc);
    lab.step().expect("a step runs");
}

#[test]
fn a_retrofitted_model_with_retrieval_off_is_bit_identical_to_its_frozen_baseline() {
    let device = Backend::cpu().device;
    let cfg = tiny_config();
    let mut lab = RetroLab::new(cfg.clone(), &device).expect("lab");
    for _ in 0..cfg.steps + cfg.retrofit_steps {
        lab.step().expect("step");
    }
    let (rf, _) = lab.retrofit.as_ref().expect("retrofitting ran");
    let dev = device.without_autodiff();
    let base = lab.base.valid();
    let rf = rf.valid();
    let windows = super::eval::windows(
        &lab.docs,
        &lab.parts,
        crate::lm::corpus::Part::Test,
        cfg.context,
        cfg.test_tokens,
    );
    assert!(!windows.is_empty());
    let (x, _, queries) = lab.window_batch(&windows);
    let b = windows.len();
    let xt = int_tensor(&x, b, cfg.context, &dev);
    let a = to_vec(base.logits(xt.clone(), None)).expect("base");
    let off = to_vec(rf.logits(xt.clone(), None)).expect("retrofit off");
    assert!(a.iter().zip(&off).all(|(p, q)| p.to_bits() == q.to_bits()));
    // Retrieval on does change them: the retrofit trained something.
    let hits = lab
        .neighbours(
            &queries,
            2,
            super::Filter {
                duplicates: false,
                fraction: 1.0,
                exclude_own: false,
            },
        )
        .expect("hits");
    let nb = lab.neighbour_tensor(&hits, b, 2, &dev);
    let on = to_vec(rf.logits(xt, Some(nb))).expect("retrofit on");
    assert_ne!(a, on);
    // The frozen decoder's weights are the baseline's, bit for bit.
    let w = |m: &TransformerLm| to_vec(m.blocks[0].qkv.weight.val()).expect("w");
    assert_eq!(w(&base.lm), w(&rf.lm));
}

/// The check that retrieval can carry information at all: with a neighbour holding the exact
/// continuation, a tiny RETRO must learn to copy it (random tokens, so nothing else predicts
/// them); with random neighbours or retrieval off it must stay near ln V.
#[test]
fn a_tiny_retro_learns_to_copy_the_continuation_of_its_neighbour() {
    let sizes = super::copytask::CopySizes {
        m: 4,
        d: 32,
        v: 32,
        heads: 2,
        lr: 3e-3,
        rel_scale: 1.0,
        copy_init: 0.0,
        align_init: 0.0,
    };
    let (copy, random, off) = super::copytask::copy_task(1000, 3, sizes).expect("copy task");
    let chance = 32f64.ln();
    eprintln!(
        "copy task: with copies {copy:.3}, random neighbours {random:.3}, off {off:.3}, ln V {chance:.3}"
    );
    assert!(copy < 0.5 * chance, "did not learn to copy: {copy:.3} nats");
    assert!(
        random > 0.9 * chance && off > 0.9 * chance,
        "{random:.3} {off:.3}"
    );
}

/// With every training article copied into the database, the first training neighbour of each
/// chunk of a window (when the chunk has a continuation) is the copy: the chunk itself and the
/// window's next m tokens, the values the copy task above learns from.
#[test]
fn with_training_copies_the_first_neighbour_holds_the_chunk_and_its_continuation() {
    let device = Backend::cpu().device;
    let cfg = RetroConfig {
        train_dup_share: 1.0,
        // Chunks of 8 characters: permutations of a chunk (which the bag-of-tokens retriever
        // cannot tell from it) are rarer than at 4.
        chunk: 8,
        context: 32,
        ..tiny_config()
    };
    let lab = RetroLab::new(cfg, &device).expect("lab");
    let (t, m) = (lab.cfg.context, lab.cfg.chunk);
    let train = lab.splits.train.len();
    let mut rng = Rng::new(9);
    let windows = super::sample_aligned(&lab.docs[..train], 6, t, m, &mut rng).expect("windows");
    let (_, _, queries) = lab.window_batch(&windows);
    let hits = lab.train_hits(&queries).expect("hits");
    let nb = to_vec(
        lab.neighbour_tensor(
            &hits,
            windows.len(),
            lab.cfg.k_train,
            &device.without_autodiff(),
        )
        .float(),
    )
    .expect("neighbours");
    let (k, r) = (lab.cfg.k_train, 2 * m);
    let (mut checked, mut exact) = (0, 0);
    for (wi, &(d, s)) in windows.iter().enumerate() {
        let ids = &lab.docs[d].ids;
        for u in 0..t / m {
            let start = s + u * m;
            if start + 2 * m > ids.len() {
                continue;
            }
            let at = ((wi * (t / m) + u) * k) * r;
            let got: Vec<u32> = nb[at..at + r].iter().map(|&x| x as u32).collect();
            // The cheap retriever averages token embeddings, so a chunk whose tokens are a
            // permutation of this one's has the same key and may win the tie.
            let mut a = got[..m].to_vec();
            let mut b = ids[start..start + m].to_vec();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "window {wi} chunk {u}");
            assert!(hits[wi * (t / m) + u][0].dist < 1e-6);
            exact += usize::from(got == ids[start..start + r]);
            checked += 1;
        }
    }
    assert!(
        checked > 10 && exact * 4 >= checked * 3,
        "{exact} of {checked}"
    );
}

/// The presets' initialisation (the CCA as a copy path, every head starting on the aligned
/// continuation token, relative logits at 30× the learning rate) must learn to copy at a chunk
/// length where plain random initialisation, on the same seed, data and steps, has not.
#[test]
fn copy_path_init_learns_to_copy_where_plain_init_does_not_yet() {
    let plain = super::copytask::CopySizes {
        m: 16,
        d: 32,
        v: 64,
        heads: 2,
        lr: 3e-3,
        rel_scale: 1.0,
        copy_init: 0.0,
        align_init: 0.0,
    };
    let primed = super::copytask::CopySizes {
        rel_scale: 30.0,
        copy_init: 0.3,
        align_init: 5.0,
        ..plain
    };
    let chance = 64f64.ln();
    let (p_copy, _, _) = super::copytask::copy_task(150, 3, plain).expect("plain");
    let (copy, random, off) = super::copytask::copy_task(150, 3, primed).expect("primed");
    eprintln!(
        "m = 16, 150 steps: plain {p_copy:.3}; primed {copy:.3} (random {random:.3}, off {off:.3}); ln V {chance:.3}"
    );
    assert!(
        p_copy > 0.8 * chance,
        "plain init already copies: {p_copy:.3}"
    );
    assert!(copy < 0.5 * chance, "primed init did not copy: {copy:.3}");
    assert!(
        random > 0.9 * chance && off > 0.9 * chance,
        "{random:.3} {off:.3}"
    );
}
