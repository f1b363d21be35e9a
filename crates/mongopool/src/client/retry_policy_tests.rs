use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::error::{ErrorKind, OperationFailure};

fn overload(labels: &[&str]) -> Error {
    Error::new(ErrorKind::OperationFailure(OperationFailure {
        code: 462,
        code_name: Some("IngressRequestRateLimitExceeded".into()),
        message: "rate exceeded".into(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        reply: Default::default(),
    }))
}

fn retryable_overload() -> Error {
    overload(&["SystemOverloadedError", "RetryableError"])
}

fn a() -> ServerAddress {
    ServerAddress::tcp("a", 1)
}

fn b() -> ServerAddress {
    ServerAddress::tcp("b", 2)
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

fn delay_of(d: &RetryDecision) -> Duration {
    match d {
        RetryDecision::Retry { delay, .. } => *delay,
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn a_run_command_is_retried_twice_after_overload_then_given_up() {
    let options = OverloadRetryOptions::default();
    let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
    let mut rng = rng();
    let e = retryable_overload();
    let first = state.on_error(&e, Some(&a()), false, &mut rng);
    assert!(matches!(
        first,
        RetryDecision::Retry {
            attempt: 1,
            overload: true,
            ..
        }
    ));
    let second = state.on_error(&e, Some(&a()), false, &mut rng);
    assert!(matches!(second, RetryDecision::Retry { attempt: 2, .. }));
    assert_eq!(
        state.on_error(&e, Some(&a()), false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::RetriesExhausted)
    );
    assert_eq!(state.retries(), 3);
}

#[test]
fn max_adaptive_retries_bounds_the_retries_and_zero_turns_them_off() {
    let mut options = OverloadRetryOptions {
        max_adaptive_retries: 4,
        ..Default::default()
    };
    let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
    let mut rng = rng();
    for attempt in 1..=4 {
        let d = state.on_error(&retryable_overload(), None, false, &mut rng);
        assert!(matches!(d, RetryDecision::Retry { attempt: n, .. } if n == attempt));
    }
    assert!(matches!(
        state.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::RetriesExhausted)
    ));
    options.max_adaptive_retries = 0;
    let mut off = RetryState::new(&options, None, OperationKind::RunCommand);
    assert_eq!(
        off.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::RetriesExhausted)
    );
}

#[test]
fn only_errors_with_both_labels_are_retried() {
    let options = OverloadRetryOptions::default();
    let mut rng = rng();
    for e in [
        overload(&["SystemOverloadedError"]),
        overload(&["RetryableError"]),
        overload(&[]),
        Error::connection("reset"),
    ] {
        let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
        assert_eq!(
            state.on_error(&e, Some(&a()), false, &mut rng),
            RetryDecision::GiveUp(GiveUpReason::NotRetryable),
            "{e}"
        );
    }
}

#[test]
fn a_run_command_needs_both_retry_reads_and_retry_writes() {
    let mut rng = rng();
    for (reads, writes, retried) in [
        (true, true, true),
        (false, true, false),
        (true, false, false),
    ] {
        let mut options = OverloadRetryOptions {
            retry_reads: reads,
            ..Default::default()
        };
        options.retry_writes = writes;
        let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
        let d = state.on_error(&retryable_overload(), None, false, &mut rng);
        assert_eq!(
            matches!(d, RetryDecision::Retry { .. }),
            retried,
            "{reads} {writes}"
        );
        // A read needs only retryReads, a write only retryWrites.
        let mut read = RetryState::new(&options, None, OperationKind::Read);
        let d = read.on_error(&retryable_overload(), None, false, &mut rng);
        assert_eq!(matches!(d, RetryDecision::Retry { .. }), reads);
        let mut write = RetryState::new(&options, None, OperationKind::Write);
        let d = write.on_error(&retryable_overload(), None, false, &mut rng);
        assert_eq!(matches!(d, RetryDecision::Retry { .. }), writes);
    }
}

#[test]
fn the_backoff_is_jitter_times_base_doubled_per_attempt_capped_at_ten_seconds() {
    assert_eq!(backoff(BASE_BACKOFF, 1, 1.0), Duration::from_millis(200));
    assert_eq!(backoff(BASE_BACKOFF, 2, 1.0), Duration::from_millis(400));
    assert_eq!(backoff(BASE_BACKOFF, 2, 0.5), Duration::from_millis(200));
    assert_eq!(backoff(BASE_BACKOFF, 1, 0.0), Duration::ZERO);
    assert_eq!(backoff(BASE_BACKOFF, 7, 1.0), MAX_BACKOFF);
    assert_eq!(backoff(BASE_BACKOFF, 200, 1.0), MAX_BACKOFF);
    assert_eq!(backoff(BASE_BACKOFF, 1, f64::NAN), Duration::ZERO);
}

#[test]
fn the_delays_are_drawn_with_the_given_rng_and_stay_under_the_bound() {
    let options = OverloadRetryOptions {
        max_adaptive_retries: 8,
        ..Default::default()
    };
    let run = |seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
        (0..8)
            .map(|_| delay_of(&state.on_error(&retryable_overload(), None, false, &mut rng)))
            .collect::<Vec<_>>()
    };
    let delays = run(1);
    assert_eq!(delays, run(1), "same seed, same delays");
    assert_ne!(delays, run(2), "the jitter comes from the rng");
    for (i, d) in delays.iter().enumerate() {
        let bound = (BASE_BACKOFF * 2_u32.pow(i as u32 + 1)).min(MAX_BACKOFF);
        assert!(*d < bound, "retry {}: {d:?} >= {bound:?}", i + 1);
    }
}

#[test]
fn the_servers_base_backoff_replaces_the_default() {
    let mut reply = bson::RawDocumentBuf::new();
    reply.append(bson::raw::cstr!("baseBackoffMS"), 1000_i32);
    let e = Error::new(ErrorKind::OperationFailure(OperationFailure {
        code: 462,
        code_name: None,
        message: "rate exceeded".into(),
        labels: vec!["SystemOverloadedError".into(), "RetryableError".into()],
        reply,
    }));
    let options = OverloadRetryOptions::default();
    let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
    let delay = delay_of(&state.on_error(&e, None, false, &mut rng()));
    // jitter * 1000 ms * 2: far above the default's 200 ms bound for most draws; the
    // seed is fixed, so the draw is too.
    let jitter = rand::Rng::random::<f64>(&mut rng());
    assert_eq!(delay, Duration::from_millis(2000).mul_f64(jitter));
}

#[test]
fn retargeting_deprioritizes_the_failed_server_only_when_enabled_or_sharded() {
    let mut rng = rng();
    let mut options = OverloadRetryOptions::default();
    let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
    state.on_error(&retryable_overload(), Some(&a()), false, &mut rng);
    assert!(state.deprioritized().is_empty(), "off by default");
    state.on_error(&retryable_overload(), Some(&b()), true, &mut rng);
    assert_eq!(
        state.deprioritized(),
        [b()],
        "a sharded cluster always retargets"
    );

    options.enable_overload_retargeting = true;
    let mut state = RetryState::new(&options, None, OperationKind::RunCommand);
    state.on_error(&retryable_overload(), Some(&a()), false, &mut rng);
    state.on_error(&retryable_overload(), Some(&b()), false, &mut rng);
    assert_eq!(state.deprioritized(), [a(), b()]);
}

#[test]
fn other_policies_retry_once_without_backoff_until_an_overload_raises_the_bound() {
    let options = OverloadRetryOptions::default();
    let mut rng = rng();
    let network = Error::connection("reset");
    // A read retried for a network error: once, at once.
    let mut read = RetryState::new(&options, None, OperationKind::Read);
    assert_eq!(
        read.on_error(&network, None, false, &mut rng),
        RetryDecision::Retry {
            attempt: 1,
            delay: Duration::ZERO,
            overload: false
        }
    );
    assert_eq!(
        read.on_error(&network, None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::RetriesExhausted)
    );
    // Network error, then overload: the overload bound (2) covers both retries.
    let mut read = RetryState::new(&options, None, OperationKind::Read);
    assert!(matches!(
        read.on_error(&network, None, false, &mut rng),
        RetryDecision::Retry {
            overload: false,
            ..
        }
    ));
    assert!(matches!(
        read.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::Retry {
            attempt: 2,
            overload: true,
            ..
        }
    ));
    assert!(matches!(
        read.on_error(&network, None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::RetriesExhausted)
    ));
    // A write retries a RetryableWriteError; a runCommand does not retry a network error.
    let mut write = RetryState::new(&options, None, OperationKind::Write);
    let labelled = overload(&["RetryableWriteError"]);
    assert!(matches!(
        write.on_error(&labelled, None, false, &mut rng),
        RetryDecision::Retry {
            overload: false,
            ..
        }
    ));
    let mut command = RetryState::new(&options, None, OperationKind::RunCommand);
    assert_eq!(
        command.on_error(&network, None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::NotRetryable)
    );
}

#[test]
fn an_empty_budget_stops_overload_retries() {
    let options = OverloadRetryOptions::default();
    let budget = RetryBudget::new(1);
    let mut rng = rng();
    let mut first = RetryState::new(&options, Some(&budget), OperationKind::RunCommand);
    assert!(matches!(
        first.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::Retry { .. }
    ));
    let mut second = RetryState::new(&options, Some(&budget), OperationKind::RunCommand);
    assert_eq!(
        second.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::GiveUp(GiveUpReason::BudgetExhausted)
    );
    // The first operation's retry succeeds: its token comes back.
    first.on_success();
    let mut third = RetryState::new(&options, Some(&budget), OperationKind::RunCommand);
    assert!(matches!(
        third.on_error(&retryable_overload(), None, false, &mut rng),
        RetryDecision::Retry { .. }
    ));
}
