//! Round axis steps: 1, 2 or 5 times a power of ten, at most five steps to the top.

/// `(step, top)` for counts up to `max`: `top` is the first multiple of `step` at or above
/// `max`, and `top / step` is at most `MAX_STEPS`. Integer arithmetic, so no `0.30000000000000004`.
pub(crate) fn nice_scale(max: u64) -> (u64, u64) {
    const MAX_STEPS: u64 = 5;
    if max == 0 {
        return (1, 1);
    }
    let mut power: u64 = 1;
    loop {
        for m in [1, 2, 5] {
            let Some(step) = power.checked_mul(m) else {
                return (max, max);
            };
            let steps = max.div_ceil(step);
            if steps <= MAX_STEPS {
                // Only near u64::MAX can the top overflow: then one step to the top.
                return steps
                    .checked_mul(step)
                    .map_or((max, max), |top| (step, top));
            }
        }
        match power.checked_mul(10) {
            Some(p) => power = p,
            None => return (max, max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nice_scale;

    #[test]
    fn steps_are_round_and_few() {
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(1), (1, 1));
        assert_eq!(nice_scale(3), (1, 3));
        assert_eq!(nice_scale(7), (2, 8));
        assert_eq!(nice_scale(10), (2, 10));
        assert_eq!(nice_scale(100), (20, 100));
        assert_eq!(nice_scale(1_234), (500, 1_500));
        assert_eq!(nice_scale(48_000), (10_000, 50_000));
        assert_eq!(nice_scale(u64::MAX), (u64::MAX, u64::MAX));
        for max in 1..5_000 {
            let (step, top) = nice_scale(max);
            assert!(top >= max && top / step <= 5 && top % step == 0, "{max}");
        }
    }
}
