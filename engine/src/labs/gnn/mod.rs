//! GNN power control (GNN4Com's canonical case, Shen et al.'s message-passing GNN, as surveyed
//! by Lee, Yu, Dai & Li) and a Com4GNN corner (the same GNN's messages sent over the air).
//!
//! A wireless network is a graph: links are nodes, interference is edges. A message-passing
//! GNN with one shared layer (see [`model`]) sets every link's power; it trains without labels
//! on the negative sum rate of fresh layouts at `k_train` links, and is then applied, with the
//! same weights, to held-out networks of other sizes. Multi-start WMMSE, FP, max power, random
//! power and greedy link activation run on the same held-out networks; a plain MLP on the
//! flattened channel matrix trains on the same batches with the same loss. Two mean-aggregation
//! twins (one trained on clean messages, one with over-the-air fading and noise injected) show
//! what happens when the aggregation is done by the channel itself.
//!
//! One `step` is one Adam step of every model on one batch of fresh layouts.

pub mod config;
pub mod data;
pub mod eval;
pub mod model;
pub mod view;

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::lab::{ActionReport, Knob, Lab, LabConfig, StepReport};
use crate::nn::train_step;
use crate::results::{Cell, CurveSet, Line, Results, Table};
use crate::rng::Rng;
use crate::wireless::db_to_lin;

pub use config::{Channel, GnnConfig};
pub use data::{GraphBatch, Network, draw, draw_set, sum_rate};
use eval::{BASELINE_STEMS, BASELINES, HeldOut, Solver};
pub use model::{Aggregation, AirChannel, Gnn, MlpPower};
pub use view::{AirCurve, GnnView, MethodPowers, ScalingRow, ShownNetwork};

/// Rng stream labels.
const STREAM_INIT: u64 = 1;
const STREAM_INIT_MLP: u64 = 2;
const STREAM_INIT_TWIN: u64 = 3;
const STREAM_TRAIN: u64 = 4;
const STREAM_AIR_TRAIN: u64 = 5;
const STREAM_VAL: u64 = 6;
const STREAM_RANDOM: u64 = 7;
const STREAM_AIR_EVAL: u64 = 8;
const STREAM_TEST: u64 = 1_000;
const STREAM_VIEW: u64 = 1_000_000;

/// Network sizes that have a headline key (keys are `&'static str`).
fn ratio_key(k: usize) -> Option<&'static str> {
    Some(match k {
        5 => "ratio_k5",
        10 => "ratio_k10",
        20 => "ratio_k20",
        50 => "ratio_k50",
        100 => "ratio_k100",
        200 => "ratio_k200",
        _ => return None,
    })
}

fn mlp_key(k: usize) -> Option<&'static str> {
    Some(match k {
        5 => "mlp_ratio_k5",
        10 => "mlp_ratio_k10",
        20 => "mlp_ratio_k20",
        50 => "mlp_ratio_k50",
        _ => return None,
    })
}

/// A model and its optimiser.
struct Trained<M> {
    model: M,
    opt: ModuleOptimizer,
}

impl<M> Trained<M> {
    fn new(model: M) -> Self {
        Trained {
            model,
            opt: AdamConfig::new().init(),
        }
    }
}

/// What a user can ask of the lab besides knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum GnnAction {
    /// Draw another held-out network of the shown size and evaluate the same weights on it.
    NewNetwork,
}

/// The GNN power-control lab.
pub struct GnnLab {
    cfg: GnnConfig,
    device: Device,
    gnn: Trained<Gnn>,
    mlp: Option<Trained<MlpPower>>,
    /// Mean-aggregation twins: clean-trained, noise-trained.
    twins: Option<[Trained<Gnn>; 2]>,
    rng_train: Rng,
    rng_air: Rng,
    root: Rng,
    val: HeldOut,
    tests: Vec<HeldOut>,
    step: u64,
    val_ratio: Option<f64>,
    mlp_val_ratio: Option<f64>,
    scaling: Vec<ScalingRow>,
    air: Option<AirCurve>,
    shown: Option<(Network, Vec<MethodPowers>, f64)>,
    view_draw: u64,
    shown_gnn_ms: f64,
}

impl GnnLab {
    fn solver(&self) -> Solver {
        Solver {
            iters: self.cfg.wmmse_iters,
            tol: self.cfg.wmmse_tol,
        }
    }

    fn eval_device(&self) -> Device {
        self.device.clone().without_autodiff()
    }

