//! `mongopool proxy`: many application connections over the few server connections of
//! `--uri` (its `maxPoolSize`). Runs until SIGTERM or Ctrl-C, then drains in-flight
//! requests for up to `--drain-secs`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use mongopool_proxy::{ClientUsers, Proxy, ProxyOptions};

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
    /// A file of `user:password` lines: clients must then log in as one of these
    /// users (SCRAM-SHA-256). Without it, clients connect without authentication.
    #[arg(long, value_name = "FILE")]
    pub users: Option<std::path::PathBuf>,
}

pub async fn run(uri: &str, args: &ProxyArgs) -> Result<(), BoxError> {
    let cs = mongopool::ConnectionString::parse(uri)?;
    let mut options = ProxyOptions::new(args.listen, cs);
    if let Some(path) = &args.users {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading the user list {}: {e}", path.display()))?;
        options.client_users = ClientUsers::parse(&text)
            .map_err(|e| format!("the user list {}: {e}", path.display()))?;
    }
    let proxy = Proxy::start(options).await?;
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
