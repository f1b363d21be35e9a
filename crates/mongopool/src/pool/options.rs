//! The options of a pool: the CMAP ConnectionPoolOptions plus the maintenance interval
//! and the event handler.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::events::{CmapEventHandler, PoolCreatedOptions};

/// How a pool behaves. Build with [`PoolOptions::builder`] (whose `build` checks the
/// values) or start from [`PoolOptions::default`] and set fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct PoolOptions {
    /// Most connections (pending + available + in use) the pool may hold; 0 means no
    /// limit. Defaults to 100.
    pub max_pool_size: u32,
    /// Connections the pool keeps open, established in the background while the pool is
    /// ready. Must be at most `max_pool_size` unless that is 0. Defaults to 0.
    pub min_pool_size: u32,
    /// How long a connection may stay available before it is closed as idle; `None` (or
    /// zero) means no limit. Defaults to `None`.
    pub max_idle_time: Option<Duration>,
    /// Most connections being established at once. Must be at least 1. Defaults to 2.
    pub max_connecting: u32,
    /// How long a checkout may wait for a connection (or for a slot to establish one)
    /// before it fails with [`ErrorKind::WaitQueueTimeout`](crate::ErrorKind::WaitQueueTimeout);
    /// `None` (or zero) means wait forever. Establishing the connection is not part of
    /// the wait. Defaults to `None`.
    pub wait_queue_timeout: Option<Duration>,
    /// Most checkouts that may wait in the wait queue at once (for a slot, for the head
    /// of the queue, or at its head for a connection); `None` means no bound. A checkout
    /// that would have to wait while this many already do fails at once with
    /// [`ErrorKind::ExceededMaxWaiters`](crate::ErrorKind::ExceededMaxWaiters) instead
    /// of queueing, so an overloaded service sheds load rather than piling up latency.
    /// A checkout that finds a connection, or room to establish one, never waits and is
    /// never refused. `Some(0)` means no checkout ever waits. The URI option
    /// `waitQueueMultiple` (PyMongo 3's name) sets this to `maxPoolSize ×
    /// waitQueueMultiple`. Defaults to `None` (unbounded, as the CMAP spec's queue is).
    pub max_waiters: Option<u32>,
    /// Pause between runs of the background task that closes perished available
    /// connections and keeps `min_pool_size` (the spec tests' `backgroundThreadIntervalMS`).
    /// A run also happens at once after `ready()`, `clear()`, and after each background
    /// establishment. `None` means no background task at all: perished connections are
    /// then closed only when a checkout meets them and `min_pool_size` is not kept.
    /// Must not be zero. Defaults to 10 seconds.
    pub maintenance_interval: Option<Duration>,
    /// Receives the pool's [`CmapEvent`](crate::events::CmapEvent)s. Defaults to `None`.
    pub event_handler: Option<Arc<dyn CmapEventHandler>>,
    /// Load-balanced mode (the URI's `loadBalanced=true`): the server is a load balancer
    /// in front of several services (mongos), and each connection reaches one of them.
    /// The pool then keeps a generation per service ([`Poolable::service_id`]), and a
    /// clear is per service ([`Pool::clear_service`]): it never pauses the pool nor fails
    /// waiting checkouts. Defaults to `false`.
    ///
    /// [`Poolable::service_id`]: crate::pool::Poolable::service_id
    /// [`Pool::clear_service`]: crate::pool::Pool::clear_service
    pub load_balanced: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_pool_size: 100,
            min_pool_size: 0,
            max_idle_time: None,
            max_connecting: 2,
            wait_queue_timeout: None,
            max_waiters: None,
            maintenance_interval: Some(Duration::from_secs(10)),
            event_handler: None,
            load_balanced: false,
        }
    }
}

impl PoolOptions {
    /// A builder starting from the defaults.
    pub fn builder() -> PoolOptionsBuilder {
        PoolOptionsBuilder {
            options: PoolOptions::default(),
        }
    }

