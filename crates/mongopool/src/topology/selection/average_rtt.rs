//! The average round trip time: an exponentially weighted moving average.

use std::time::Duration;

/// The weight of a new sample (the spec's alpha).
const ALPHA: f64 = 0.2;

/// The new average after `sample`: the sample itself when there was no average (the
/// server was Unknown), else `0.2 * sample + 0.8 * previous`.
pub fn average_round_trip_time(previous: Option<Duration>, sample: Duration) -> Duration {
    match previous {
        None => sample,
        Some(old) => Duration::from_secs_f64(
            ALPHA * sample.as_secs_f64() + (1.0 - ALPHA) * old.as_secs_f64(),
        ),
    }
}
