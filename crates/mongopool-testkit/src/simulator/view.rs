//! The scripted deployment: who is in the set, in which role, and what each node says
//! in its hello. Pure: no sockets, no clock reads (the time is passed in).

use std::time::Duration;

use bson::oid::ObjectId;
use bson::{doc, Bson, DateTime, Document, Timestamp};

/// What a front node claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The replica set's primary: writable.
    Primary,
    /// A secondary: refuses writes (10107), serves reads that allow secondaries.
    Secondary,
    /// An arbiter: votes, holds no data, refuses reads and writes.
    Arbiter,
    /// A member in a state other than primary, secondary or arbiter (RECOVERING,
    /// STARTUP2): SDAM sees RSOther; refuses reads and writes.
    Recovering,
    /// A mongos router (`msg: "isdbgrid"`): forwards everything.
    Mongos,
}

/// One member as a test declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSpec {
    pub(crate) role: Role,
    pub(crate) hidden: bool,
    pub(crate) passive: bool,
    pub(crate) tags: Document,
    pub(crate) lag: Duration,
}

impl MemberSpec {
    fn with_role(role: Role) -> Self {
        MemberSpec {
            role,
            hidden: false,
            passive: false,
            tags: Document::new(),
            lag: Duration::ZERO,
        }
    }

    /// The primary.
    pub fn primary() -> Self {
        MemberSpec::with_role(Role::Primary)
    }

    /// A secondary.
    pub fn secondary() -> Self {
        MemberSpec::with_role(Role::Secondary)
    }

    /// An arbiter.
    pub fn arbiter() -> Self {
        MemberSpec::with_role(Role::Arbiter)
    }

    /// A member in RECOVERING (RSOther).
    pub fn recovering() -> Self {
        MemberSpec::with_role(Role::Recovering)
    }

    /// A hidden member: `hidden: true`, left out of every member's `hosts` (SDAM
    /// sees RSOther).
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// A passive member (priority 0): listed in `passives` instead of `hosts`, and
    /// says `passive: true`.
    pub fn passive(mut self) -> Self {
        self.passive = true;
        self
    }

    /// Adds the tag `key: value`.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key, value);
        self
    }

    /// How far its last write lags behind the primary's (for maxStalenessSeconds).
    /// Defaults to zero.
    pub fn lag(mut self, lag: Duration) -> Self {
        self.lag = lag;
        self
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }
}

/// A member of the deployment, as the simulator tracks it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// `127.0.0.1:PORT`: its `me` and its entry in `hosts`.
    pub(crate) host: String,
    pub(crate) spec: MemberSpec,
    /// False once removed from the set's configuration (it then answers as a ghost).
    pub(crate) in_config: bool,
    pub(crate) process_id: ObjectId,
    pub(crate) counter: i64,
}

/// The shape of the whole deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    ReplicaSet { name: String },
    Sharded,
}

/// Everything every hello is computed from.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub(crate) shape: Shape,
    pub(crate) members: Vec<Member>,
    pub(crate) set_version: i32,
    /// The election term: `electionId` is built from it, so later elections compare
    /// greater, as mongod's do.
    pub(crate) term: u32,
}

/// Where an awaitable hello stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwaitDecision {
    /// Answer at once (not awaitable, or the client's view is out of date).
    Now,
    /// Answer when the view changes, or after this long.
    UpTo(Duration),
}

impl Deployment {
    pub(crate) fn new(shape: Shape, members: Vec<Member>) -> Self {
        Deployment {
            shape,
            members,
            set_version: 1,
            term: 1,
        }
    }

    pub(crate) fn election_id(&self) -> ObjectId {
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        bytes[8..].copy_from_slice(&self.term.to_be_bytes());
        ObjectId::from_bytes(bytes)
    }

    /// Bumps every member's topologyVersion counter: every hello changed.
    pub(crate) fn bump_all(&mut self) {
        for member in &mut self.members {
            member.counter += 1;
        }
    }

    pub(crate) fn topology_version(&self, index: usize) -> Option<Document> {
        let m = self.members.get(index)?;
        Some(doc! {"processId": m.process_id, "counter": m.counter})
    }

