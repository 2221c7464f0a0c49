//! GLOM islands of agreement (after Culp, Sabour & Hinton 2022, "Testing GLOM's ability to infer
//! wholes from ambiguous parts"). The paper's body could not be retrieved, so the world and the
//! exact model here are our own set-up in its spirit: objects are arrangements of ambiguous
//! ellipse parts on a grid, a simplified GLOM with shared columns, levels, bottom-up, top-down
//! and within-level attention is trained with supervision on the object level, and a T = 0
//! baseline (bottom-up only: a per-location classifier) trains on the same batches from the
//! same initial weights.

pub mod config;
pub mod eval;
pub mod model;
pub mod view;
pub mod world;

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::LabError;
use crate::lab::{Knob, Lab, LabConfig, NoAction, StepReport};
use crate::nn::{argmax, descend, scalar, to_vec};
use crate::results::{CurveSet, Line, Results};
use crate::rng::Rng;

pub use config::GlomConfig;
pub use eval::{SampleView, SetResult};
use model::{Batch, GlomNet, Identity, Update};
pub use view::{Curve, Curves, GlomView};
pub use world::{CLASS_NAMES, CLASSES, DISTRACTOR, Image, Part, WorldParams};
pub use world::{FEATURES, PARTS};

/// Ambiguity of the held-out set behind `acc_attn`, `acc_t0` and `island_score`.
pub const EVAL_AMBIGUITY: f64 = 0.5;
/// Points of the accuracy-vs-ambiguity curve.
pub const AMBIGUITIES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];
/// Points of the accuracy-vs-noise curve (σ of the Gaussian added to part features).
pub const NOISES: [f64; 5] = [0.0, 0.1, 0.2, 0.4, 0.8];
/// Points of the accuracy-vs-OOD-strength curve (see [`WorldParams::ood`]).
pub const OODS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Rng stream labels: training images, the main held-out set, curve sets, the shown sample.
const STREAM_INIT: u64 = 1;
const STREAM_TRAIN: u64 = 2;
const STREAM_TEST: u64 = 3;
const STREAM_NOISY: u64 = 4;
const STREAM_SAMPLE: u64 = 5;
/// The per-image σ of the training noise (`train_noise`); the noise itself comes from the
/// training stream's own draws.
const STREAM_TRAIN_NOISE: u64 = 6;
const STREAM_CURVES: u64 = 100;
/// Added to every evaluation stream label when `validation` is on: validation images come from
/// streams the held-out test images never use.
const STREAM_VALIDATION: u64 = 1000;

/// The GLOM lab.
pub struct GlomLab {
    cfg: GlomConfig,
    device: Device,
    pos: Vec<f32>,
    net: GlomNet,
    opt: ModuleOptimizer,
    base: Option<(GlomNet, ModuleOptimizer)>,
    rng_train: Rng,
    rng_train_noise: Rng,
    root: Rng,
    test: Vec<Image>,
    step: u64,
    sample: Option<SampleView>,
    acc_attn: Option<f64>,
    acc_t0: Option<f64>,
    island: Vec<f64>,
    curves: Option<Curves>,
}

impl GlomLab {
    fn update(&self) -> Update {
        Update {
            iterations: self.cfg.iterations,
            beta: self.cfg.beta,
            weights: [
                self.cfg.w_prev,
                self.cfg.w_bu,
                self.cfg.w_td,
                self.cfg.w_att,
            ],
        }
    }

    /// The baseline's settings: no iterations, hence no attention and no top-down.
    fn base_update(&self) -> Update {
        Update {
            iterations: 0,
            ..self.update()
        }
    }

    fn params(&self, ambiguity: f64, noise: f64, ood: f64) -> WorldParams {
        WorldParams {
            grid: self.cfg.grid,
            ambiguity,
            two_objects: self.cfg.two_objects,
            distractors: self.cfg.distractors,
            max_rotation_deg: self.cfg.max_rotation_deg,
            noise,
            ood,
        }
    }

    /// Linear decay to 1% over the second half of the run, when enabled.
    fn lr_scale(&self) -> f64 {
        let t = self.step as f64 / self.cfg.steps as f64;
        if !self.cfg.lr_decay || t <= 0.5 {
            1.0
        } else {
            (2.0 * (1.0 - t)).max(0.01)
        }
    }

