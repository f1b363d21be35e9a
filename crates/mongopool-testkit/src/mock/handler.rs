//! The mock server asks its handler what to do with each request.

use super::action::Action;
use super::request::Request;

/// Decides the mock server's [`Action`] for each request. Called once per request,
/// from the connection's task, in the order requests arrive on that connection;
/// connections are served concurrently, so state needs interior mutability.
///
/// [`Behavior`](super::Behavior) is the ready-made handler; any
/// `Fn(&Request) -> Action` closure is one too.
pub trait Handler: Send + Sync + 'static {
    /// The action for `request`.
    fn handle(&self, request: &Request) -> Action;
}

impl<F> Handler for F
where
    F: Fn(&Request) -> Action + Send + Sync + 'static,
{
    fn handle(&self, request: &Request) -> Action {
        self(request)
    }
}