    /// Checks the values; [`PoolOptionsBuilder::build`] calls this.
    pub fn validate(&self) -> Result<()> {
        if self.max_connecting == 0 {
            return Err(Error::configuration("maxConnecting must be at least 1"));
        }
        if self.max_pool_size != 0 && self.min_pool_size > self.max_pool_size {
            return Err(Error::configuration(format!(
                "minPoolSize ({}) must not exceed maxPoolSize ({})",
                self.min_pool_size, self.max_pool_size
            )));
        }
        if self.maintenance_interval == Some(Duration::ZERO) {
            return Err(Error::configuration(
                "the maintenance interval must be positive (use None to disable maintenance)",
            ));
        }
        Ok(())
    }

    /// The values a pool actually uses: what `validate` would refuse is clamped to the
    /// nearest valid value (so `Pool::new` cannot fail), zero limits become `None`.
    pub(crate) fn normalized(mut self) -> Self {
        self.max_connecting = self.max_connecting.max(1);
        if self.max_pool_size != 0 {
            self.min_pool_size = self.min_pool_size.min(self.max_pool_size);
        }
        self.max_idle_time = self.max_idle_time.filter(|d| !d.is_zero());
        self.wait_queue_timeout = self.wait_queue_timeout.filter(|d| !d.is_zero());
        if self.maintenance_interval == Some(Duration::ZERO) {
            self.maintenance_interval = Some(Duration::from_millis(1));
        }
        self
    }

    pub(crate) fn created_options(&self) -> PoolCreatedOptions {
        PoolCreatedOptions {
            max_pool_size: self.max_pool_size,
            min_pool_size: self.min_pool_size,
            max_idle_time: self.max_idle_time,
            max_connecting: self.max_connecting,
            wait_queue_timeout: self.wait_queue_timeout,
        }
    }
}

impl fmt::Debug for PoolOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolOptions")
            .field("max_pool_size", &self.max_pool_size)
            .field("min_pool_size", &self.min_pool_size)
            .field("max_idle_time", &self.max_idle_time)
            .field("max_connecting", &self.max_connecting)
            .field("wait_queue_timeout", &self.wait_queue_timeout)
            .field("max_waiters", &self.max_waiters)
            .field("maintenance_interval", &self.maintenance_interval)
            .field(
                "event_handler",
                &self.event_handler.as_ref().map(|_| "<handler>"),
            )
            .field("load_balanced", &self.load_balanced)
            .finish()
    }
}

/// Builds [`PoolOptions`]; see the fields there for meanings and defaults.
#[derive(Debug, Clone)]
pub struct PoolOptionsBuilder {
    options: PoolOptions,
}

impl PoolOptionsBuilder {
    /// Sets [`PoolOptions::max_pool_size`] (0 = unbounded).
    pub fn max_pool_size(mut self, n: u32) -> Self {
        self.options.max_pool_size = n;
        self
    }

    /// Sets [`PoolOptions::min_pool_size`].
    pub fn min_pool_size(mut self, n: u32) -> Self {
        self.options.min_pool_size = n;
        self
    }

    /// Sets [`PoolOptions::max_idle_time`]; zero means no limit.
    pub fn max_idle_time(mut self, d: Duration) -> Self {
        self.options.max_idle_time = Some(d).filter(|d| !d.is_zero());
        self
    }

    /// Sets [`PoolOptions::max_connecting`].
    pub fn max_connecting(mut self, n: u32) -> Self {
        self.options.max_connecting = n;
        self
    }

    /// Sets [`PoolOptions::wait_queue_timeout`]; zero means wait forever.
    pub fn wait_queue_timeout(mut self, d: Duration) -> Self {
        self.options.wait_queue_timeout = Some(d).filter(|d| !d.is_zero());
        self
    }

    /// Sets [`PoolOptions::max_waiters`] (`None`: unbounded).
    pub fn max_waiters(mut self, n: Option<u32>) -> Self {
        self.options.max_waiters = n;
        self
    }

