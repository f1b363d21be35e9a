//! `-v`/`-vv`: tracing logs on stderr.

use tracing_subscriber::EnvFilter;

/// Installs a stderr logger when asked: `RUST_LOG` when set, else the level that
/// `verbosity` (the count of `-v`) names. Without either, nothing is installed and
/// logging costs nothing.
pub fn init(verbosity: u8) {
    let from_env = std::env::var_os(EnvFilter::DEFAULT_ENV).is_some();
    if verbosity == 0 && !from_env {
        return;
    }
    let filter = if from_env {
        EnvFilter::from_default_env()
    } else {
        EnvFilter::new(match verbosity {
            1 => "info",
            2 => "debug",
            _ => "trace",
        })
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