    /// Inference copies of the models.
    fn inference(&self) -> (Gnn, Option<MlpPower>, Option<[Gnn; 2]>) {
        (
            self.gnn.model.valid(),
            self.mlp.as_ref().map(|m| m.model.valid()),
            self.twins
                .as_ref()
                .map(|[a, b]| [a.model.valid(), b.model.valid()]),
        )
    }

    /// Validation ratios, the scaling rows and the over-the-air curve for the current weights.
    fn evaluate(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let dev = self.eval_device();
        let (gnn, mlp, twins) = self.inference();
        let layers = self.cfg.layers;
        let p = eval::gnn_powers(&gnn, &self.val.nets, layers, None, &dev)?;
        let r = self.val.ratio(&eval::rates_of(&self.val.nets, &p));
        report.push("val_ratio_gnn", r);
        self.val_ratio = Some(r);
        if let Some(m) = &mlp
            && let Some(p) = eval::mlp_powers(m, &self.val.nets, &dev)?
        {
            let r = self.val.ratio(&eval::rates_of(&self.val.nets, &p));
            report.push("val_ratio_mlp", r);
            self.mlp_val_ratio = Some(r);
        }
        if let Some([clean, _]) = &twins {
            let p = eval::gnn_powers(clean, &self.val.nets, layers, None, &dev)?;
            report.push(
                "val_ratio_mean_twin",
                self.val.ratio(&eval::rates_of(&self.val.nets, &p)),
            );
        }
        let mut rows = Vec::with_capacity(self.tests.len());
        for t in &self.tests {
            let rate = |m: &Gnn| -> Result<f64, LabError> {
                let p = eval::gnn_powers(m, &t.nets, layers, None, &dev)?;
                Ok(t.ratio(&eval::rates_of(&t.nets, &p)))
            };
            let mlp_ratio = match &mlp {
                Some(m) => eval::mlp_powers(m, &t.nets, &dev)?
                    .map(|p| t.ratio(&eval::rates_of(&t.nets, &p))),
                None => None,
            };
            rows.push(ScalingRow {
                k: t.k,
                layouts: t.nets.len(),
                gnn: rate(&gnn)?,
                mlp: mlp_ratio,
                twin: match &twins {
                    Some([c, _]) => Some(rate(c)?),
                    None => None,
                },
                baselines: t.rates.iter().map(|r| t.ratio(r)).collect(),
                gnn_ms: None,
                wmmse_ms: None,
                wmmse_fixed_ms: None,
            });
        }
        self.scaling = rows;
        self.air = match &twins {
            Some(tw) => Some(self.air_curve(&gnn, tw, &dev)?),
            None => None,
        };
        self.refresh_shown()?;
        Ok(())
    }

    /// The held-out set at the training K (or the validation set when it is not evaluated).
    fn home_set(&self) -> &HeldOut {
        self.tests
            .iter()
            .find(|t| t.k == self.cfg.k_train)
            .unwrap_or(&self.val)
    }

    fn air_curve(&self, gnn: &Gnn, twins: &[Gnn; 2], dev: &Device) -> Result<AirCurve, LabError> {
        let set = self.home_set();
        let layers = self.cfg.layers;
        let clean = |m: &Gnn| -> Result<f64, LabError> {
            let p = eval::gnn_powers(m, &set.nets, layers, None, dev)?;
            Ok(set.ratio(&eval::rates_of(&set.nets, &p)))
        };
        let mut curve = AirCurve {
            snr_db: self.cfg.air_snrs_db.clone(),
            clean_trained: Vec::new(),
            noise_trained: Vec::new(),
            clean_reference: clean(&twins[0])?,
            max_reference: clean(gnn)?,
            train_snr_db: self.cfg.message_snr_db,
        };
        for (i, &snr) in self.cfg.air_snrs_db.iter().enumerate() {
            for (t, twin) in twins.iter().enumerate() {
                // The same channel draws for both twins at each SNR.
                let mut rng = self.root.fork(STREAM_AIR_EVAL + 10 * i as u64);
                let p = eval::gnn_powers(
                    twin,
                    &set.nets,
                    layers,
                    Some((db_to_lin(snr), &mut rng)),
                    dev,
                )?;
                let r = set.ratio(&eval::rates_of(&set.nets, &p));
                if t == 0 {
                    curve.clean_trained.push(r);
                } else {
                    curve.noise_trained.push(r);
                }
            }
        }
        Ok(curve)
    }

