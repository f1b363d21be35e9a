//! Rules the spec files do not cover: actions (ready, clear with interrupt, checks),
//! the backpressure label, pre-4.2 step-downs, and the selection failure message.

use std::time::Duration;

use bson::rawdoc;

use super::selection::{select_server, selection_error};
use super::*;
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, OperationFailure};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};

fn a() -> ServerAddress {
    ServerAddress::tcp("a", 27017)
}

fn b() -> ServerAddress {
    ServerAddress::tcp("b", 27017)
}

/// A replica set `rs` whose primary `a` was just checked (and `b` is Unknown).
fn with_primary() -> TopologyDescription {
    let settings = TopologySettings {
        seeds: vec![a()],
        replica_set: Some("rs".into()),
        ..TopologySettings::default()
    };
    let (td, _) = TopologyDescription::new(&settings);
    let hello = rawdoc! {
        "ok": 1, "isWritablePrimary": true, "setName": "rs", "hosts": ["a:27017", "b:27017"],
        "minWireVersion": 0, "maxWireVersion": 21
    };
    let (td, actions) = td.apply(ServerDescription::from_hello(
        a(),
        &hello,
        Duration::from_millis(2),
        1,
    ));
    assert_eq!(td.topology_type(), TopologyType::ReplicaSetWithPrimary);
    assert_eq!(
        actions,
        [
            TopologyAction::AddServer(b()),
            TopologyAction::ReadyPool(a())
        ]
    );
    td
}

fn app_error(error: Error, phase: ErrorPhase, max_wire_version: i32) -> ApplicationError {
    ApplicationError::from_error(&error, a(), 0, max_wire_version, phase, None)
}

fn command_error(code: i32, labels: &[&str]) -> Error {
    Error::new(ErrorKind::NotPrimary(OperationFailure {
        code,
        code_name: None,
        message: "state change".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        reply: rawdoc! {"ok": 0, "code": code},
    }))
}

/// An authentication-time command error the server labelled as overload.
fn overloaded(message: &str) -> Error {
    Error::new(ErrorKind::OperationFailure(OperationFailure {
        code: 0,
        code_name: None,
        message: message.into(),
        labels: vec![SYSTEM_OVERLOADED_LABEL.into()],
        reply: rawdoc! {},
    }))
}

#[test]
fn failed_check_clears_with_interrupt_only_on_timeout() {
    let td = with_primary();
    for (error, interrupt) in [
        (Error::timeout("check timed out"), true),
        (Error::connection("check reset"), false),
    ] {
        let (next, actions) = td.apply(ServerDescription::from_error(a(), error, None));
        assert_eq!(next.topology_type(), TopologyType::ReplicaSetNoPrimary);
        assert_eq!(
            actions,
            [TopologyAction::ClearPool {
                address: a(),
                interrupt_in_use: interrupt,
                service_id: None
            }]
        );
    }
}

#[test]
fn network_error_before_handshake_marks_unknown_unless_overloaded() {
    let td = with_primary();
    let plain = app_error(Error::connection("reset"), ErrorPhase::BeforeHandshake, 21);
    let (next, actions) = td.apply_application_error(&plain, 0);
    assert_eq!(next.server(&a()).unwrap().server_type, ServerType::Unknown);
    assert!(actions.contains(&TopologyAction::ClearPool {
        address: a(),
        interrupt_in_use: false,
        service_id: None
    }));
    assert!(actions.contains(&TopologyAction::CancelMonitorCheck(a())));

    // The pool labels establishment errors under overload; such errors are no news
    // about the server.
    let mut labelled = plain.clone();
    labelled.labels.push(SYSTEM_OVERLOADED_LABEL.into());
    let (next, actions) = td.apply_application_error(&labelled, 0);
    assert_eq!(
        next.server(&a()).unwrap().server_type,
        ServerType::RsPrimary
    );
    assert!(actions.is_empty());
}

#[test]
fn overloaded_command_error_changes_nothing() {
    let td = with_primary();
    let e = app_error(overloaded("busy"), ErrorPhase::Authentication, 21);
    assert_eq!(e.labels, [SYSTEM_OVERLOADED_LABEL]);
    let (next, actions) = td.apply_application_error(&e, 0);
    assert_eq!(
        next.server(&a()).unwrap().server_type,
        ServerType::RsPrimary
    );
    assert!(actions.is_empty());
    let labelled = app_error(
        command_error(10107, &[SYSTEM_OVERLOADED_LABEL]),
        ErrorPhase::AfterHandshake,
        21,
    );
    let (next, actions) = td.apply_application_error(&labelled, 0);
    assert_eq!(
        next.server(&a()).unwrap().server_type,
        ServerType::RsPrimary
    );
    assert!(actions.is_empty());
}

#[test]
fn step_down_clears_the_pool_only_before_4_2_or_on_shutdown() {
    let td = with_primary();
    let clear = TopologyAction::ClearPool {
        address: a(),
        interrupt_in_use: false,
        service_id: None,
    };
    for (code, wire, clears) in [
        (10107, 8, false),
        (10107, 7, true),
        (91, 21, true),
        (189, 21, false),
    ] {
        let e = app_error(command_error(code, &[]), ErrorPhase::AfterHandshake, wire);
        let (next, actions) = td.apply_application_error(&e, 0);
        assert_eq!(next.server(&a()).unwrap().server_type, ServerType::Unknown);
        assert_eq!(actions.contains(&clear), clears, "code {code} wire {wire}");
        assert!(actions.contains(&TopologyAction::RequestImmediateCheck(a())));
    }
}

