//! Open cursors and the client connection that owns each: pure bookkeeping.
//!
//! Drivers with a pool of their own may open a cursor on one connection to the proxy
//! and run its `getMore`s on another, so cursors are tracked for the whole proxy and
//! owned by the client connection that used them last. When a client connection goes
//! away, the cursors it owns are killed (as a driver kills its cursors when it closes);
//! a cursor another connection has taken over since lives on.

use std::collections::{BTreeMap, HashMap, HashSet};

use mongopool::ServerAddress;

/// Owner ids are the proxy's client connection ids.
pub(crate) type ClientId = u64;

/// Cursors of one namespace on one server, to be killed together.
#[derive(Debug, PartialEq)]
pub(crate) struct OwnedCursors {
    pub(crate) ns: String,
    pub(crate) server: ServerAddress,
    pub(crate) ids: Vec<i64>,
}

#[derive(Debug)]
struct Cursor {
    /// `db.collection`, which `killCursors` needs.
    ns: String,
    /// The server that holds it: its getMores and killCursors go there.
    server: ServerAddress,
    owner: ClientId,
}

/// Every open cursor, by id and by owner.
#[derive(Debug, Default)]
pub(crate) struct CursorRegistry {
    by_id: HashMap<i64, Cursor>,
    by_owner: HashMap<ClientId, HashSet<i64>>,
}

impl CursorRegistry {
    /// A reply said cursor `id` on `ns` is open; `owner` ran the command.
    pub(crate) fn opened(&mut self, owner: ClientId, id: i64, ns: String, server: ServerAddress) {
        self.forget(id);
        self.by_id.insert(id, Cursor { ns, server, owner });
        self.by_owner.entry(owner).or_default().insert(id);
    }

    /// `owner` ran a `getMore` on cursor `id`: it owns it now.
    pub(crate) fn used(&mut self, owner: ClientId, id: i64) {
        let Some(cursor) = self.by_id.get_mut(&id) else {
            return;
        };
        if cursor.owner == owner {
            return;
        }
        let previous = std::mem::replace(&mut cursor.owner, owner);
        Self::unlink(&mut self.by_owner, previous, id);
        self.by_owner.entry(owner).or_default().insert(id);
    }

    /// The server that holds cursor `id`, if the proxy saw it open.
    pub(crate) fn server_of(&self, id: i64) -> Option<ServerAddress> {
        self.by_id.get(&id).map(|c| c.server.clone())
    }

    /// Cursor `id` is exhausted or killed.
    pub(crate) fn forget(&mut self, id: i64) {
        if let Some(cursor) = self.by_id.remove(&id) {
            Self::unlink(&mut self.by_owner, cursor.owner, id);
        }
    }

    /// How many cursors `owner` owns.
    pub(crate) fn owned(&self, owner: ClientId) -> usize {
        self.by_owner.get(&owner).map_or(0, HashSet::len)
    }

    /// Every open cursor.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Removes the cursors `owner` owns and returns them by namespace and server, to
    /// be killed.
    pub(crate) fn take_owned(&mut self, owner: ClientId) -> Vec<OwnedCursors> {
        let mut grouped: BTreeMap<(String, String), OwnedCursors> = BTreeMap::new();
        for id in self.by_owner.remove(&owner).unwrap_or_default() {
            if let Some(cursor) = self.by_id.remove(&id) {
                grouped
                    .entry((cursor.ns.clone(), cursor.server.to_string()))
                    .or_insert_with(|| OwnedCursors {
                        ns: cursor.ns,
                        server: cursor.server,
                        ids: Vec::new(),
                    })
                    .ids
                    .push(id);
            }
        }
        let mut all: Vec<OwnedCursors> = grouped.into_values().collect();
        for group in &mut all {
            group.ids.sort_unstable();
        }
        all
    }

    fn unlink(by_owner: &mut HashMap<ClientId, HashSet<i64>>, owner: ClientId, id: i64) {
        if let Some(ids) = by_owner.get_mut(&owner) {
            ids.remove(&id);
            if ids.is_empty() {
                by_owner.remove(&owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> ServerAddress {
        ServerAddress::tcp("a", 1)
    }

    fn ids(groups: &[OwnedCursors], ns: &str) -> Option<Vec<i64>> {
        groups.iter().find(|g| g.ns == ns).map(|g| g.ids.clone())
    }

    #[test]
    fn a_disconnect_takes_the_cursors_its_client_owns() {
        let mut r = CursorRegistry::default();
        r.opened(1, 10, "db.a".into(), a());
        r.opened(1, 11, "db.b".into(), a());
        r.opened(1, 12, "db.a".into(), a());
        r.opened(2, 20, "db.a".into(), a());
        assert_eq!((r.owned(1), r.owned(2), r.len()), (3, 1, 4));
        let taken = r.take_owned(1);
        assert_eq!(ids(&taken, "db.a"), Some(vec![10, 12]));
        assert_eq!(ids(&taken, "db.b"), Some(vec![11]));
        assert_eq!((r.owned(1), r.len()), (0, 1));
        assert!(r.take_owned(1).is_empty());
    }

    #[test]
    fn a_get_more_moves_the_cursor_to_its_connection() {
        let mut r = CursorRegistry::default();
        r.opened(1, 10, "db.a".into(), a());
        r.used(2, 10);
        assert!(r.take_owned(1).is_empty());
        assert_eq!(ids(&r.take_owned(2), "db.a"), Some(vec![10]));
    }

    #[test]
    fn finished_cursors_are_forgotten() {
        let mut r = CursorRegistry::default();
        r.opened(1, 10, "db.a".into(), a());
        assert_eq!(r.server_of(10), Some(a()));
        r.forget(10);
        assert_eq!(r.server_of(10), None);
        r.used(1, 10);
        assert_eq!((r.owned(1), r.len()), (0, 0));
        assert!(r.take_owned(1).is_empty());
    }
}
