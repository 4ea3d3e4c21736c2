//! The pause after an accept ran out of resources.

use core::time::Duration;

/// The pause after accepting ran out of resources: 10 ms, doubling with each failure in a
/// row, at most 1 s; [`reset`](Backoff::reset) by the next success.
///
/// ```
/// use core::time::Duration;
/// let mut backoff = lameduck::accept::Backoff::default();
/// assert_eq!(backoff.next(), Duration::from_millis(10));
/// assert_eq!(backoff.next(), Duration::from_millis(20));
/// backoff.reset();
/// assert_eq!(backoff.next(), Duration::from_millis(10));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The first pause.
    ///
    /// ```
    /// assert_eq!(lameduck::accept::Backoff::FIRST.as_millis(), 10);
    /// ```
    pub const FIRST: Duration = Duration::from_millis(10);
    /// The longest pause.
    ///
    /// ```
    /// assert_eq!(lameduck::accept::Backoff::MAX.as_millis(), 1000);
    /// ```
    pub const MAX: Duration = Duration::from_secs(1);

    /// The pause after one more failure in a row: twice the last one, at most [`MAX`](Self::MAX).
    ///
    /// Not an [`Iterator`]: it never ends, and `reset` starts it over.
    ///
    /// ```
    /// let mut backoff = lameduck::accept::Backoff::default();
    /// let pauses: Vec<_> = (0..9).map(|_| backoff.next().as_millis()).collect();
    /// assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Duration {
        let pause = Backoff::FIRST
            .saturating_mul(1 << self.failures.min(10))
            .min(Backoff::MAX);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    /// Starts over after a success: the next pause is [`FIRST`](Self::FIRST) again.
    ///
    /// ```
    /// let mut backoff = lameduck::accept::Backoff::default();
    /// backoff.next();
    /// backoff.reset();
    /// assert_eq!(backoff.next(), lameduck::accept::Backoff::FIRST);
    /// ```
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use core::time::Duration;
    use std::vec::Vec;

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<_> = (0..9).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(10));
    }

    #[test]
    fn backoff_never_overflows() {
        let mut backoff = Backoff::default();
        for _ in 0..100 {
            assert!(backoff.next() <= Backoff::MAX);
        }
    }
}