#[test]
fn load_balanced_starts_ready_and_ignores_checks() {
    let settings = TopologySettings {
        seeds: vec![a()],
        load_balanced: true,
        ..TopologySettings::default()
    };
    let (td, actions) = TopologyDescription::new(&settings);
    assert_eq!(
        actions,
        [
            TopologyAction::AddServer(a()),
            TopologyAction::ReadyPool(a())
        ]
    );
    let (next, actions) = td.apply(ServerDescription::from_error(
        a(),
        Error::timeout("t"),
        None,
    ));
    assert_eq!(
        next.server(&a()).unwrap().server_type,
        ServerType::LoadBalancer
    );
    assert!(actions.is_empty());
}

#[test]
fn selection_failure_names_every_server() {
    let td = with_primary();
    let (td, _) = td.apply(ServerDescription::from_error(
        b(),
        Error::connection("refused-b"),
        None,
    ));
    let secondary =
        SelectionCriteria::Read(ReadPreference::with_mode(ReadPreferenceMode::Secondary));
    let mut rng = rand::rng();
    let none = select_server(
        &td,
        &secondary,
        Duration::from_millis(15),
        &[],
        |_| 0,
        &mut rng,
    );
    assert!(none.unwrap().is_none());
    let e = selection_error(&td, &secondary, Duration::from_millis(30));
    assert!(e.is_server_selection());
    let m = e.to_string();
    for part in [
        "secondary",
        "a:27017 (RSPrimary, rtt 2.0 ms)",
        "b:27017 (Unknown, error: ",
        "refused-b",
        "after 30 ms",
    ] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
    let primary = select_server(
        &td,
        &SelectionCriteria::Write,
        Duration::from_millis(15),
        &[],
        |_| 0,
        &mut rng,
    );
    assert_eq!(primary.unwrap().unwrap().address, a());
}

/// Before 6.0 (wire version < 17) setVersion decides before electionId; from 6.0 on,
/// electionId decides first. The vendored files cannot tell the two orders apart.
#[test]
fn set_version_orders_first_before_6_0_and_election_id_after() {
    let settings = TopologySettings {
        seeds: vec![a(), b()],
        replica_set: Some("rs".into()),
        ..TopologySettings::default()
    };
    let oid = |n: u8| bson::oid::ObjectId::from_bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n]);
    let primary = |set_version: i32, election: u8, wire: i32| {
        rawdoc! {
            "ok": 1, "isWritablePrimary": true, "setName": "rs", "hosts": ["a:27017", "b:27017"],
            "setVersion": set_version, "electionId": oid(election), "maxWireVersion": wire
        }
    };
    for (wire, b_wins) in [(7, false), (17, true)] {
        let (td, _) = TopologyDescription::new(&settings);
        let (td, _) = td.apply(ServerDescription::from_hello(
            a(),
            &primary(2, 1, wire),
            Duration::ZERO,
            1,
        ));
        // b claims a newer election but an older config.
        let (td, _) = td.apply(ServerDescription::from_hello(
            b(),
            &primary(1, 2, wire),
            Duration::ZERO,
            2,
        ));
        let b_type = td.server(&b()).unwrap().server_type;
        let a_type = td.server(&a()).unwrap().server_type;
        match b_wins {
            true => {
                assert_eq!(
                    (a_type, b_type),
                    (ServerType::Unknown, ServerType::RsPrimary)
                );
                assert_eq!(
                    (td.max_set_version(), td.max_election_id()),
                    (Some(1), Some(oid(2)))
                );
            }
            false => {
                assert_eq!(
                    (a_type, b_type),
                    (ServerType::RsPrimary, ServerType::Unknown),
                    "wire {wire}"
                );
                let why = td.server(&b()).unwrap().error.as_ref().unwrap().to_string();
                assert!(
                    why.contains("primary marked stale due to electionId/setVersion mismatch"),
                    "{why}"
                );
                assert_eq!(
                    (td.max_set_version(), td.max_election_id()),
                    (Some(2), Some(oid(1)))
                );
            }
        }
    }
}

/// Two routers `a` and `b`, checked with round trip times `rtt_a` and `rtt_b`.
fn two_mongos(rtt_a: u64, rtt_b: u64) -> TopologyDescription {
    let settings = TopologySettings {
        seeds: vec![a(), b()],
        ..TopologySettings::default()
    };
    let (mut td, _) = TopologyDescription::new(&settings);
    let hello = rawdoc! {
        "ok": 1, "isWritablePrimary": true, "msg": "isdbgrid",
        "minWireVersion": 0, "maxWireVersion": 21
    };
    for (address, rtt) in [(a(), rtt_a), (b(), rtt_b)] {
        let rtt = Duration::from_millis(rtt);
        td = td
            .apply(ServerDescription::from_hello(address, &hello, rtt, 1))
            .0;
    }
    assert_eq!(td.topology_type(), TopologyType::Sharded);
    td
}

#[test]
fn the_primary_shortcut_is_taken_only_when_no_draw_decides() {
    let window = Duration::from_millis(15);
    let index_of = |td: &TopologyDescription, address: ServerAddress| {
        td.servers().position(|s| s.address == address)
    };
    let td = with_primary();
    assert_eq!(unique_primary_choice(&td, window), index_of(&td, a()));
    // Two routers in the window: the draw decides, there is no shortcut.
    assert_eq!(unique_primary_choice(&two_mongos(2, 3), window), None);
    // One of them outside it: the other is the only choice.
    let td = two_mongos(2, 100);
    assert_eq!(unique_primary_choice(&td, window), index_of(&td, a()));
    // Nothing suits before any check.
    let (unknown, _) = TopologyDescription::new(&TopologySettings {
        seeds: vec![a()],
        replica_set: Some("rs".into()),
        ..TopologySettings::default()
    });
    assert_eq!(unique_primary_choice(&unknown, window), None);
}
