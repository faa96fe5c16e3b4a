//! How the bench takes its samples: medians, each with its sample count, and calls measured in
//! turn so that a ratio between two of them compares the same moments of a shared machine.

use std::time::Instant;

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub median: f64,
    pub samples: usize,
}

/// Warm-up calls before the timed ones: a tenth of the samples, at least 3.
fn warm_up(samples: usize) -> usize {
    (samples / 10).max(3)
}

fn time_us(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e6
}

/// `samples` timed calls of `f` in a row, after a warm-up.
pub fn measure(samples: usize, mut f: impl FnMut()) -> Figure {
    for _ in 0..warm_up(samples) {
        f();
    }
    median_of((0..samples).map(|_| time_us(&mut f)).collect())
}

/// `samples` timed calls of each of `fs`, taken in turn after a warm-up of all of them: the
/// speed of a shared machine moves by tens of percent within seconds (the floor alone measured
/// 5.8 to 15.3 us in runs minutes apart), and figures taken in turn see the same moments, so
/// their ratios hold while it moves.
///
/// Each timed call comes right after an untimed call of its own kind (a, a, b, b, ...): extism
/// clears what a call left in its kernel memory at the start of the next call, so a call pays
/// for its predecessor. Timed after its own kind, a call pays for one call like itself, as in a
/// run of it; timed after another kind, `noop` would pay for clearing up describe's 10 KB (it
/// measured 18 us after describe, 13 after authorize_url). The raw samples, in microseconds,
/// in the order of `fs`.
pub fn measure_in_turn<const N: usize>(samples: usize, mut fs: [&mut dyn FnMut(); N]) -> [Vec<f64>; N] {
    for _ in 0..warm_up(samples) {
        for f in fs.iter_mut() {
            f();
        }
    }
    let mut taken: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(samples));
    for _ in 0..samples {
        for (f, v) in fs.iter_mut().zip(taken.iter_mut()) {
            f();
            v.push(time_us(*f));
        }
    }
    taken
}

/// The median of samples (at least one).
pub fn median_of(mut v: Vec<f64>) -> Figure {
    assert!(!v.is_empty(), "a figure needs at least one sample");
    v.sort_by(|a, b| a.total_cmp(b));
    Figure { median: v[v.len() / 2], samples: v.len() }
}

/// A figure as the report holds it.
pub fn fig(f: Figure) -> Value {
    json!({"median_us": (f.median * 10.0).round() / 10.0, "samples": f.samples})
}

/// `a / b` rounded to two places, as the report holds ratios.
pub fn ratio(a: f64, b: f64) -> f64 {
    (a / b * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_taken_in_turn_and_counted() {
        let order = std::cell::RefCell::new(Vec::new());
        let [a, b] = measure_in_turn(5, [&mut || order.borrow_mut().push('a'), &mut || order.borrow_mut().push('b')]);
        assert_eq!((a.len(), b.len()), (5, 5));
        // 3 warm-up rounds, then 5 timed ones, each call after one of its own kind.
        assert_eq!(order.into_inner().iter().collect::<String>(), "ab".repeat(3) + &"aabb".repeat(5));
    }

    #[test]
    fn median_is_the_middle_sample() {
        let f = median_of(vec![9.0, 1.0, 5.0, 3.0, 7.0]);
        assert_eq!((f.median, f.samples), (5.0, 5));
        assert_eq!(ratio(10.0, 3.0), 3.33);
    }
}