    /// The label of an evaluation stream: the test one, or its validation twin.
    fn stream(&self, label: u64) -> u64 {
        if self.cfg.validation {
            label + STREAM_VALIDATION
        } else {
            label
        }
    }

    fn l(&self) -> usize {
        self.cfg.grid * self.cfg.grid
    }

    /// One-hot targets `[B, L, CLASSES + 1]` (empty locations all zero) and the occupied count.
    fn targets(&self, images: &[Image]) -> (Vec<f32>, usize) {
        let k = CLASSES + 1;
        let mut y = vec![0f32; images.len() * self.l() * k];
        let mut n = 0;
        for (i, im) in images.iter().enumerate() {
            for (c, &lab) in im.label.iter().enumerate() {
                if lab >= 0 {
                    y[(i * self.l() + c) * k + lab as usize] = 1.0;
                    n += 1;
                }
            }
        }
        (y, n)
    }

    /// Evaluates both models on the held-out set (and the noisy set when noise is on) and
    /// refreshes the sample shown.
    fn evaluate(&mut self, report: &mut StepReport) -> Result<(), LabError> {
        let dev = self.device.clone().without_autodiff();
        let net = self.net.valid();
        let u = self.update();
        let main = eval::evaluate(&net, &u, &self.test, &self.pos, &dev)?;
        report.push("acc_attn", main.acc);
        report.push("island_score", main.island.last().copied().unwrap_or(0.0));
        report.push(
            "island_score_iter0",
            main.island.first().copied().unwrap_or(0.0),
        );
        self.acc_attn = Some(main.acc);
        self.island = main.island;
        let base = self.base.as_ref().map(|(b, _)| b.valid());
        let bu = self.base_update();
        if let Some(b) = &base {
            let r = eval::evaluate(b, &bu, &self.test, &self.pos, &dev)?;
            report.push("acc_t0", r.acc);
            self.acc_t0 = Some(r.acc);
        }
        if self.cfg.noise > 0.0 {
            let mut rng = self.root.fork(self.stream(STREAM_NOISY));
            let p = self.params(EVAL_AMBIGUITY, self.cfg.noise, 0.0);
            let noisy = world::draw_images(&p, self.cfg.test_images, &mut rng);
            report.push(
                "acc_noise",
                eval::evaluate(&net, &u, &noisy, &self.pos, &dev)?.acc,
            );
        }
        // The sample: a held-out image with two objects under the current ambiguity and noise.
        let mut rng = self.root.fork(self.stream(STREAM_SAMPLE));
        let p = WorldParams {
            two_objects: 1.0,
            ..self.params(self.cfg.ambiguity, self.cfg.noise, 0.0)
        };
        let image = world::draw_image(&p, &mut rng);
        self.sample = Some(eval::sample_view(
            &net,
            &u,
            base.as_ref().map(|b| (b, &bu)),
            &image,
            self.cfg.grid,
            &self.pos,
            &dev,
        )?);
        Ok(())
    }

    /// Both models' accuracy along the three robustness sweeps, each point on its own
    /// held-out stream.
    fn compute_curves(&mut self) -> Result<(), LabError> {
        let dev = self.device.clone().without_autodiff();
        let net = self.net.valid();
        let base = self.base.as_ref().map(|(b, _)| b.valid());
        let (u, bu) = (self.update(), self.base_update());
        let mut curves = Curves {
            step: self.step,
            ..Curves::default()
        };
        for (kind, xs) in [AMBIGUITIES, NOISES, OODS].iter().enumerate() {
            let mut curve = Curve::default();
            for (i, &x) in xs.iter().enumerate() {
                let p = match kind {
                    0 => self.params(x, 0.0, 0.0),
                    1 => self.params(EVAL_AMBIGUITY, x, 0.0),
                    _ => self.params(EVAL_AMBIGUITY, 0.0, x),
                };
                let mut rng = self
                    .root
                    .fork(self.stream(STREAM_CURVES + 10 * kind as u64 + i as u64));
                let images = world::draw_images(&p, self.cfg.curve_images, &mut rng);
                curve.x.push(x);
                curve
                    .attn
                    .push(eval::evaluate(&net, &u, &images, &self.pos, &dev)?.acc);
                if let Some(b) = &base {
                    curve
                        .t0
                        .push(eval::evaluate(b, &bu, &images, &self.pos, &dev)?.acc);
                }
            }
            match kind {
                0 => curves.ambiguity = curve,
                1 => curves.noise = curve,
                _ => curves.ood = curve,
            }
        }
        self.curves = Some(curves);
        Ok(())
    }
}

