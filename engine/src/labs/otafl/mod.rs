//! Over-the-air federated learning over cell-free massive MIMO (after Sifaou & Li, arXiv
//! 2212.06482, whose equations and numbers could not be retrieved: the system model here is the
//! standard cell-free construction of Björnson & Sanguinetti and of Chen, Björnson & Fischione's
//! AirComp work, see [`crate::wireless::cellfree`] and [`crate::wireless::aircomp`]).
//!
//! One `step` is one communication round. Every scheme keeps its own global model; all start
//! from the same weights and see the same participants, minibatches and fading draws:
//! 1. the round's participants each run `local_steps` SGD steps from their scheme's global
//!    model and form the update Δ_k (new local weights minus the global ones);
//! 2. the error-free reference averages the Δ_k exactly; every over-the-air scheme normalises
//!    them with the global mean μ and spread ν (sent on an error-free side channel),
//!    s_k = (Δ_k − μ)/ν, and the receiver estimates their average ŝ over the air;
//! 3. the global model moves by ν ŝ + μ.
//!
//! The aggregation MSE is `mean_t (ŝ[t] − s̄[t])²` against the true average s̄ of all
//! participants (so silenced clients count as error), in units of the normalised update.

pub mod config;
pub mod model;
pub mod radio;
pub mod view;

use std::sync::Arc;

use burn::tensor::Device;

use crate::data::mnist::{self, Mnist, Source};
use crate::error::LabError;
use crate::lab::{Knob, Lab, LabConfig, NoAction, StepReport};
use crate::results::{Cell, CurveSet, Line, Results, Table};
use crate::rng::Rng;
use crate::wireless::aircomp::aggregate;
use crate::wireless::cellfree::Drop;

pub use config::{DataSplit, ModelKind, OtaflConfig};
pub use model::Net;
pub use radio::{RECEIVERS, Receiver, SWEEP_DBM};
pub use view::{ClientStatus, OtaflView};

/// Errors kept for the histogram, per receiver and round.
const HIST_SAMPLES: usize = 3000;

/// Stream labels of the root generator.
const S_DROP: u64 = 1;
const S_SPLIT: u64 = 2;
const S_FADING: u64 = 3;
const S_PART: u64 = 4;
const S_BATCH: u64 = 5;
const S_LSFD: u64 = 6;
const S_INIT: u64 = 7;
const S_SWEEP: u64 = 8;
const S_NOISE: u64 = 100;

/// The last round's radio outcome, for the view.
#[derive(Debug, Clone, Default)]
struct RoundRecord {
    status: Vec<Vec<ClientStatus>>,
    errors: Vec<Vec<f32>>,
    mse: Vec<f64>,
    ap_snr_db: Vec<f64>,
}

/// The OTA-FL lab.
pub struct OtaflLab {
    cfg: OtaflConfig,
    data: Arc<Mnist>,
    shards: Vec<Vec<usize>>,
    net: Net,
    drop: Drop,
    radio: radio::Radio,
    /// Per scheme (error-free first, then [`RECEIVERS`]), the global model.
    weights: Vec<Vec<f32>>,
    round: usize,
    root: Rng,
    sweep: Vec<Option<Vec<f64>>>,
    last: RoundRecord,
    acc: Vec<Option<f64>>,
}

fn net_of(cfg: &OtaflConfig) -> Net {
    match cfg.model {
        ModelKind::Logreg => Net::Logreg,
        ModelKind::Mlp => Net::Mlp(cfg.hidden),
    }
}

/// Scheme stems and labels, error-free first.
pub fn schemes() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("error_free", "error-free averaging")];
    v.extend(RECEIVERS.iter().map(|r| (r.stem(), r.label())));
    v
}

/// One client's local training from `w`: the update Δ and the first step's loss.
fn local_update(
    net: Net,
    w: &[f32],
    data: &mnist::Split,
    batches: &[Vec<usize>],
    lr: f32,
) -> (Vec<f32>, f32) {
    let mut local = w.to_vec();
    let mut g = vec![0.0f32; w.len()];
    let mut first = 0.0;
    for (e, b) in batches.iter().enumerate() {
        let loss = net.grad(&local, data, b, &mut g);
        if e == 0 {
            first = loss;
        }
        for (x, gv) in local.iter_mut().zip(&g) {
            *x -= lr * gv;
        }
    }
    for (x, w0) in local.iter_mut().zip(w) {
        *x -= w0;
    }
    (local, first)
}

