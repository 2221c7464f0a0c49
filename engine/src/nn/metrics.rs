//! Host-side metrics on values read back from tensors: the predicted class and ROC AUC.

/// Index of the largest value, the *first* one on ties (and 0 for an empty slice).
///
/// Every lab's accuracy goes through this, so that a tie (say, an untrained net whose scores are
/// all equal) is broken the same way everywhere. A NaN never wins: comparisons with it are false.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// [`argmax`] of each row of a row-major `[rows, width]` buffer (a trailing partial row counts as
/// a row). `width` must be positive.
pub fn argmax_rows(values: &[f32], width: usize) -> impl Iterator<Item = usize> + '_ {
    values.chunks(width.max(1)).map(argmax)
}

/// ROC AUC of scores against binary labels (ties count half); NaN without both classes.
///
/// Computed as the Mann-Whitney statistic over average ranks, so it is exact and O(n log n).
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks over ties, then the Mann-Whitney statistic.
    let mut ranks = vec![0.0f64; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    let n_pos = labels.iter().filter(|&&l| l).count() as f64;
    let n_neg = labels.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    let sum_pos: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    (sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[0.0; 4]), 0);
        assert_eq!(argmax(&[]), 0);
        assert_eq!(argmax(&[-1.0, f32::NAN, -0.5]), 2);
        let rows: Vec<usize> = argmax_rows(&[0.0, 1.0, 3.0, 2.0, 5.0, 5.0], 2).collect();
        assert_eq!(rows, vec![1, 0, 0]);
    }

    #[test]
    fn auc_basics() {
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, true]), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.1], &[false, true]), 0.0);
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), 0.5);
        assert!(roc_auc(&[0.5], &[true]).is_nan());
        // 0.9 beats both negatives; 0.4 beats 0.1 and ties the other 0.4: 3.5 of 4 pairs.
        let auc = roc_auc(&[0.9, 0.4, 0.1, 0.4], &[true, true, false, false]);
        assert!((auc - 0.875).abs() < 1e-12, "{auc}");
    }
}
