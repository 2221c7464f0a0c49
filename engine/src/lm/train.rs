//! Training pieces: AdamW with gradient-norm clipping, and the learning-rate schedule (linear
//! warm-up, then cosine decay to a floor), as in nanoGPT.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use serde::{Deserialize, Serialize};

/// Optimiser and schedule settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Peak learning rate.
    pub lr: f64,
    /// Floor the cosine decays to.
    pub min_lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// Step at which the decay reaches `min_lr` (and stays).
    pub decay_steps: u64,
    /// AdamW's decoupled weight decay (applied to every parameter; nanoGPT spares biases and
    /// norms, a difference too small to matter at these sizes).
    pub weight_decay: f64,
    /// AdamW's β₂.
    pub beta2: f64,
    /// Clip the global gradient norm to this (0 = off).
    pub grad_clip: f64,
}

impl TrainSettings {
    /// The learning rate at `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        if step >= self.decay_steps {
            return self.min_lr;
        }
        let span = (self.decay_steps - self.warmup).max(1) as f64;
        let ratio = (step - self.warmup) as f64 / span;
        let coeff = 0.5 * (1.0 + (std::f64::consts::PI * ratio).cos());
        self.min_lr + coeff * (self.lr - self.min_lr)
    }

    /// A fresh AdamW for these settings.
    pub fn optimizer(&self) -> ModuleOptimizer {
        let clip =
            (self.grad_clip > 0.0).then_some(GradientClippingConfig::Norm(self.grad_clip as f32));
        AdamWConfig::new()
            .with_beta_2(self.beta2 as f32)
            .with_weight_decay(self.weight_decay as f32)
            .with_grad_clipping(clip)
            .init()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_then_cosine_to_the_floor() {
        let s = TrainSettings {
            lr: 1e-3,
            min_lr: 1e-4,
            warmup: 10,
            decay_steps: 110,
            weight_decay: 0.1,
            beta2: 0.99,
            grad_clip: 1.0,
        };
        assert!((s.lr_at(0) - 1e-4).abs() < 1e-12);
        assert!((s.lr_at(9) - 1e-3).abs() < 1e-12);
        assert!((s.lr_at(60) - 5.5e-4).abs() < 1e-9);
        assert_eq!(s.lr_at(500), 1e-4);
        assert!(s.lr_at(20) > s.lr_at(30));
    }
}