impl OtaflLab {
    fn rebuild_radio(&mut self) {
        let p = crate::wireless::dbm_to_watt(self.cfg.client_power_dbm);
        let mut rng = self.root.fork(S_LSFD);
        self.radio = radio::Radio::new(
            &self.drop,
            self.cfg.pilots,
            p,
            self.cfg.lsfd_samples,
            &mut rng,
        );
    }

    fn sweep_spec(&self) -> radio::SweepSpec {
        radio::SweepSpec {
            tau_p: self.cfg.pilots,
            reps: self.cfg.sweep_reps,
            dim: self.cfg.sweep_dim,
            lsfd_samples: self.cfg.lsfd_samples,
            trunc_db: self.cfg.trunc_db,
            iters: self.cfg.design_iters,
        }
    }

    /// Computes the next missing sweep point, if any, and reports its keys.
    fn sweep_next(&mut self, report: &mut StepReport) -> bool {
        let Some(i) = self.sweep.iter().position(Option::is_none) else {
            return false;
        };
        let mut rng = self.root.fork(S_SWEEP).fork(i as u64);
        let vals = radio::sweep_point(&self.drop, SWEEP_DBM[i], self.sweep_spec(), &mut rng);
        for (rx, v) in RECEIVERS.iter().zip(&vals) {
            report.push(radio::sweep_key(*rx, SWEEP_DBM[i]), *v);
        }
        self.sweep[i] = Some(vals);
        true
    }

    /// Test accuracy of every scheme on the first `limit` test digits (in parallel).
    fn evaluate(&mut self, limit: usize, report: &mut StepReport) {
        let (net, data) = (self.net, &self.data);
        let accs: Vec<f64> = std::thread::scope(|s| {
            let hs: Vec<_> = self
                .weights
                .iter()
                .map(|w| s.spawn(move || net.accuracy(w, &data.test, limit)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0.0)).collect()
        });
        for ((stem, _), a) in schemes().iter().zip(&accs) {
            report.push(format!("acc_{stem}"), *a);
        }
        self.acc = accs.into_iter().map(Some).collect();
    }

