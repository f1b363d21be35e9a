//! Command-line options.

use std::time::Duration;

use crate::contender::{Contender, Load, Timing};

/// What to run.
#[derive(Debug, Clone)]
pub struct Args {
    /// The contenders, in the order each round runs them.
    pub contenders: Vec<Contender>,
    /// Rounds of every contender, per load.
    pub rounds: usize,
    /// Warm-up and measured time of each phase.
    pub timing: Timing,
    /// The concurrent load.
    pub concurrent: Load,
    /// Whether to run the concurrent rounds.
    pub run_concurrent: bool,
    /// Whether to run the serial (1 task, pool of 1) rounds.
    pub run_serial: bool,
    /// Whether to print the tail of each phase's latencies too.
    pub detail: bool,
}

const USAGE: &str = "\
usage: bench-vs-official [options]
  --only NAMES        comma-separated contenders, in round order
                      (ours, ours-client, raw, official, official-lean, official-session;
                      default: all)
  --rounds N          rounds of each contender per load (default 2)
  --warmup SECS       unmeasured seconds per phase (default 1)
  --measure SECS      measured seconds per phase (default 5)
  --tasks N           concurrent tasks (default 64)
  --pool-size N       pool size under concurrency (default 8)
  --no-serial         skip the serial rounds (1 task, pool of 1)
  --no-concurrent     skip the concurrent rounds
  --detail            also print p90, p99.9 and the maximum latency of each phase";

impl Args {
    /// Parses `std::env::args`, or returns the message to print and exit with.
    pub fn parse() -> Result<Args, String> {
        let mut args = Args {
            contenders: Contender::ALL.to_vec(),
            rounds: 2,
            timing: Timing {
                warmup: Duration::from_secs(1),
                measure: Duration::from_secs(5),
            },
            concurrent: Load {
                tasks: 64,
                pool_size: 8,
            },
            run_concurrent: true,
            run_serial: true,
            detail: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--only" => {
                    args.contenders = value()?
                        .split(',')
                        .map(|name| {
                            Contender::from_name(name)
                                .ok_or_else(|| format!("unknown contender {name:?}\n{USAGE}"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--rounds" => args.rounds = number(&flag, &value()?)?,
                "--warmup" => args.timing.warmup = seconds(&flag, &value()?)?,
                "--measure" => args.timing.measure = seconds(&flag, &value()?)?,
                "--tasks" => args.concurrent.tasks = number(&flag, &value()?)?,
                "--pool-size" => args.concurrent.pool_size = number(&flag, &value()?)?,
                "--no-serial" => args.run_serial = false,
                "--no-concurrent" => args.run_concurrent = false,
                "--detail" => args.detail = true,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown option {other:?}\n{USAGE}")),
            }
        }
        if args.timing.measure.is_zero() || args.rounds == 0 || args.concurrent.tasks == 0 {
            return Err(format!(
                "--measure, --rounds and --tasks must be positive\n{USAGE}"
            ));
        }
        Ok(args)
    }
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a number"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let secs: f64 = number(flag, value)?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{flag}: {value:?} is not a duration"))
}