    /// Draws the shown network at `k_view` (the `view_draw`-th at that size) and computes the
    /// baselines on it.
    fn draw_shown(&mut self) -> Result<(), LabError> {
        let k = self.cfg.k_view;
        let mut rng = self
            .root
            .fork(STREAM_VIEW + 1_000 * k as u64 + self.view_draw);
        let net = data::draw(&self.cfg, k, &mut rng);
        let (powers, _) = eval::baseline_powers(&net, self.solver(), &mut rng);
        let t0 = Instant::now();
        let pmax = net.pmax_vec();
        std::hint::black_box(crate::wireless::wmmse(
            &net.gains,
            &pmax,
            net.noise,
            self.cfg.wmmse_iters,
            self.cfg.wmmse_tol,
        ));
        let wmmse_ms = t0.elapsed().as_secs_f64() * 1e3;
        let methods = BASELINES
            .iter()
            .zip(powers)
            .map(|(name, p)| MethodPowers {
                name: name.to_string(),
                sum_rate: net.sum_rate(&p),
                powers: p,
            })
            .collect();
        self.shown = Some((net, methods, wmmse_ms));
        self.refresh_shown()
    }

    /// The learned models' powers on the shown network (cheap; after every evaluation and
    /// knob change).
    fn refresh_shown(&mut self) -> Result<(), LabError> {
        let dev = self.eval_device();
        let (gnn, mlp, twins) = self.inference();
        let layers = self.cfg.layers;
        let snr = db_to_lin(self.cfg.message_snr_db);
        let mut air_rng = self.root.fork(STREAM_AIR_EVAL + 7);
        let Some((net, base, _)) = self.shown.as_mut() else {
            return Ok(());
        };
        base.retain(|m| BASELINES.contains(&m.name.as_str()));
        let nets = std::slice::from_ref(&*net);
        let t0 = Instant::now();
        let p = eval::gnn_powers(&gnn, nets, layers, None, &dev)?;
        self.shown_gnn_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut learned = Vec::new();
        let mut push = |name: &str, p: Option<Vec<Vec<f64>>>| {
            if let Some(p) = p.and_then(|v| v.into_iter().next()) {
                learned.push(MethodPowers {
                    name: name.into(),
                    sum_rate: net.sum_rate(&p),
                    powers: p,
                });
            }
        };
        push("GNN", Some(p));
        if let Some(m) = &mlp {
            push("MLP", eval::mlp_powers(m, nets, &dev)?);
        }
        if let Some([_, noisy]) = &twins {
            let p = eval::gnn_powers(noisy, nets, layers, Some((snr, &mut air_rng)), &dev)?;
            push("GNN over the air", Some(p));
        }
        learned.append(base);
        *base = learned;
        Ok(())
    }

    /// The scaling test with timing, for `finish`.
    fn timed_rows(&mut self) -> Result<(), LabError> {
        let dev = self.eval_device();
        let gnn = self.gnn.model.valid();
        let s = self.solver();
        for row in &mut self.scaling {
            let Some(t) = self.tests.iter().find(|t| t.k == row.k) else {
                continue;
            };
            let t = eval::time_per_layout(&gnn, &t.nets, self.cfg.layers, s, 3, &dev)?;
            row.gnn_ms = Some(t.gnn * 1e3);
            row.wmmse_ms = Some(t.wmmse * 1e3);
            row.wmmse_fixed_ms = Some(t.wmmse_fixed * 1e3);
        }
        Ok(())
    }
}

