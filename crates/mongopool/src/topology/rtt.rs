//! A server's round trip time as its monitor measures it: the spec's weighted average
//! (alpha 0.2) and the minimum over the last ten samples.

use std::collections::VecDeque;
use std::time::Duration;

use super::selection::average_round_trip_time;

/// How many recent samples the minimum is taken over (the spec's window).
pub const RTT_WINDOW: usize = 10;

/// The samples of one server. Reset when a check fails (the server became Unknown).
#[derive(Debug, Clone, Default)]
pub struct RttTracker {
    average: Option<Duration>,
    recent: VecDeque<Duration>,
}

impl RttTracker {
    /// No samples yet.
    pub fn new() -> Self {
        RttTracker::default()
    }

    /// Adds one measured round trip.
    pub fn add_sample(&mut self, sample: Duration) {
        self.average = Some(average_round_trip_time(self.average, sample));
        if self.recent.len() == RTT_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(sample);
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        *self = RttTracker::default();
    }

    /// The weighted average, `None` before the first sample.
    pub fn average(&self) -> Option<Duration> {
        self.average
    }

    /// The smallest of the last [`RTT_WINDOW`] samples; zero until there are two
    /// samples, as the spec says (one sample is often a slow first connect).
    pub fn min(&self) -> Duration {
        if self.recent.len() < 2 {
            return Duration::ZERO;
        }
        self.recent.iter().copied().min().unwrap_or(Duration::ZERO)
    }

    /// How many samples the window holds.
    pub fn samples(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_average_weighs_new_samples_by_a_fifth() {
        let mut rtt = RttTracker::new();
        assert_eq!(rtt.average(), None);
        rtt.add_sample(ms(100));
        assert_eq!(rtt.average(), Some(ms(100)));
        rtt.add_sample(ms(200));
        // 0.2 * 200 + 0.8 * 100
        assert_eq!(rtt.average().unwrap().as_millis(), 120);
    }

    #[test]
    fn the_minimum_needs_two_samples_and_forgets_old_ones() {
        let mut rtt = RttTracker::new();
        rtt.add_sample(ms(5));
        assert_eq!(rtt.min(), Duration::ZERO);
        rtt.add_sample(ms(7));
        assert_eq!(rtt.min(), ms(5));
        // Ten larger samples push the 5 ms one out of the window.
        for i in 0..RTT_WINDOW as u64 {
            rtt.add_sample(ms(10 + i));
        }
        assert_eq!(rtt.samples(), RTT_WINDOW);
        assert_eq!(rtt.min(), ms(10));
        rtt.reset();
        assert_eq!((rtt.average(), rtt.min()), (None, Duration::ZERO));
    }
}
