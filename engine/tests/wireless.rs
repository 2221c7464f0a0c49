//! The shared wireless core: Bessel J0, path loss, SINR by hand, and WMMSE / FP against an
//! exhaustive grid search on 2- and 3-link channels.

use trainscope_engine::rng::Rng;
use trainscope_engine::wireless::{
    Fading, Gains, LayoutConfig, Tier, bessel_j0, drop_one_starts, drop_users, fp, fp_from,
    grid_search, jakes_rho, max_power, multi_start, path_loss_db, place_aps, sinr, sum_rate, wmmse,
    wmmse_from,
};

#[test]
fn bessel_j0_matches_tabulated_values() {
    // Reference values from Abramowitz & Stegun table 9.1 / standard libraries.
    let table = [
        (0.0, 1.0),
        (0.5, 0.938_469_807_240_813),
        (1.0, 0.765_197_686_557_966_6),
        (2.0, 0.223_890_779_141_235_67),
        (2.404_825_557_695_773, 0.0),
        (5.0, -0.177_596_771_314_338_3),
        (10.0, -0.245_935_764_451_348_3),
        (15.0, -0.014_224_472_826_780_773),
        (20.0, 0.167_024_664_340_583),
        (50.0, 0.055_812_327_669_251_6),
    ];
    for (x, want) in table {
        let got = bessel_j0(x);
        // Series below 12 (near machine precision), asymptotic expansion above (~1e-9).
        let tol = if x <= 12.0 { 1e-12 } else { 1e-8 };
        assert!((got - want).abs() < tol, "J0({x}) = {got}, want {want}");
    }
    // Symmetry and the Jakes correlation of the default set-up (10 Hz, 20 ms).
    assert_eq!(bessel_j0(-3.0), bessel_j0(3.0));
    let rho = jakes_rho(10.0, 0.02);
    assert!((rho - 0.642_512).abs() < 1e-6, "rho = {rho}");
}

#[test]
fn path_loss_follows_the_two_tier_formulas() {
    assert!((path_loss_db(Tier::Macro, 1000.0) - 128.1).abs() < 1e-12);
    assert!((path_loss_db(Tier::Small, 1000.0) - 140.7).abs() < 1e-12);
    assert!((path_loss_db(Tier::Macro, 100.0) - (128.1 - 37.6)).abs() < 1e-12);
    assert!((path_loss_db(Tier::Small, 100.0) - (140.7 - 36.7)).abs() < 1e-12);
}

#[test]
fn sinr_on_a_hand_worked_two_link_example() {
    // g = [[1.0, 0.1], [0.2, 0.5]], p = [2, 1], noise 0.1:
    // SINR_0 = 1.0*2 / (0.1*1 + 0.1) = 10;  SINR_1 = 0.5*1 / (0.2*2 + 0.1) = 1.
    let g = Gains::from_rows(&[vec![1.0, 0.1], vec![0.2, 0.5]]);
    let s = sinr(&g, &[2.0, 1.0], 0.1);
    assert!(
        (s[0] - 10.0).abs() < 1e-12 && (s[1] - 1.0).abs() < 1e-12,
        "{s:?}"
    );
    let r = sum_rate(&g, &[2.0, 1.0], 0.1);
    assert!((r - (11f64.log2() + 1.0)).abs() < 1e-12);
}

fn random_channel(n: usize, rng: &mut Rng) -> Gains {
    // Direct gains stronger than cross gains on average, spread over ±20 dB, plus Rayleigh.
    let mut rows = vec![vec![0.0; n]; n];
    for (rx, row) in rows.iter_mut().enumerate() {
        for (tx, g) in row.iter_mut().enumerate() {
            let mean_db = if rx == tx { 0.0 } else { -10.0 } + 20.0 * (rng.uniform() - 0.5);
            let fade = -(1.0 - rng.uniform()).ln(); // exponential: |h|² of Rayleigh
            *g = 10f64.powf(mean_db / 10.0) * fade;
        }
    }
    Gains::from_rows(&rows)
}

/// Runs WMMSE and FP on many random channels of `n` links against a `levels`-point grid per
/// link; returns (WMMSE / grid, FP / grid) ratios.
fn compare(n: usize, levels: usize, cases: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let pmax = vec![1.0; n];
    let noise = 0.01;
    let mut w = Vec::new();
    let mut f = Vec::new();
    for _ in 0..cases {
        let g = random_channel(n, &mut rng);
        let (_, best) = grid_search(&g, &pmax, noise, levels);
        let sw = wmmse(&g, &pmax, noise, 500, 1e-9);
        let sf = fp(&g, &pmax, noise, 500, 1e-9);
        for s in [&sw, &sf] {
            assert!(
                s.p.iter()
                    .zip(&pmax)
                    .all(|(p, m)| *p >= 0.0 && *p <= m + 1e-12)
            );
        }
        w.push(sum_rate(&g, &sw.p, noise) / best);
        f.push(sum_rate(&g, &sf.p, noise) / best);
    }
    (w, f)
}

