//! The synthetic world: objects made of ambiguous parts on a grid of locations.
//!
//! An object is a fixed arrangement of six parts (cell offsets) placed under a random global
//! pose (translation, rotation, scale). Each part is an ellipse drawn from a small vocabulary of
//! four prototype shapes; every shape occurs in at least three of the five classes, so no shape
//! identifies a class, and the class is fixed by which shapes sit where. The ambiguity knob
//! pulls every part's shape towards the vocabulary's mean shape and jitters it, so that at high
//! ambiguity a single location says little and only the parts together identify the object.
//! Everything is drawn from [`Rng`]; the arrangements themselves are constants.

use crate::rng::Rng;

/// Number of object classes.
pub const CLASSES: usize = 5;
/// Class names, for the panel (loosely after the layouts' shapes).
pub const CLASS_NAMES: [&str; CLASSES] = ["arch", "tee", "ell", "zig", "ring"];
/// Parts per object.
pub const PARTS: usize = 6;
/// Features per location: occupancy, x, y, ln size, ln aspect, sin 2θ, cos 2θ, sub-cell dx, dy.
pub const FEATURES: usize = 9;
/// Label of a distractor location (a part that belongs to no object).
pub const DISTRACTOR: usize = CLASSES;

/// The vocabulary of prototype shapes: (size in cells, aspect ratio ≥ 1, orientation in degrees
/// relative to the object's frame).
const SHAPES: [(f64, f64, f64); 4] = [
    (0.30, 1.1, 0.0),
    (0.45, 3.0, 0.0),
    (0.38, 1.8, 60.0),
    (0.24, 2.2, -45.0),
];

/// Per class: the six parts' cell offsets from the object's centre and their shape ids.
const LAYOUTS: [[(i32, i32, usize); PARTS]; CLASSES] = [
    // arch
    [
        (-2, 1, 0),
        (-2, 0, 1),
        (-1, -1, 2),
        (1, -1, 2),
        (2, 0, 1),
        (2, 1, 0),
    ],
    // tee
    [
        (-2, -1, 1),
        (-1, -1, 1),
        (0, -1, 3),
        (1, -1, 1),
        (0, 0, 0),
        (0, 1, 0),
    ],
    // ell
    [
        (-1, -2, 2),
        (-1, -1, 2),
        (-1, 0, 2),
        (-1, 1, 3),
        (0, 1, 3),
        (1, 1, 0),
    ],
    // zig
    [
        (-2, -1, 3),
        (-1, -1, 0),
        (-1, 0, 3),
        (0, 0, 0),
        (1, 0, 1),
        (1, 1, 2),
    ],
    // ring
    [
        (-1, -1, 2),
        (1, -1, 3),
        (-2, 0, 1),
        (2, 0, 3),
        (-1, 1, 2),
        (1, 1, 1),
    ],
];

/// How images are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldParams {
    /// Locations per side.
    pub grid: usize,
    /// Ambiguity of part shapes in [0, 1].
    pub ambiguity: f64,
    /// Probability of a second object.
    pub two_objects: f64,
    /// Up to this many distractor parts.
    pub distractors: usize,
    /// Training range of the global rotation, ± degrees.
    pub max_rotation_deg: f64,
    /// Gaussian noise on the continuous part features (evaluation; in training only through
    /// [`draw_training_images`]).
    pub noise: f64,
    /// Evaluation-only out-of-distribution strength in [0, 1]: 0 draws poses from the training
    /// range; s > 0 draws rotations of ±(max + s·90°) and scales of 1.2 + 0.5·s or 0.8 − 0.15·s,
    /// all outside what training ever shows.
    pub ood: f64,
}

/// One ellipse as placed in an image, in continuous grid coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// Centre, in cells (x to the right, y down).
    pub x: f32,
    /// Centre, in cells.
    pub y: f32,
    /// Semi-major axis, in cells.
    pub size: f32,
    /// Ratio of the major to the minor axis.
    pub aspect: f32,
    /// Orientation in radians.
    pub angle: f32,
    /// Which object it belongs to (0 or 1), or -1 for a distractor.
    pub object: i32,
}

/// One image: its parts, per-location features and per-location targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The parts as drawn (before noise, for display).
    pub parts: Vec<Part>,
    /// `grid² × FEATURES` row-major features (noise included).
    pub features: Vec<f32>,
    /// Per location: class of the object there, [`DISTRACTOR`], or -1 for an empty location.
    pub label: Vec<i32>,
    /// Per location: 0 or 1 for the object there, -1 otherwise.
    pub object: Vec<i32>,
}