    fn primary_host(&self) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.in_config && m.spec.role == Role::Primary)
            .map(|m| m.host.as_str())
    }

    fn hosts_where(&self, keep: impl Fn(&MemberSpec) -> bool) -> Vec<Bson> {
        self.members
            .iter()
            .filter(|m| m.in_config && !m.spec.hidden && keep(&m.spec))
            .map(|m| Bson::String(m.host.clone()))
            .collect()
    }

    /// The topology fields of member `index`'s hello (to lay over the base reply).
    /// `legacy` is true for `isMaster`: the writable flag is then `ismaster`.
    pub(crate) fn hello_fields(&self, index: usize, legacy: bool, now: DateTime) -> Document {
        let Some(member) = self.members.get(index) else {
            return Document::new();
        };
        let writable_key = if legacy {
            "ismaster"
        } else {
            "isWritablePrimary"
        };
        let mut out = Document::new();
        let role = member.spec.role;
        if let Shape::Sharded = self.shape {
            out.insert(writable_key, true);
            out.insert("msg", "isdbgrid");
            out.insert("topologyVersion", self.topology_version(index));
            return out;
        }
        let Shape::ReplicaSet { name } = &self.shape else {
            return out;
        };
        if !member.in_config {
            // What mongod says once it is no longer in the set's config: RSGhost.
            out.insert(writable_key, false);
            out.insert("secondary", false);
            out.insert("isreplicaset", true);
            out.insert("info", "Does not have a valid replica set config");
            out.insert("topologyVersion", self.topology_version(index));
            return out;
        }
        out.insert(writable_key, role == Role::Primary);
        out.insert("secondary", role == Role::Secondary);
        out.insert("setName", name.as_str());
        out.insert("setVersion", self.set_version);
        out.insert(
            "hosts",
            self.hosts_where(|s| !s.passive && s.role != Role::Arbiter),
        );
        let passives = self.hosts_where(|s| s.passive && s.role != Role::Arbiter);
        if !passives.is_empty() {
            out.insert("passives", passives);
        }
        let arbiters = self.hosts_where(|s| s.role == Role::Arbiter);
        if !arbiters.is_empty() {
            out.insert("arbiters", arbiters);
        }
        if let Some(primary) = self.primary_host() {
            out.insert("primary", primary);
        }
        out.insert("me", member.host.as_str());
        if role == Role::Primary {
            out.insert("electionId", self.election_id());
        }
        if role == Role::Arbiter {
            out.insert("arbiterOnly", true);
        }
        if member.spec.passive {
            out.insert("passive", true);
        }
        if member.spec.hidden {
            out.insert("hidden", true);
        }
        if !member.spec.tags.is_empty() {
            out.insert("tags", member.spec.tags.clone());
        }
        out.insert("topologyVersion", self.topology_version(index));
        if role != Role::Arbiter {
            out.insert("lastWrite", self.last_write(member, now));
        }
        out
    }

    fn last_write(&self, member: &Member, now: DateTime) -> Document {
        let lag = i64::try_from(member.spec.lag.as_millis()).unwrap_or(i64::MAX);
        let written = DateTime::from_millis(now.timestamp_millis().saturating_sub(lag));
        let seconds = u32::try_from(written.timestamp_millis() / 1000).unwrap_or(0);
        let op_time = doc! {
            "ts": Timestamp { time: seconds, increment: 1 },
            "t": i64::from(self.term),
        };
        doc! {
            "opTime": op_time.clone(),
            "lastWriteDate": written,
            "majorityOpTime": op_time,
            "majorityWriteDate": written,
        }
    }

    /// When member `index` answers a hello that carried `topology_version` and
    /// `max_await_ms`, following mongod: an error when only one of the two is
    /// there, at once when the client's version is from another process or older.
    pub(crate) fn await_decision(
        &self,
        index: usize,
        topology_version: Option<&Document>,
        max_await_ms: Option<i64>,
    ) -> Result<AwaitDecision, Document> {
        let (tv, max) = match (topology_version, max_await_ms) {
            (None, None) => return Ok(AwaitDecision::Now),
            (Some(_), None) => {
                return Err(hello_error(
                    31368,
                    "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'",
                ))
            }
            (None, Some(_)) => {
                return Err(hello_error(
                    31368,
                    "A request with 'maxAwaitTimeMS' must include a 'topologyVersion'",
                ))
            }
            (Some(tv), Some(max)) => (tv, max),
        };
        let Ok(max) = u64::try_from(max) else {
            return Err(hello_error(
                31373,
                "maxAwaitTimeMS must be a non-negative integer",
            ));
        };
        let Some(member) = self.members.get(index) else {
            return Ok(AwaitDecision::Now);
        };
        let same_process = tv.get_object_id("processId").ok() == Some(member.process_id);
        let counter = tv.get_i64("counter").ok();
        if same_process && counter == Some(member.counter) {
            Ok(AwaitDecision::UpTo(Duration::from_millis(max)))
        } else {
            Ok(AwaitDecision::Now)
        }
    }
}