fn summary(r: &[f64]) -> (f64, f64, f64) {
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    let min = r.iter().copied().fold(f64::INFINITY, f64::min);
    let within = r.iter().filter(|&&x| x >= 0.99).count() as f64 / r.len() as f64;
    (mean, min, within)
}

#[test]
fn wmmse_and_fp_reach_the_grid_optimum_on_two_links() {
    let (w, f) = compare(2, 201, 200, 11);
    let (wm, wmin, wwithin) = summary(&w);
    let (fm, fmin, fwithin) = summary(&f);
    eprintln!("2 links: WMMSE mean {wm:.4} min {wmin:.4} within1% {wwithin:.3}");
    eprintln!("2 links: FP    mean {fm:.4} min {fmin:.4} within1% {fwithin:.3}");
    // Both are local methods: they may stop at a stationary point below the global optimum.
    // Measured on these 200 strongly interfering channels (seed 11): mean 0.980 of the grid
    // optimum, 88% of cases within 1%, worst case 0.41 (a symmetric stationary point that the
    // full-power start cannot leave). The bounds sit just below those measurements.
    assert!(wm > 0.975 && wwithin >= 0.85, "WMMSE {wm} {wwithin}");
    assert!(fm > 0.975 && fwithin >= 0.85, "FP {fm} {fwithin}");
    assert!(wmin > 0.35 && fmin > 0.35, "worst cases {wmin} {fmin}");
}

#[test]
fn wmmse_and_fp_reach_the_grid_optimum_on_three_links() {
    let (w, f) = compare(3, 41, 60, 12);
    let (wm, wmin, wwithin) = summary(&w);
    let (fm, fmin, fwithin) = summary(&f);
    eprintln!("3 links: WMMSE mean {wm:.4} min {wmin:.4} within1% {wwithin:.3}");
    eprintln!("3 links: FP    mean {fm:.4} min {fmin:.4} within1% {fwithin:.3}");
    // Measured (seed 12, 60 channels, 41-point grid): mean 0.968, 87% within 1%, worst 0.47.
    assert!(wm > 0.96 && wwithin >= 0.8, "WMMSE {wm} {wwithin}");
    assert!(fm > 0.96 && fwithin >= 0.8, "FP {fm} {fwithin}");
    assert!(wmin > 0.4 && fmin > 0.4, "worst cases {wmin} {fmin}");
}

/// Single-start vs multi-start (full power + each link off) WMMSE and FP against the grid on the
/// same random channels: (single WMMSE, multi WMMSE, single FP, multi FP) ratios.
fn compare_multi(n: usize, levels: usize, cases: usize, seed: u64) -> [Vec<f64>; 4] {
    let mut rng = Rng::new(seed);
    let pmax = vec![1.0; n];
    let noise = 0.01;
    let mut out: [Vec<f64>; 4] = Default::default();
    for _ in 0..cases {
        let g = random_channel(n, &mut rng);
        let (_, best) = grid_search(&g, &pmax, noise, levels);
        let sols = [
            wmmse(&g, &pmax, noise, 500, 1e-9),
            multi_start(&g, &pmax, noise, |p0| {
                wmmse_from(&g, &pmax, noise, p0, 500, 1e-9)
            }),
            fp(&g, &pmax, noise, 500, 1e-9),
            multi_start(&g, &pmax, noise, |p0| {
                fp_from(&g, &pmax, noise, p0, 500, 1e-9)
            }),
        ];
        for (o, s) in out.iter_mut().zip(&sols) {
            assert!(
                s.p.iter()
                    .zip(&pmax)
                    .all(|(p, m)| *p >= 0.0 && *p <= m + 1e-12)
            );
            o.push(sum_rate(&g, &s.p, noise) / best);
        }
    }
    out
}

