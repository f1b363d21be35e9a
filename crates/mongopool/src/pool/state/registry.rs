//! The registry of open connections (pending, available or in use), keyed by id, and
//! in load-balanced mode the services they reached, each with its own generation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bson::oid::ObjectId;

use super::{ConnMeta, PoolState};
use crate::pool::interrupt::InterruptSignal;
use crate::pool::Poolable;

/// An open connection, as the registry knows it.
pub(super) struct Live {
    pub(super) interrupt: InterruptSignal,
    /// Established (available or in use), not pending.
    pub(super) established: bool,
    /// Counted in that service's connections (load-balanced mode).
    pub(super) service_id: Option<ObjectId>,
}

/// A service behind the load balancer, while the pool has connections to it: the
/// spec's (generation, connection count).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Service {
    generation: u32,
    connections: usize,
}

/// Hashes connection ids (distinct `u64`s, handed out in sequence) with one multiply:
/// SipHash's protection against chosen keys buys nothing for keys the pool makes itself.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(super) type Registry = HashMap<u64, Live, BuildHasherDefault<IdHasher>>;

impl<T: Poolable> PoolState<T> {
    /// The generation a connection must have to be current: its service's in
    /// load-balanced mode, else the pool's. (The service is looked up in the registry
    /// rather than carried with the connection: that keeps the pool's hot path, which
    /// moves `ConnMeta`s around, as small when not load-balanced.)
    #[inline]
    pub(super) fn generation_of(&self, meta: &ConnMeta) -> u32 {
        match &self.services {
            None => self.generation,
            Some(services) => self.service_generation(services, meta),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn service_generation(
        &self,
        services: &HashMap<ObjectId, Service>,
        meta: &ConnMeta,
    ) -> u32 {
        match self.live.get(&meta.id).and_then(|l| l.service_id) {
            Some(id) => services.get(&id).map_or(0, |s| s.generation),
            None => self.generation,
        }
    }

    /// In load-balanced mode, a connection just established joins the service it reached:
    /// it takes that service's generation and counts among its connections. Called under
    /// the same lock as the establishment is recorded, so a clear of the service cannot
    /// fall in between.
    pub(crate) fn join_service(&mut self, meta: &mut ConnMeta, service_id: Option<ObjectId>) {
        let (Some(services), Some(service_id)) = (&mut self.services, service_id) else {
            return;
        };
        let service = services.entry(service_id).or_default();
        service.connections += 1;
        meta.generation = service.generation;
        if let Some(live) = self.live.get_mut(&meta.id) {
            live.service_id = Some(service_id);
        }
    }

    /// Load-balanced mode: a new generation for one service (its connections are stale
    /// from now on). A service the pool has no connection to has nothing to clear.
    pub(crate) fn clear_service(&mut self, service_id: ObjectId) {
        if let Some(service) = self.services.as_mut().and_then(|s| s.get_mut(&service_id)) {
            service.generation = service.generation.wrapping_add(1);
        }
    }

    /// Load-balanced mode: the services the pool has connections to.
    pub(crate) fn service_ids(&self) -> Vec<ObjectId> {
        let mut ids: Vec<ObjectId> = self
            .services
            .iter()
            .flat_map(|s| s.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A connection is closed: it leaves the registry and its service's count (the
    /// service is forgotten with its last connection, as the spec says).
    pub(super) fn forget(&mut self, id: u64) {
        let Some(live) = self.live.remove(&id) else {
            return;
        };
        if let (Some(services), Some(service_id)) = (&mut self.services, live.service_id) {
            if let Some(service) = services.get_mut(&service_id) {
                service.connections -= 1;
                if service.connections == 0 {
                    services.remove(&service_id);
                }
            }
        }
    }
}
