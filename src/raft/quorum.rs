//! Quorum arithmetic, kept apart so that the rules read in one place.
//!
//! Pure functions over numbers: no node state, no peers, no time source.

/// Votes (or acknowledgements) a cluster of `size` nodes needs: a strict
/// majority.
pub fn majority(size: usize) -> usize {
    size / 2 + 1
}

/// The largest value that at least a majority of `values` reach: the commit
/// index from match indexes (§5.3, §5.4.2), or the freshest acknowledgement
/// time a majority shares (leases, ReadIndex, CheckQuorum).
pub fn quorum_value<T: Ord + Copy>(values: &mut [T]) -> T {
    values.sort_unstable_by(|a, b| b.cmp(a));
    values[majority(values.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majorities() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
        assert_eq!(majority(21), 11);
    }

    #[test]
    fn quorum_value_is_the_majority_th_largest() {
        assert_eq!(quorum_value(&mut [5, 1, 3]), 3);
        assert_eq!(quorum_value(&mut [9, 9, 2, 2, 2]), 2);
        assert_eq!(quorum_value(&mut [9, 9, 9, 2, 2]), 9);
        assert_eq!(quorum_value(&mut [4, 7, 7, 1]), 4);
    }
}
