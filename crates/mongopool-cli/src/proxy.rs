//! `mongopool proxy`: many application connections over the few server connections of
//! `--uri` (its `maxPoolSize`). Runs until SIGTERM or Ctrl-C, then drains in-flight
//! requests for up to `--drain-secs`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use mongopool_proxy::{Proxy, ProxyOptions};

use crate::BoxError;

/// `mongopool proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where clients connect.
    #[arg(long, default_value = "127.0.0.1:27018")]
    pub listen: SocketAddr,
    /// How long a shutdown waits for requests in flight.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
}

pub async fn run(uri: &str, args: &ProxyArgs) -> Result<(), BoxError> {
    let cs = mongopool::ConnectionString::parse(uri)?;
    let proxy = Proxy::start(ProxyOptions::new(args.listen, cs)).await?;
    eprintln!("mongopool proxy: listening on {}", proxy.local_addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    eprintln!("mongopool proxy: draining for up to {}s", args.drain_secs);
    let report = proxy.shutdown(Duration::from_secs(args.drain_secs)).await;
    eprintln!(
        "mongopool proxy: stopped ({} clients drained, {} abandoned)",
        report.drained, report.abandoned
    );
    Ok(())
}