fn shape_mean() -> (f64, f64) {
    let n = SHAPES.len() as f64;
    let ls = SHAPES.iter().map(|s| s.0.ln()).sum::<f64>() / n;
    let la = SHAPES.iter().map(|s| s.1.ln()).sum::<f64>() / n;
    (ls, la)
}

/// A part's (size, aspect, angle) for prototype `shape` under global rotation `rot` and scale,
/// merged towards the mean shape by `a` and jittered.
fn perturbed_shape(shape: usize, rot: f64, scale: f64, a: f64, rng: &mut Rng) -> (f64, f64, f64) {
    let (ls0, la0, deg) = {
        let s = SHAPES[shape];
        (s.0.ln(), s.1.ln(), s.2)
    };
    let (lsm, lam) = shape_mean();
    let jitter = 0.05 + 0.3 * a;
    let ls = (1.0 - a) * ls0 + a * lsm + jitter * rng.normal();
    let la = ((1.0 - a) * la0 + a * lam + jitter * rng.normal()).max(0.0);
    let angle = ((1.0 - a) * deg + (5.0 + 40.0 * a) * rng.normal()).to_radians() + rot;
    ((ls.exp()) * scale, la.exp(), angle)
}

/// Draws a pose (rotation in radians, scale) from the training range or, with `ood > 0`, from
/// outside it.
fn draw_pose(p: &WorldParams, rng: &mut Rng) -> (f64, f64) {
    let max = p.max_rotation_deg;
    if p.ood <= 0.0 {
        let rot = (rng.uniform() * 2.0 - 1.0) * max;
        let scale = 0.8 + 0.4 * rng.uniform();
        (rot.to_radians(), scale)
    } else {
        let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        let rot = sign * (max + p.ood * 90.0 * (0.5 + 0.5 * rng.uniform()));
        let scale = if rng.uniform() < 0.5 {
            1.2 + 0.5 * p.ood
        } else {
            0.8 - 0.15 * p.ood
        };
        (rot.to_radians(), scale)
    }
}

/// Tries to place one object of class `class`; returns its parts' (cell, part) or `None` when
/// the pose would leave the grid or put two parts in one cell or on an occupied cell.
fn place_object(
    class: usize,
    object: i32,
    p: &WorldParams,
    taken: &[bool],
    rng: &mut Rng,
) -> Option<Vec<(usize, Part)>> {
    let g = p.grid as f64;
    let (rot, scale) = draw_pose(p, rng);
    let cx = 0.5 + rng.uniform() * (g - 1.0);
    let cy = 0.5 + rng.uniform() * (g - 1.0);
    let (sin, cos) = rot.sin_cos();
    let mut out = Vec::with_capacity(PARTS);
    let mut used = taken.to_vec();
    for &(ox, oy, shape) in &LAYOUTS[class] {
        let (ox, oy) = (ox as f64 * scale, oy as f64 * scale);
        let x = cx + cos * ox - sin * oy;
        let y = cy + sin * ox + cos * oy;
        if x < 0.0 || y < 0.0 || x >= g || y >= g {
            return None;
        }
        let cell = y.floor() as usize * p.grid + x.floor() as usize;
        if used[cell] {
            return None;
        }
        used[cell] = true;
        let (size, aspect, angle) = perturbed_shape(shape, rot, scale, p.ambiguity, rng);
        out.push((
            cell,
            Part {
                x: x as f32,
                y: y as f32,
                size: size as f32,
                aspect: aspect as f32,
                angle: angle as f32,
                object,
            },
        ));
    }
    Some(out)
}