#[test]
fn multi_start_escapes_the_full_power_trap() {
    for (n, levels, cases, seed) in [(2, 201, 200, 11), (3, 41, 60, 12)] {
        let [ws, wm, fs, fm] = compare_multi(n, levels, cases, seed);
        let [ws, wm, fs, fm] = [&ws, &wm, &fs, &fm].map(|r| summary(r));
        eprintln!("{n} links single WMMSE {ws:?} multi {wm:?}; single FP {fs:?} multi {fm:?}");
        // Never worse than the single start (it is one of the starts), and on these channels
        // the switched-off starts lift the worst case well above the single start's.
        for (single, multi) in [(ws, wm), (fs, fm)] {
            assert!(
                multi.0 >= single.0 - 1e-12,
                "{n} links mean {multi:?} vs {single:?}"
            );
            assert!(
                multi.2 >= single.2,
                "{n} links within1% {multi:?} vs {single:?}"
            );
            assert!(
                multi.1 > single.1 + 0.2,
                "{n} links worst {multi:?} vs {single:?}"
            );
            // Measured: 2 links mean 1.000, all within 1% (single start 0.980, 88%, worst 0.41);
            // 3 links mean 0.997, 98% within 1%, worst 0.83 (single 0.968, 87%, worst 0.47).
            assert!(multi.0 > 0.99 && multi.2 >= 0.95, "{n} links {multi:?}");
        }
    }
}

#[test]
fn a_start_with_a_link_off_keeps_it_off() {
    let g = Gains::from_rows(&[
        vec![4.0, 2.0, 1.0],
        vec![3.0, 0.5, 0.2],
        vec![0.1, 0.3, 2.0],
    ]);
    let pmax = [1.0, 1.0, 1.0];
    for p in [
        wmmse_from(&g, &pmax, 0.01, &[1.0, 0.0, 1.0], 200, 1e-9).p,
        fp_from(&g, &pmax, 0.01, &[1.0, 0.0, 1.0], 200, 1e-9).p,
    ] {
        assert_eq!(p[1], 0.0);
        assert!(p[0] > 0.0 && p[2] > 0.0);
    }
    assert_eq!(drop_one_starts(&pmax).len(), 4);
}

#[test]
fn wmmse_beats_max_power_on_a_strongly_interfering_pair() {
    // Link 0 is strong, link 1 weak and heavily interfered with, and link 1's transmitter hurts
    // link 0's user: switching link 1 off is best, max power is far from that. (A perfectly
    // symmetric pair would be a trap: full power is a stationary point of WMMSE there.)
    let g = Gains::from_rows(&[vec![4.0, 2.0], vec![3.0, 0.5]]);
    let pmax = [1.0, 1.0];
    let s = wmmse(&g, &pmax, 0.001, 200, 1e-9);
    let (_, best) = grid_search(&g, &pmax, 0.001, 101);
    let w = sum_rate(&g, &s.p, 0.001);
    assert!(w > 0.99 * best, "wmmse {w} best {best}");
    assert!(w > 2.0 * sum_rate(&g, &max_power(&pmax), 0.001));
}

#[test]
fn layout_keeps_its_minimum_distances_and_fading_keeps_unit_power() {
    let cfg = LayoutConfig {
        n_small: 6,
        ..LayoutConfig::default()
    };
    let mut rng = Rng::new(3);
    let aps = place_aps(&cfg, &mut rng);
    assert_eq!(aps.len(), 7);
    assert_eq!(aps[0].tier, Tier::Macro);
    for (i, a) in aps.iter().enumerate().skip(1) {
        let r = a.pos.dist(&aps[0].pos);
        assert!(
            r >= cfg.ap_min_from_macro_m && r <= cfg.cell_radius_m,
            "{r}"
        );
        for b in &aps[i + 1..] {
            assert!(a.pos.dist(&b.pos) >= 0.5 * cfg.ap_min_separation_m);
        }
    }
    for _ in 0..50 {
        let users = drop_users(&cfg, &aps, &mut rng);
        assert!(users[0].dist(&aps[0].pos) >= cfg.user_min_from_macro_m);
        assert!(users[0].dist(&aps[0].pos) <= cfg.cell_radius_m);
        for (u, a) in users.iter().zip(&aps).skip(1) {
            let d = u.dist(&a.pos);
            assert!(
                d >= cfg.user_min_from_ap_m && d <= cfg.small_cell_radius_m,
                "{d}"
            );
            assert!(u.dist(&aps[0].pos) >= cfg.user_min_from_macro_m);
        }
    }
    // Gauss–Markov Rayleigh: mean power stays 1 and lag-1 correlation is ρ.
    let rho = jakes_rho(10.0, 0.02);
    let mut f = Fading::new(1, rho, &mut rng);
    let (mut pow, mut corr) = (0.0, 0.0);
    let steps = 40_000;
    for _ in 0..steps {
        let prev = f.h[0];
        f.evolve(&mut rng);
        let h = f.h[0];
        pow += h.0 * h.0 + h.1 * h.1;
        corr += prev.0 * h.0 + prev.1 * h.1;
    }
    let (pow, corr) = (pow / steps as f64, corr / steps as f64);
    assert!((pow - 1.0).abs() < 0.05, "mean |h|^2 {pow}");
    assert!(
        (corr - rho).abs() < 0.05,
        "lag-1 correlation {corr} vs {rho}"
    );
}
