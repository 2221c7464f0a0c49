//! Sampling a continuation from next-token logits at a temperature.

use crate::rng::Rng;

/// Draws an id from `logits` softened by `temperature` (≤ 1e-3: the argmax).
pub fn sample_logits(logits: &[f32], temperature: f64, rng: &mut Rng) -> u32 {
    if temperature <= 1e-3 {
        return crate::nn::argmax(logits) as u32;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w: Vec<f64> = logits
        .iter()
        .map(|&l| (((l - max) as f64) / temperature).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut r = rng.uniform() * total;
    for (i, &x) in w.iter().enumerate() {
        if r < x {
            return i as u32;
        }
        r -= x;
    }
    (w.len().saturating_sub(1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_is_argmax_and_hot_spreads() {
        let l = [0.0, 3.0, 1.0];
        assert_eq!(sample_logits(&l, 0.0, &mut Rng::new(1)), 1);
        let mut rng = Rng::new(2);
        let mut seen = [0; 3];
        for _ in 0..300 {
            seen[sample_logits(&l, 10.0, &mut rng) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 50), "{seen:?}");
    }
}