/// Draws one image.
pub fn draw_image(p: &WorldParams, rng: &mut Rng) -> Image {
    let g = p.grid;
    let n = g * g;
    let mut taken = vec![false; n];
    let mut label = vec![-1i32; n];
    let mut object = vec![-1i32; n];
    let mut placed: Vec<(usize, Part)> = Vec::new();
    let want = if rng.uniform() < p.two_objects { 2 } else { 1 };
    for k in 0..want {
        let class = rng.below(CLASSES);
        // Rejection sampling of the pose; a second object that does not fit is simply left out.
        for _ in 0..1000 {
            if let Some(parts) = place_object(class, k, p, &taken, rng) {
                for &(cell, _) in &parts {
                    taken[cell] = true;
                    label[cell] = class as i32;
                    object[cell] = k;
                }
                placed.extend(parts);
                break;
            }
        }
    }
    let n_distract = if p.distractors > 0 {
        rng.below(p.distractors + 1)
    } else {
        0
    };
    for _ in 0..n_distract {
        let free: Vec<usize> = (0..n).filter(|&c| !taken[c]).collect();
        if free.is_empty() {
            break;
        }
        let cell = free[rng.below(free.len())];
        let (rot, scale) = draw_pose(p, rng);
        let (size, aspect, angle) =
            perturbed_shape(rng.below(SHAPES.len()), rot, scale, p.ambiguity, rng);
        let (cx, cy) = ((cell % g) as f64, (cell / g) as f64);
        taken[cell] = true;
        label[cell] = DISTRACTOR as i32;
        placed.push((
            cell,
            Part {
                x: (cx + 0.15 + 0.7 * rng.uniform()) as f32,
                y: (cy + 0.15 + 0.7 * rng.uniform()) as f32,
                size: size as f32,
                aspect: aspect as f32,
                angle: angle as f32,
                object: -1,
            },
        ));
    }
    let mut features = vec![0f32; n * FEATURES];
    for c in 0..n {
        let row = &mut features[c * FEATURES..(c + 1) * FEATURES];
        row[1] = ((c % g) as f32 + 0.5) / g as f32 * 2.0 - 1.0;
        row[2] = ((c / g) as f32 + 0.5) / g as f32 * 2.0 - 1.0;
    }
    for &(cell, part) in &placed {
        let row = &mut features[cell * FEATURES..(cell + 1) * FEATURES];
        let noise = p.noise as f32;
        let mut jitter = || noise * rng.normal() as f32;
        row[0] = 1.0;
        row[3] = part.size.ln() + jitter();
        row[4] = part.aspect.ln() + jitter();
        row[5] = (2.0 * part.angle).sin() + jitter();
        row[6] = (2.0 * part.angle).cos() + jitter();
        row[7] = part.x - part.x.floor() - 0.5 + jitter();
        row[8] = part.y - part.y.floor() - 0.5 + jitter();
    }
    Image {
        parts: placed.into_iter().map(|(_, p)| p).collect(),
        features,
        label,
        object,
    }
}

/// Draws `count` images from `rng`.
pub fn draw_images(p: &WorldParams, count: usize, rng: &mut Rng) -> Vec<Image> {
    (0..count).map(|_| draw_image(p, rng)).collect()
}

/// Draws `count` training images from `rng`; with `max_noise > 0`, each image gets Gaussian
/// noise on its part features with its own σ drawn uniformly from [0, `max_noise`] on
/// `rng_sigma` (training-time augmentation; clean and heavily noisy images both occur). The
/// images themselves — classes, poses, parts, labels — are those `rng` draws without noise,
/// since [`draw_image`] takes the same draws from `rng` whatever the noise; at `max_noise = 0`
/// the result is bit-identical to [`draw_images`] and `rng_sigma` is not touched.
pub fn draw_training_images(
    p: &WorldParams,
    count: usize,
    max_noise: f64,
    rng: &mut Rng,
    rng_sigma: &mut Rng,
) -> Vec<Image> {
    if max_noise <= 0.0 {
        return draw_images(p, count, rng);
    }
    (0..count)
        .map(|_| {
            let noisy = WorldParams {
                noise: max_noise * rng_sigma.uniform(),
                ..*p
            };
            draw_image(&noisy, rng)
        })
        .collect()
}

/// Fixed sinusoidal position code of every location: sin and cos of π·k·x and π·k·y for
/// k = 1, 2 — `grid² × POS` row-major.
pub const POS: usize = 8;

/// The position code of a `grid × grid` grid.
pub fn position_code(grid: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(grid * grid * POS);
    for c in 0..grid * grid {
        let x = ((c % grid) as f32 + 0.5) / grid as f32 * 2.0 - 1.0;
        let y = ((c / grid) as f32 + 0.5) / grid as f32 * 2.0 - 1.0;
        for k in [1.0f32, 2.0] {
            let pi = std::f32::consts::PI * k;
            out.extend([
                (pi * x).sin(),
                (pi * x).cos(),
                (pi * y).sin(),
                (pi * y).cos(),
            ]);
        }
    }
    out
}
