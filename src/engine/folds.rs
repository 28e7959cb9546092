//! Seeded, stratified fold assignment shared by training-time calibration and `eval --folds`.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Assigns each of `labels` (true = spam) to one of `k` folds so that every fold gets the same
/// share of each class (±1). The shuffle uses ChaCha8 seeded with `seed`, so assignments are the
/// same on every machine and run.
pub fn stratified_folds(is_spam: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut fold = vec![0; is_spam.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut offset = 0;
    for class in [false, true] {
        let mut members: Vec<usize> = (0..is_spam.len())
            .filter(|&i| is_spam[i] == class)
            .collect();
        members.shuffle(&mut rng);
        for (position, &i) in members.iter().enumerate() {
            fold[i] = (position + offset) % k.max(1);
        }
        // Continue the round-robin where the previous class stopped, so fold sizes stay balanced.
        offset = (offset + members.len()) % k.max(1);
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_balanced_and_reproducible() {
        let labels: Vec<bool> = (0..103).map(|i| i % 4 == 0).collect();
        let a = stratified_folds(&labels, 10, 7);
        assert_eq!(a, stratified_folds(&labels, 10, 7));
        assert_ne!(a, stratified_folds(&labels, 10, 8));
        for f in 0..10 {
            let size = a.iter().filter(|&&x| x == f).count();
            let spam = (0..103).filter(|&i| a[i] == f && labels[i]).count();
            assert!((10..=11).contains(&size), "fold {f} has {size}");
            assert!((2..=3).contains(&spam), "fold {f} has {spam} spam");
        }
    }
}