/// One training step of `net` on a batch; returns the loss and the final iteration's accuracy
/// at object locations.
#[allow(clippy::too_many_arguments)]
fn train_one(
    net: &mut GlomNet,
    opt: &mut ModuleOptimizer,
    batch: &Batch,
    u: &Update,
    y: Tensor<3>,
    labels: &[i32],
    occupied: usize,
    all_iters: bool,
    identity: Option<&Identity>,
    lr: f64,
) -> Result<(f64, f64), LabError> {
    let (loss, logits) = net.loss(batch, u, y, occupied, all_iters, identity)?;
    let value = scalar(loss.clone().detach())?;
    let logits = to_vec(logits.detach())?;
    let k = CLASSES + 1;
    let (mut right, mut total) = (0usize, 0usize);
    for (r, &lab) in labels.iter().enumerate() {
        if (0..CLASSES as i32).contains(&lab) {
            let row = &logits[r * k..(r + 1) * k];
            right += usize::from(argmax(row) == lab as usize);
            total += 1;
        }
    }
    *net = descend(net.clone(), loss, opt, lr);
    Ok((value, right as f64 / total.max(1) as f64))
}

impl Lab for GlomLab {
    const ID: &'static str = "glom";
    const NAME: &'static str = "GLOM islands of agreement";
    const PAPER: &'static str = "After Culp, Sabour & Hinton 2022, Testing GLOM's ability to infer wholes from ambiguous parts";
    const SUMMARY: &'static str = "Objects made of ambiguous ellipse parts on an 8x8 grid. A \
        simplified GLOM (columns x levels, bottom-up, top-down and within-level attention, T \
        iterations) learns to give every location of an object nearly the same embedding, and \
        uses that agreement to classify parts no single location could. A T = 0 per-location \
        baseline trains on the same batches. Our own set-up in the paper's spirit (its body was \
        not retrievable).";
    const TINY: &'static [&'static str] = &[
        "batch_size=4",
        "test_images=10",
        "curve_images=4",
        "eval_every=2",
    ];

    type Config = GlomConfig;
    type View = GlomView;
    type Action = NoAction;

    fn new(cfg: GlomConfig, device: &Device) -> Result<Self, LabError> {
        cfg.validate()?;
        let device = crate::nn::autodiff_device(device);
        let root = Rng::new(cfg.seed);
        // Both models start from the same weights: the comparison differs only in T.
        let net = GlomNet::new(
            cfg.levels,
            cfg.dim,
            cfg.hidden,
            cfg.relative_pose,
            &mut root.fork(STREAM_INIT),
            &device,
        );
        let base = cfg.baseline.then(|| {
            let b = GlomNet::new(
                cfg.levels,
                cfg.dim,
                cfg.hidden,
                cfg.relative_pose,
                &mut root.fork(STREAM_INIT),
                &device,
            );
            (b, AdamConfig::new().init())
        });
        let mut lab = GlomLab {
            pos: world::position_code(cfg.grid),
            net,
            opt: AdamConfig::new().init(),
            base,
            rng_train: root.fork(STREAM_TRAIN),
            rng_train_noise: root.fork(STREAM_TRAIN_NOISE),
            test: Vec::new(),
            root,
            cfg,
            device,
            step: 0,
            sample: None,
            acc_attn: None,
            acc_t0: None,
            island: Vec::new(),
            curves: None,
        };
        // Held-out images come from their own stream and are never trained on.
        let p = lab.params(EVAL_AMBIGUITY, 0.0, 0.0);
        let mut rng = lab.root.fork(lab.stream(STREAM_TEST));
        lab.test = world::draw_images(&p, lab.cfg.test_images, &mut rng);
        Ok(lab)
    }

    fn step(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        let p = self.params(self.cfg.ambiguity, 0.0, 0.0);
        let images = world::draw_training_images(
            &p,
            self.cfg.batch_size,
            self.cfg.train_noise,
            &mut self.rng_train,
            &mut self.rng_train_noise,
        );
        let (b, l) = (images.len(), self.l());
        let features: Vec<f32> = images
            .iter()
            .flat_map(|im| im.features.iter().copied())
            .collect();
        let labels: Vec<i32> = images
            .iter()
            .flat_map(|im| im.label.iter().copied())
            .collect();
        let (y, occupied) = self.targets(&images);
        let batch = Batch::new(
            features,
            &self.pos,
            b,
            l,
            self.cfg.relative_pose,
            &self.device,
        );
        let y = Tensor::from_data(TensorData::new(y, [b, l, CLASSES + 1]), &self.device);
        let (u, bu) = (self.update(), self.base_update());
        let objects: Vec<i32> = images
            .iter()
            .flat_map(|im| im.object.iter().copied())
            .collect();
        let identity = (self.cfg.identity_weight > 0.0).then(|| {
            Identity::new(
                &objects,
                &labels,
                b,
                l,
                self.cfg.identity_weight,
                &self.device,
            )
        });
        let lr = self.cfg.lr * self.lr_scale();
        report.push("lr", lr);
        let (loss, acc) = train_one(
            &mut self.net,
            &mut self.opt,
            &batch,
            &u,
            y.clone(),
            &labels,
            occupied,
            self.cfg.loss_all_iters,
            identity.as_ref(),
            lr,
        )?;
        report.push("loss", loss);
        report.push("train_acc", acc);
        if let Some((net, opt)) = self.base.as_mut() {
            let (loss, acc) = train_one(
                net,
                opt,
                &batch,
                &bu,
                y,
                &labels,
                occupied,
                false,
                identity.as_ref(),
                lr,
            )?;
            report.push("loss_t0", loss);
            report.push("train_acc_t0", acc);
        }
        self.step += 1;
        if self.cfg.eval_every > 0 && self.step.is_multiple_of(self.cfg.eval_every) {
            self.evaluate(&mut report)?;
            if self.cfg.curves_every_eval {
                self.compute_curves()?;
            }
        }
        Ok(report)
    }

    fn view(&self) -> GlomView {
        GlomView {
            step: self.step,
            planned: self.cfg.steps,
            iterations: self.cfg.iterations,
            levels: self.cfg.levels,
            beta: self.cfg.beta,
            ambiguity: self.cfg.ambiguity,
            noise: self.cfg.noise,
            sample: self.sample.clone(),
            acc_attn: self.acc_attn,
            acc_t0: self.acc_t0,
            island_by_iter: self.island.clone(),
            curves: self.curves.clone(),
            test_images: self.test.len(),
        }
    }

    fn config(&self) -> &GlomConfig {
        &self.cfg
    }

    fn config_mut(&mut self) -> &mut GlomConfig {
        &mut self.cfg
    }

    fn knobs() -> &'static [Knob] {
        const KNOBS: &[Knob] = &[
            Knob::new(
                "iterations",
                "iterations T",
                "Iterations unrolled after the bottom-up pass (training and evaluation).",
            ),
            Knob::new(
                "beta",
                "attention β",
                "Sharpness of attention over cosine similarities.",
            ),
            Knob::new(
                "w_prev",
                "weight: previous",
                "Weight of the previous embedding in the update.",
            ),
            Knob::new(
                "w_bu",
                "weight: bottom-up",
                "Weight of the bottom-up prediction.",
            ),
            Knob::new(
                "w_td",
                "weight: top-down",
                "Weight of the top-down prediction.",
            ),
            Knob::new(
                "w_att",
                "weight: attention",
                "Weight of the attention (consensus) term; 0 turns attention off.",
            ),
            Knob::new(
                "ambiguity",
                "ambiguity (training)",
                "How far part shapes are merged and jittered in training images.",
            ),
            Knob::new(
                "noise",
                "noise (evaluation)",
                "Gaussian noise on the shown sample's part features and on acc_noise.",
            ),
        ];
        KNOBS
    }

    fn headline(_: &GlomConfig) -> Vec<&'static str> {
        vec!["acc_attn", "acc_t0", "island_score"]
    }

    fn planned_steps(&self) -> Option<u64> {
        Some(self.cfg.steps)
    }

    fn finish(&mut self) -> Result<StepReport, LabError> {
        let mut report = StepReport::default();
        self.evaluate(&mut report)?;
        self.compute_curves()?;
        // The curves also go into the metrics (and so into summary.json), one series per point,
        // named by the swept value in hundredths: e.g. `curve_noise_050_t0`.
        if let Some(c) = &self.curves {
            for (name, curve) in [
                ("ambiguity", &c.ambiguity),
                ("noise", &c.noise),
                ("ood", &c.ood),
            ] {
                for (i, &x) in curve.x.iter().enumerate() {
                    let tag = format!("curve_{name}_{:03}", (x * 100.0).round() as i64);
                    if let Some(&a) = curve.attn.get(i) {
                        report.push(format!("{tag}_attn"), a);
                    }
                    if let Some(&a) = curve.t0.get(i) {
                        report.push(format!("{tag}_t0"), a);
                    }
                }
            }
        }
        Ok(report)
    }

    /// The three robustness curves (both models) and the island score by iteration.
    fn results(&self) -> Results {
        let mut out = Results::default();
        if let Some(c) = &self.curves {
            let held = format!(
                "held-out accuracy ({} images a point)",
                self.cfg.curve_images
            );
            for (name, title, x_label, curve) in [
                (
                    "accuracy_vs_ambiguity",
                    "Accuracy against ambiguity",
                    "ambiguity",
                    &c.ambiguity,
                ),
                (
                    "accuracy_vs_noise",
                    "Accuracy against input noise (ambiguity 0.5)",
                    "noise σ",
                    &c.noise,
                ),
                (
                    "accuracy_vs_ood",
                    "Accuracy against out-of-range pose (ambiguity 0.5)",
                    "OOD strength",
                    &c.ood,
                ),
            ] {
                let mut lines = vec![Line {
                    label: "GLOM (attention)".into(),
                    x: curve.x.clone(),
                    y: curve.attn.clone(),
                }];
                if !curve.t0.is_empty() {
                    lines.push(Line {
                        label: "T = 0 baseline".into(),
                        x: curve.x.clone(),
                        y: curve.t0.clone(),
                    });
                }
                out.curves.push(CurveSet {
                    name: name.into(),
                    title: title.into(),
                    x_label: x_label.into(),
                    y_label: held.clone(),
                    lines,
                });
            }
        }
        if !self.island.is_empty() {
            out.curves.push(CurveSet {
                name: "island_score_by_iteration".into(),
                title: "Island score by iteration".into(),
                x_label: "iteration (0 = bottom-up pass)".into(),
                y_label: "island score (cosine, same minus other)".into(),
                lines: vec![Line {
                    label: "GLOM".into(),
                    x: (0..self.island.len()).map(|i| i as f64).collect(),
                    y: self.island.clone(),
                }],
            });
        }
        out
    }

    fn artifacts(&self) -> Vec<(String, serde_json::Value)> {
        let Some(c) = &self.curves else {
            return Vec::new();
        };
        let curve = |c: &Curve| serde_json::json!({"x": c.x, "acc_attn": c.attn, "acc_t0": c.t0});
        vec![(
            "glom_eval".into(),
            serde_json::json!({
                "step": c.step,
                "held_out_images_per_point": self.cfg.curve_images,
                "accuracy_vs_ambiguity": curve(&c.ambiguity),
                "accuracy_vs_noise_at_ambiguity_0.5": curve(&c.noise),
                "accuracy_vs_ood_strength_at_ambiguity_0.5": curve(&c.ood),
                "island_score_by_iteration": self.island,
                "acc_attn": self.acc_attn,
                "acc_t0": self.acc_t0,
            }),
        )]
    }
}