    /// Every participant's batches for this round: `local_steps` batches each.
    fn batches(&self, parts: &[usize], rng: &mut Rng) -> Vec<Vec<Vec<usize>>> {
        parts
            .iter()
            .map(|&k| {
                let own = &self.shards[k];
                (0..self.cfg.local_steps)
                    .map(|_| {
                        (0..self.cfg.batch_size)
                            .map(|_| own[rng.below(own.len())])
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }
}

impl Lab for OtaflLab {
    const ID: &'static str = "otafl";
    const NAME: &'static str = "Over-the-air federated learning (cell-free vs cellular)";
    const PAPER: &'static str = "Sifaou & Li 2022, Over-The-Air Federated Learning Over \
        Scalable Cell-free Massive MIMO (arXiv 2212.06482); system model: the standard \
        cell-free construction, not the paper's own equations";
    const SUMMARY: &'static str = "Clients of a federated MNIST model send their updates at \
        the same time on the same radio resource and the channel adds them up. Cell-free \
        receivers (many distributed access points, combined centrally or locally with \
        large-scale fading decoding) race one cellular base station with as many antennas and \
        exact error-free averaging, on the same data, fading and initial weights, with MMSE \
        channel estimates over spatially correlated fading and pilot contamination. The paper's \
        equations could not be retrieved; the model is the standard cell-free one.";
    const TINY: &'static [&'static str] = &[
        "rounds=2",
        "eval_every=1",
        "eval_test=50",
        "test_limit=100",
        "train_limit=4000",
        "aps=4",
        "antennas=2",
        "hidden=4",
        "sweep_reps=1",
        "sweep_dim=20",
        "lsfd_samples=2",
    ];

    type Config = OtaflConfig;
    type View = OtaflView;
    type Action = NoAction;

    fn new(cfg: OtaflConfig, _device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let data = mnist::load(&Source::from_config(&cfg.data_dir))?;
        let root = Rng::new(cfg.seed);
        let shards = model::split_clients(
            &data.train.labels,
            cfg.train_limit,
            cfg.clients,
            cfg.split == DataSplit::NonIid,
            cfg.shards_per_client,
            &mut root.fork(S_SPLIT),
        );
        let net = net_of(&cfg);
        let w0 = net.init(&mut root.fork(S_INIT));
        let drop = Drop::new(&cfg.radio(), &mut root.fork(S_DROP));
        let p = crate::wireless::dbm_to_watt(cfg.client_power_dbm);
        let radio = radio::Radio::new(
            &drop,
            cfg.pilots,
            p,
            cfg.lsfd_samples,
            &mut root.fork(S_LSFD),
        );
        Ok(OtaflLab {
            weights: vec![w0; 1 + RECEIVERS.len()],
            acc: vec![None; 1 + RECEIVERS.len()],
            sweep: vec![None; SWEEP_DBM.len()],
            last: RoundRecord::default(),
            round: 0,
            cfg,
            data,
            shards,
            net,
            drop,
            radio,
            root,
        })
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let r = self.round as u64;
        let k_all = self.cfg.clients;
        let mut order: Vec<usize> = (0..k_all).collect();
        self.root.fork(S_PART).fork(r).shuffle(&mut order);
        let mut parts = order[..self.cfg.participants.min(k_all)].to_vec();
        parts.sort_unstable();
        let batches = self.batches(&parts, &mut self.root.fork(S_BATCH).fork(r));
        let ch = radio::draw_channels(
            &self.drop,
            &self.radio,
            &mut self.root.fork(S_FADING).fork(r),
        );

        // Local training of every scheme's participants, one thread per scheme.
        let (net, data, lr) = (self.net, &self.data, self.cfg.lr as f32);
        let updates: Vec<Vec<(Vec<f32>, f32)>> = std::thread::scope(|s| {
            let hs: Vec<_> = self
                .weights
                .iter()
                .map(|w| {
                    let batches = &batches;
                    s.spawn(move || {
                        batches
                            .iter()
                            .map(|b| local_update(net, w, &data.train, b, lr))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let d = self.net.dim();
        let n_parts = parts.len() as f64;
        let loss = updates[0].iter().map(|u| u.1 as f64).sum::<f64>() / n_parts;
        report.push("round", (self.round + 1) as f64);
        report.push("train_loss", loss);

        let noise_w = self.drop.noise_w;
        let p_w = self.radio.power_w;
        let mut rec = RoundRecord::default();
        for (si, ups) in updates.iter().enumerate() {
            let deltas: Vec<&Vec<f32>> = ups.iter().map(|u| &u.0).collect();
            if si == 0 {
                let w = &mut self.weights[0];
                for (t, wv) in w.iter_mut().enumerate() {
                    let m: f64 = deltas.iter().map(|dk| dk[t] as f64).sum::<f64>() / n_parts;
                    *wv += m as f32;
                }
                continue;
            }
            let rx = RECEIVERS[si - 1];
            // Side information: global mean and spread of the participants' updates.
            let total = n_parts * d as f64;
            let mu = deltas
                .iter()
                .flat_map(|dk| dk.iter())
                .map(|&x| x as f64)
                .sum::<f64>()
                / total;
            let var = deltas
                .iter()
                .flat_map(|dk| dk.iter())
                .map(|&x| (x as f64 - mu).powi(2))
                .sum::<f64>()
                / total;
            let nu = var.sqrt().max(1e-30);
            let mut s_all = vec![Vec::new(); k_all];
            let mut budget = vec![0.0; k_all];
            let mut ms = vec![0.0; k_all];
            for (j, &k) in parts.iter().enumerate() {
                let sk: Vec<f32> = deltas[j]
                    .iter()
                    .map(|&x| ((x as f64 - mu) / nu) as f32)
                    .collect();
                ms[k] = sk.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / d as f64;
                budget[k] = (p_w / ms[k].max(1e-12)).sqrt();
                s_all[k] = sk;
            }
            let design = self.radio.design(
                rx,
                &ch,
                &budget,
                self.cfg.trunc_db,
                noise_w,
                self.cfg.design_iters,
            );
            let mut rng = self.root.fork(S_NOISE + si as u64).fork(r);
            let truth: Vec<f64> = (0..d)
                .map(|t| parts.iter().map(|&k| s_all[k][t] as f64).sum::<f64>() / n_parts)
                .collect();
            let est = aggregate(&design, &s_all, true, &mut rng);
            let w = &mut self.weights[si];
            let (mse, errors) = match &est {
                Some(e) => {
                    for (wv, ev) in w.iter_mut().zip(e) {
                        *wv += (nu * ev + mu) as f32;
                    }
                    let stride = d.div_ceil(HIST_SAMPLES).max(1);
                    let errs = (0..d)
                        .step_by(stride)
                        .map(|t| (e[t] - truth[t]) as f32)
                        .collect();
                    (radio::mse(e, &truth), errs)
                }
                None => (
                    truth.iter().map(|x| x * x).sum::<f64>() / d as f64,
                    Vec::new(),
                ),
            };
            let n_act = design.active.iter().filter(|&&x| x).count();
            report.push(format!("mse_{}", rx.stem()), mse);
            report.push(format!("sent_{}", rx.stem()), n_act as f64);
            let status: Vec<ClientStatus> = (0..k_all)
                .map(|k| match (budget[k] > 0.0, design.active[k]) {
                    (false, _) => ClientStatus::Idle,
                    (true, true) => ClientStatus::Sent,
                    (true, false) => ClientStatus::Silent,
                })
                .collect();
            if rx == Receiver::CfCentral {
                let n_ant = self.cfg.antennas as f64;
                rec.ap_snr_db = ch
                    .ap
                    .iter()
                    .map(|a| {
                        let sig: f64 = (0..k_all)
                            .filter(|&k| design.active[k])
                            .map(|k| design.b[k].norm_sqr() * ms[k] * a.h[k].norm_squared())
                            .sum();
                        crate::wireless::lin_to_db(sig / (n_ant * noise_w))
                    })
                    .collect();
            }
            rec.status.push(status);
            rec.errors.push(errors);
            rec.mse.push(mse);
        }
        self.last = rec;
        self.round += 1;
        if self.round.is_multiple_of(self.cfg.eval_every) || self.round == self.cfg.rounds {
            self.evaluate(self.cfg.eval_test, &mut report);
        }
        self.sweep_next(&mut report);
        Ok(report)
    }

    fn view(&self) -> OtaflView {
        let labels: Vec<String> = RECEIVERS.iter().map(|r| r.label().to_string()).collect();
        let zip = |v: &[Vec<ClientStatus>]| labels.iter().cloned().zip(v.iter().cloned()).collect();
        OtaflView {
            round: self.round,
            rounds: self.cfg.rounds,
            side_m: self.cfg.side_m,
            aps: self.drop.aps.iter().map(|a| a.pos).collect(),
            ap_snr_db: self.last.ap_snr_db.clone(),
            bs: self.drop.bs.pos,
            clients: self.drop.clients.clone(),
            status: zip(&self.last.status),
            errors: labels
                .iter()
                .cloned()
                .zip(self.last.errors.iter().cloned())
                .collect(),
            mse_round: labels
                .iter()
                .cloned()
                .zip(self.last.mse.iter().copied())
                .collect(),
            sweep_dbm: SWEEP_DBM.to_vec(),
            sweep: RECEIVERS
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let pts = self
                        .sweep
                        .iter()
                        .map(|p| p.as_ref().map(|v| v[i]))
                        .collect();
                    (r.label().to_string(), pts)
                })
                .collect(),
            schemes: schemes()
                .iter()
                .map(|(s, l)| (s.to_string(), l.to_string()))
                .collect(),
            acc: self.acc.clone(),
            client_power_dbm: self.cfg.client_power_dbm,
            pilots: self.cfg.pilots,
            participants: self.cfg.participants,
            clients_total: self.cfg.clients,
            split: match self.cfg.split {
                DataSplit::Iid => "iid".into(),
                DataSplit::NonIid => "non_iid".into(),
            },
            model: format!(
                "{} ({} parameters)",
                match self.cfg.model {
                    ModelKind::Logreg => "logistic regression",
                    ModelKind::Mlp => "MLP",
                },
                self.net.dim()
            ),
            lr: self.cfg.lr,
            local_steps: self.cfg.local_steps,
        }
    }

    fn config(&self) -> &OtaflConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut OtaflConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "client_power_dbm",
                "client power (dBm)",
                "Every client's power budget for pilots and data; re-estimates the channels.",
            ),
            Knob::new(
                "pilots",
                "pilots τ_p",
                "Orthogonal pilots; fewer than the clients means pilot contamination. Restarts \
                 the MSE-vs-power sweep.",
            ),
            Knob::new(
                "participants",
                "clients taking part",
                "How many clients (a random subset each round) train and transmit.",
            ),
            Knob::new(
                "lr",
                "learning rate",
                "The clients' local SGD step size (every scheme).",
            ),
            Knob::new(
                "local_steps",
                "local steps E",
                "SGD steps per client per round (1 = FedSGD). The data split and the model are \
                 config-only: --set split=iid, model=logreg, then reset.",
            ),
        ];
        KNOBS
    }

    fn knob_changed(&mut self, key: &str) -> Result<(), LabError> {
        match key {
            "client_power_dbm" => self.rebuild_radio(),
            "pilots" => {
                self.rebuild_radio();
                self.sweep = vec![None; SWEEP_DBM.len()];
            }
            _ => {}
        }
        Ok(())
    }

    fn headline(_: &OtaflConfig) -> Vec<&'static str> {
        vec![
            "acc_error_free",
            "acc_cellfree_central",
            "acc_cellfree_lsfd",
            "acc_cellular",
            "mse_cellfree_central_10dbm",
            "mse_cellular_10dbm",
        ]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.rounds as u64)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        while self.sweep_next(&mut report) {}
        self.evaluate(self.cfg.test_limit, &mut report);
        Ok(report)
    }

    fn results(&self) -> Results {
        let lines = RECEIVERS
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (x, y) = SWEEP_DBM
                    .iter()
                    .zip(&self.sweep)
                    .filter_map(|(p, v)| v.as_ref().map(|v| (*p, v[i])))
                    .unzip();
                Line {
                    label: r.label().into(),
                    x,
                    y,
                }
            })
            .collect();
        let mut columns = vec!["client power (dBm)".to_string()];
        columns.extend(RECEIVERS.iter().map(|r| r.label().to_string()));
        let rows = SWEEP_DBM
            .iter()
            .zip(&self.sweep)
            .filter_map(|(p, v)| {
                v.as_ref().map(|v| {
                    let mut row = vec![Cell::Num(*p)];
                    row.extend(v.iter().map(|&m| Cell::Text(format!("{m:.3e}"))));
                    row
                })
            })
            .collect();
        let acc_rows = schemes()
            .iter()
            .zip(&self.acc)
            .map(|((_, l), a)| {
                vec![
                    Cell::from(*l),
                    a.map_or(Cell::from("—"), |a| {
                        Cell::Text(format!("{:.2}%", 100.0 * a))
                    }),
                ]
            })
            .collect();
        Results {
            curves: vec![CurveSet {
                name: "otafl_mse_vs_power".into(),
                title: "Aggregation MSE against client power (all clients, unit-variance updates)"
                    .into(),
                x_label: "client power (dBm)".into(),
                y_label: "MSE per entry (normalised units)".into(),
                lines,
            }],
            tables: vec![
                Table {
                    name: "otafl_mse_vs_power".into(),
                    title: "Aggregation MSE per entry against client power".into(),
                    columns,
                    rows,
                },
                Table {
                    name: "otafl_accuracy".into(),
                    title: "Latest test accuracy per scheme".into(),
                    columns: vec!["scheme".into(), "test accuracy".into()],
                    rows: acc_rows,
                },
            ],
        }
    }
}