fn hello_error(code: i32, errmsg: &str) -> Document {
    doc! {"ok": 0.0, "errmsg": errmsg, "code": code, "codeName": format!("Location{code}")}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(port: u16, spec: MemberSpec) -> Member {
        Member {
            host: format!("127.0.0.1:{port}"),
            spec,
            in_config: true,
            process_id: ObjectId::new(),
            counter: 0,
        }
    }

    fn set() -> Deployment {
        Deployment::new(
            Shape::ReplicaSet { name: "rs".into() },
            vec![
                member(1, MemberSpec::primary().tag("dc", "east")),
                member(2, MemberSpec::secondary().lag(Duration::from_secs(30))),
                member(3, MemberSpec::arbiter()),
                member(4, MemberSpec::secondary().hidden()),
                member(5, MemberSpec::secondary().passive()),
            ],
        )
    }

    #[test]
    fn members_list_each_other_by_kind() {
        let d = set();
        let now = DateTime::from_millis(1_000_000);
        let h = d.hello_fields(1, false, now);
        assert_eq!(h.get_bool("isWritablePrimary").ok(), Some(false));
        assert_eq!(h.get_bool("secondary").ok(), Some(true));
        assert_eq!(h.get_str("primary").ok(), Some("127.0.0.1:1"));
        assert_eq!(h.get_str("me").ok(), Some("127.0.0.1:2"));
        let hosts: Vec<_> = h.get_array("hosts").unwrap().iter().collect();
        assert_eq!(
            hosts,
            [&Bson::from("127.0.0.1:1"), &Bson::from("127.0.0.1:2")]
        );
        assert_eq!(h.get_array("arbiters").unwrap().len(), 1);
        assert_eq!(h.get_array("passives").unwrap().len(), 1);
        assert!(h.get("electionId").is_none());
        let written = h.get_document("lastWrite").unwrap();
        assert_eq!(
            written
                .get_datetime("lastWriteDate")
                .unwrap()
                .timestamp_millis(),
            1_000_000 - 30_000
        );
        let p = d.hello_fields(0, true, now);
        assert_eq!(p.get_bool("ismaster").ok(), Some(true));
        assert!(p.get("isWritablePrimary").is_none());
        assert_eq!(p.get_object_id("electionId").ok(), Some(d.election_id()));
        assert_eq!(
            p.get_document("tags").unwrap().get_str("dc").ok(),
            Some("east")
        );
        assert_eq!(
            d.hello_fields(2, false, now).get_bool("arbiterOnly").ok(),
            Some(true)
        );
        assert_eq!(
            d.hello_fields(3, false, now).get_bool("hidden").ok(),
            Some(true)
        );
        assert_eq!(
            d.hello_fields(4, false, now).get_bool("passive").ok(),
            Some(true)
        );
    }

    #[test]
    fn a_removed_member_is_a_ghost_and_drops_out_of_hosts() {
        let mut d = set();
        d.members[1].in_config = false;
        let ghost = d.hello_fields(1, false, DateTime::now());
        assert_eq!(ghost.get_bool("isreplicaset").ok(), Some(true));
        assert!(ghost.get("setName").is_none());
        let hosts = d.hello_fields(0, false, DateTime::now());
        assert_eq!(hosts.get_array("hosts").unwrap().len(), 1);
    }

    #[test]
    fn later_elections_have_greater_ids() {
        let mut d = set();
        let first = d.election_id();
        d.term += 1;
        assert!(d.election_id() > first);
    }

    #[test]
    fn awaiting_follows_the_clients_topology_version() {
        let d = set();
        let current = d.topology_version(0).unwrap();
        let wait = d.await_decision(0, Some(&current), Some(500));
        assert_eq!(wait, Ok(AwaitDecision::UpTo(Duration::from_millis(500))));
        let older = doc! {"processId": d.members[0].process_id, "counter": -1_i64};
        assert_eq!(
            d.await_decision(0, Some(&older), Some(500)),
            Ok(AwaitDecision::Now)
        );
        let other = doc! {"processId": ObjectId::new(), "counter": 0_i64};
        assert_eq!(
            d.await_decision(0, Some(&other), Some(500)),
            Ok(AwaitDecision::Now)
        );
        assert_eq!(d.await_decision(0, None, None), Ok(AwaitDecision::Now));
        assert!(d.await_decision(0, Some(&current), None).is_err());
        assert!(d.await_decision(0, None, Some(5)).is_err());
        assert!(d.await_decision(0, Some(&current), Some(-1)).is_err());
    }
}