impl Lab for GnnLab {
    const ID: &'static str = "gnn";
    const NAME: &'static str = "GNN power control";
    const PAPER: &'static str = "Lee, Yu, Dai & Li 2022, Graph Neural Networks Meet Wireless Communications (GNN4Com / Com4GNN); Shen et al.'s message-passing GNN for power control";
    const SUMMARY: &'static str = "A wireless network is a graph: links are nodes, \
        interference is edges. A message-passing GNN with one shared layer (a few thousand \
        weights whatever the size) learns, without labels, to set every D2D link's power by \
        maximising the sum rate, and is compared with multi-start WMMSE, FP, greedy, max and \
        random power on held-out networks; trained at K = 20, the same weights run on networks \
        up to 10x larger. A plain MLP cannot even be applied at another K. Com4GNN corner: the \
        messages superposed over a noisy fading channel.";
    const TINY: &'static [&'static str] = &[
        "batch_size=4",
        "val_layouts=3",
        "eval_every=2",
        "eval_ks=[5,10]",
        "k_train=10",
        "test_layouts=3",
        "test_layouts_large=2",
        "mlp_hidden=16",
        "hidden=8",
        "air_snrs_db=[0.0,10.0]",
        "timing=false",
        "k_view=10",
        "wmmse_iters=20",
    ];

    type Config = GnnConfig;
    type View = GnnView;
    type Action = GnnAction;

    fn new(cfg: GnnConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let root = Rng::new(cfg.seed);
        let gnn = Gnn::new(
            cfg.hidden,
            Aggregation::Max,
            &mut root.fork(STREAM_INIT),
            &device,
        );
        let mlp = cfg.mlp.then(|| {
            Trained::new(MlpPower::new(
                cfg.k_train,
                cfg.mlp_hidden,
                &mut root.fork(STREAM_INIT_MLP),
                &device,
            ))
        });
        // Both twins start from the same weights: they differ only in the noise they train with.
        let twins = cfg.air.then(|| {
            let twin = || {
                Trained::new(Gnn::new(
                    cfg.hidden,
                    Aggregation::Mean,
                    &mut root.fork(STREAM_INIT_TWIN),
                    &device,
                ))
            };
            [twin(), twin()]
        });
        let solver = Solver {
            iters: cfg.wmmse_iters,
            tol: cfg.wmmse_tol,
        };
        let mut rng_random = root.fork(STREAM_RANDOM);
        // Validation networks (for the training curve and for choosing settings) and held-out
        // networks (for the reported numbers) come from their own streams; training draws
        // fresh networks from a third.
        let val_nets = draw_set(
            &cfg,
            cfg.k_train,
            cfg.val_layouts,
            &mut root.fork(STREAM_VAL),
        );
        let val = HeldOut::new(cfg.k_train, val_nets, solver, &mut rng_random);
        let tests = cfg
            .eval_ks
            .iter()
            .map(|&k| {
                let nets = draw_set(
                    &cfg,
                    k,
                    cfg.layouts_at(k),
                    &mut root.fork(STREAM_TEST + k as u64),
                );
                HeldOut::new(k, nets, solver, &mut rng_random)
            })
            .collect();
        let mut lab = GnnLab {
            gnn: Trained::new(gnn),
            mlp,
            twins,
            rng_train: root.fork(STREAM_TRAIN),
            rng_air: root.fork(STREAM_AIR_TRAIN),
            root,
            val,
            tests,
            device,
            step: 0,
            val_ratio: None,
            mlp_val_ratio: None,
            scaling: Vec::new(),
            air: None,
            shown: None,
            view_draw: 0,
            shown_gnn_ms: 0.0,
            cfg,
        };
        lab.draw_shown()?;
        Ok(lab)
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let nets = draw_set(
            &self.cfg,
            self.cfg.k_train,
            self.cfg.batch_size,
            &mut self.rng_train,
        );
        let batch = GraphBatch::new(&nets, &self.device);
        let (lr, layers) = (self.cfg.lr, self.cfg.layers);
        let neg_rate = |p| sum_rate(&batch, p).mean().neg();
        let Trained { model, opt } = &mut self.gnn;
        let (next, loss) = train_step(model.clone(), opt, lr, |m: &Gnn| {
            Ok(neg_rate(m.powers(&batch, layers, None)))
        })?;
        *model = next;
        report.push("train_rate_gnn", -loss);
        if let Some(Trained { model, opt }) = self.mlp.as_mut() {
            let (next, loss) = train_step(model.clone(), opt, lr, |m: &MlpPower| {
                m.powers(&batch)
                    .map(neg_rate)
                    .ok_or_else(|| LabError::compute("MLP baseline built for another K"))
            })?;
            *model = next;
            report.push("train_rate_mlp", -loss);
        }
        if let Some([clean, noisy]) = self.twins.as_mut() {
            let (next, loss) = train_step(clean.model.clone(), &mut clean.opt, lr, |m: &Gnn| {
                Ok(neg_rate(m.powers(&batch, layers, None)))
            })?;
            clean.model = next;
            report.push("train_rate_mean_twin", -loss);
            let snr = db_to_lin(self.cfg.message_snr_db);
            let rng = &mut self.rng_air;
            let (next, loss) = train_step(noisy.model.clone(), &mut noisy.opt, lr, |m: &Gnn| {
                Ok(neg_rate(m.powers(
                    &batch,
                    layers,
                    Some(AirChannel { snr, rng }),
                )))
            })?;
            noisy.model = next;
            report.push("train_rate_air_twin", -loss);
        }
        self.step += 1;
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            self.evaluate(&mut report)?;
        }
        Ok(report)
    }

    fn view(&self) -> GnnView {
        let network = self.shown.as_ref().map(|(net, methods, wmmse_ms)| {
            let (side_m, tx, rx) = match &net.layout {
                Some(l) => (Some(l.side_m), l.tx.clone(), l.rx.clone()),
                None => (None, Vec::new(), Vec::new()),
            };
            ShownNetwork {
                k: net.k(),
                draw: self.view_draw,
                side_m,
                tx,
                rx,
                methods: methods.clone(),
                gnn_ms: self.shown_gnn_ms,
                wmmse_ms: *wmmse_ms,
            }
        });
        GnnView {
            step: self.step,
            planned: self.cfg.steps,
            channel: match self.cfg.channel {
                Channel::D2d => "d2d".into(),
                Channel::Gaussian => "gaussian".into(),
            },
            k_train: self.cfg.k_train,
            layers: self.cfg.layers,
            params: self.gnn.model.params(),
            mlp_params: self.mlp.as_ref().map(|m| m.model.num_params()),
            message_snr_db: self.cfg.message_snr_db,
            val_ratio: self.val_ratio,
            mlp_val_ratio: self.mlp_val_ratio,
            network,
            baseline_names: BASELINES.iter().map(|s| s.to_string()).collect(),
            scaling: self.scaling.clone(),
            air: self.air.clone(),
        }
    }

    fn config(&self) -> &GnnConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut GnnConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new("lr", "learning rate", "Adam step size of every model."),
            Knob::new(
                "layers",
                "GNN layers applied",
                "Times the shared layer runs (training and evaluation; the weights stay the same).",
            ),
            Knob::new(
                "k_view",
                "K at evaluation",
                "Links in the shown network: moving it draws a new held-out network of that size \
                 and runs the same weights on it.",
            ),
            Knob::new(
                "message_snr_db",
                "message SNR (dB)",
                "SNR of the over-the-air messages: the noise-trained twin trains at it and the \
                 shown network's over-the-air powers use it.",
            ),
        ];
        KNOBS
    }

    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        match key {
            "k_view" => {
                self.view_draw = 0;
                self.draw_shown()
            }
            "layers" | "message_snr_db" => self.refresh_shown(),
            _ => Ok(()),
        }
    }

    fn act(&mut self, action: GnnAction) -> Result<ActionReport, LabError> {
        match action {
            GnnAction::NewNetwork => {
                self.view_draw += 1;
                self.draw_shown()?;
                Ok(ActionReport::default())
            }
        }
    }

    fn headline(cfg: &GnnConfig) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = cfg.eval_ks.iter().filter_map(|&k| ratio_key(k)).collect();
        if cfg.mlp && cfg.eval_ks.contains(&cfg.k_train) {
            out.extend(mlp_key(cfg.k_train));
        }
        if cfg.timing && cfg.eval_ks.contains(&100) {
            out.push("speedup_k100");
        }
        out
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.steps)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        self.evaluate(&mut report)?;
        report.push("params_gnn", self.gnn.model.params() as f64);
        if let Some(m) = &self.mlp {
            report.push("params_mlp", m.model.num_params() as f64);
        }
        if self.cfg.timing {
            self.timed_rows()?;
        }
        for row in &self.scaling {
            let k = row.k;
            report.push(format!("ratio_k{k}"), row.gnn);
            if let Some(m) = row.mlp {
                report.push(format!("mlp_ratio_k{k}"), m);
            }
            if let Some(t) = row.twin {
                report.push(format!("mean_twin_ratio_k{k}"), t);
            }
            for (stem, r) in BASELINE_STEMS.iter().zip(&row.baselines).skip(1) {
                report.push(format!("{stem}_ratio_k{k}"), *r);
            }
            if let Some(t) = self.tests.iter().find(|t| t.k == k) {
                report.push(format!("wmmse_rate_k{k}"), t.wmmse_mean());
                if let (true, Some(g)) = (self.cfg.timing, row.gnn_ms) {
                    let multi = t.multi_start_s * 1e3;
                    report.push(format!("wmmse_multi_ms_k{k}"), multi);
                    report.push(format!("speedup_multi_k{k}"), multi / g.max(1e-12));
                }
            }
            if let (Some(g), Some(w)) = (row.gnn_ms, row.wmmse_ms) {
                report.push(format!("gnn_ms_k{k}"), g);
                report.push(format!("wmmse_ms_k{k}"), w);
                report.push(format!("speedup_k{k}"), w / g.max(1e-12));
            }
            if let (Some(g), Some(w)) = (row.gnn_ms, row.wmmse_fixed_ms) {
                report.push(format!("wmmse_fixed_ms_k{k}"), w);
                report.push(format!("speedup_fixed_k{k}"), w / g.max(1e-12));
            }
        }
        if let Some(a) = &self.air {
            report.push("air_clean_messages_ratio", a.clean_reference);
            for (i, s) in a.snr_db.iter().enumerate() {
                let tag = format!("{s:.0}").replace('-', "m");
                report.push(format!("air_clean_trained_snr{tag}"), a.clean_trained[i]);
                report.push(format!("air_noise_trained_snr{tag}"), a.noise_trained[i]);
            }
        }
        Ok(report)
    }

    fn results(&self) -> Results {
        let mut out = Results::default();
        if self.scaling.is_empty() {
            return out;
        }
        let ks: Vec<f64> = self.scaling.iter().map(|r| r.k as f64).collect();
        let mut lines = vec![Line {
            label: "GNN (trained at K = {k})".replace("{k}", &self.cfg.k_train.to_string()),
            x: ks.clone(),
            y: self.scaling.iter().map(|r| 100.0 * r.gnn).collect(),
        }];
        for (m, name) in BASELINES.iter().enumerate().skip(1) {
            lines.push(Line {
                label: name.to_string(),
                x: ks.clone(),
                y: self
                    .scaling
                    .iter()
                    .map(|r| 100.0 * r.baselines[m])
                    .collect(),
            });
        }
        out.curves.push(CurveSet {
            name: "scaling".into(),
            title: "Sum rate on held-out networks vs network size (no retraining)".into(),
            x_label: "links K".into(),
            y_label: "% of multi-start WMMSE".into(),
            lines,
        });
        if let Some(a) = &self.air {
            out.curves.push(CurveSet {
                name: "over_the_air".into(),
                title: format!(
                    "Mean-aggregation GNN with messages over the air (K = {})",
                    self.cfg.k_train
                ),
                x_label: "message SNR (dB)".into(),
                y_label: "% of multi-start WMMSE".into(),
                lines: vec![
                    Line {
                        label: "trained on clean messages".into(),
                        x: a.snr_db.clone(),
                        y: a.clean_trained.iter().map(|r| 100.0 * r).collect(),
                    },
                    Line {
                        label: format!("trained with noise at {:.0} dB", a.train_snr_db),
                        x: a.snr_db.clone(),
                        y: a.noise_trained.iter().map(|r| 100.0 * r).collect(),
                    },
                ],
            });
        }
        let mut columns = vec![
            "K".to_string(),
            "layouts".into(),
            "GNN %".into(),
            "MLP %".into(),
        ];
        columns.extend(BASELINES.iter().skip(1).map(|b| format!("{b} %")));
        columns.extend(["GNN ms/layout".into(), "WMMSE ms/layout".into()]);
        let pct = |x: Option<f64>| {
            x.map_or(Cell::from("—"), |v| {
                Cell::Num((1000.0 * v).round() / 10.0)
            })
        };
        let rows = self
            .scaling
            .iter()
            .map(|r| {
                let mut row = vec![
                    Cell::Num(r.k as f64),
                    Cell::Num(r.layouts as f64),
                    pct(Some(r.gnn)),
                    pct(r.mlp),
                ];
                row.extend(r.baselines.iter().skip(1).map(|&b| pct(Some(b))));
                let ms =
                    |x: Option<f64>| x.map_or(Cell::from("—"), |v| Cell::from(format!("{v:.3}")));
                row.extend([ms(r.gnn_ms), ms(r.wmmse_ms)]);
                row
            })
            .collect();
        out.tables.push(Table {
            name: "scaling".into(),
            title: "Held-out networks: % of multi-start WMMSE and time per layout".into(),
            columns,
            rows,
        });
        out
    }
}

#[cfg(test)]
mod tests;