    /// Sets [`PoolOptions::max_waiters`] the way the URI option `waitQueueMultiple` does:
    /// to `max_pool_size × multiple` (saturating), with the `max_pool_size` set so far.
    /// An unbounded pool (`max_pool_size` 0) gets no bound.
    pub fn wait_queue_multiple(mut self, multiple: u32) -> Self {
        self.options.max_waiters = (self.options.max_pool_size != 0)
            .then(|| self.options.max_pool_size.saturating_mul(multiple));
        self
    }

    /// Sets [`PoolOptions::maintenance_interval`] (`None` disables background maintenance).
    pub fn maintenance_interval(mut self, d: Option<Duration>) -> Self {
        self.options.maintenance_interval = d;
        self
    }

    /// Sets [`PoolOptions::event_handler`].
    pub fn event_handler(mut self, handler: Arc<dyn CmapEventHandler>) -> Self {
        self.options.event_handler = Some(handler);
        self
    }

    /// Sets [`PoolOptions::load_balanced`].
    pub fn load_balanced(mut self, on: bool) -> Self {
        self.options.load_balanced = on;
        self
    }

    /// The options, or a configuration error naming the first invalid value.
    pub fn build(self) -> Result<PoolOptions> {
        self.options.validate()?;
        Ok(self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_defaults() {
        let o = PoolOptions::builder().build().unwrap();
        assert_eq!(o.max_pool_size, 100);
        assert_eq!(o.min_pool_size, 0);
        assert_eq!(o.max_connecting, 2);
        assert_eq!(o.max_idle_time, None);
        assert_eq!(o.wait_queue_timeout, None);
        assert_eq!(o.max_waiters, None);
        assert_eq!(o.maintenance_interval, Some(Duration::from_secs(10)));
    }

    #[test]
    fn build_refuses_invalid_values() {
        for b in [
            PoolOptions::builder().max_connecting(0),
            PoolOptions::builder().max_pool_size(2).min_pool_size(3),
            PoolOptions::builder().maintenance_interval(Some(Duration::ZERO)),
        ] {
            assert!(b.build().unwrap_err().is_configuration());
        }
        // An unbounded pool accepts any minimum.
        PoolOptions::builder()
            .max_pool_size(0)
            .min_pool_size(500)
            .build()
            .unwrap();
    }

    #[test]
    fn zero_limits_mean_none_and_normalizing_clamps() {
        let o = PoolOptions::builder()
            .max_idle_time(Duration::ZERO)
            .wait_queue_timeout(Duration::ZERO)
            .build()
            .unwrap();
        assert_eq!(o.max_idle_time, None);
        assert_eq!(o.wait_queue_timeout, None);

        let raw = PoolOptions {
            max_connecting: 0,
            max_pool_size: 3,
            min_pool_size: 9,
            wait_queue_timeout: Some(Duration::ZERO),
            ..PoolOptions::default()
        };
        let n = raw.normalized();
        assert_eq!(n.max_connecting, 1);
        assert_eq!(n.min_pool_size, 3);
        assert_eq!(n.wait_queue_timeout, None);
        n.validate().unwrap();
    }

    #[test]
    fn wait_queue_multiple_is_a_multiple_of_max_pool_size() {
        let o = PoolOptions::builder()
            .max_pool_size(4)
            .wait_queue_multiple(2)
            .build()
            .unwrap();
        assert_eq!(o.max_waiters, Some(8));
        let o = PoolOptions::builder()
            .max_pool_size(u32::MAX)
            .wait_queue_multiple(3)
            .build()
            .unwrap();
        assert_eq!(o.max_waiters, Some(u32::MAX));
        let unbounded = PoolOptions::builder()
            .max_pool_size(0)
            .wait_queue_multiple(3)
            .build()
            .unwrap();
        assert_eq!(unbounded.max_waiters, None);
    }
}
