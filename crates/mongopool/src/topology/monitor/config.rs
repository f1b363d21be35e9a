//! How a monitor checks its server: the connection it opens and its timing.

use std::time::Duration;

use crate::address::ServerAddress;
use crate::connection::ConnectionOptions;
use crate::connection_string::ServerMonitoringMode;

/// One monitor's settings.
#[derive(Debug, Clone)]
pub(crate) struct MonitorConfig {
    /// The server.
    pub(crate) address: ServerAddress,
    /// How monitoring connections are opened: the application's options without the
    /// credential (monitors never log in) and without a socket timeout (each read gets
    /// the spec's own timeout below).
    pub(crate) connection_options: ConnectionOptions,
    /// `connectTimeoutMS`: the timeout of a polling check; `None` is unlimited.
    pub(crate) connect_timeout: Option<Duration>,
    /// `heartbeatFrequencyMS`, also the awaitable hello's `maxAwaitTimeMS`.
    pub(crate) heartbeat_frequency: Duration,
    /// `minHeartbeatFrequencyMS`.
    pub(crate) min_heartbeat_frequency: Duration,
    /// Whether the streaming protocol may be used.
    pub(crate) streaming_allowed: bool,
}

impl MonitorConfig {
    /// The settings for a monitor of `address`.
    pub(crate) fn new(
        address: ServerAddress,
        application_options: &ConnectionOptions,
        heartbeat_frequency: Duration,
        min_heartbeat_frequency: Duration,
        mode: ServerMonitoringMode,
    ) -> MonitorConfig {
        let mut connection_options = application_options.clone();
        connection_options.credential = None;
        let connect_timeout = connection_options.connect.connect_timeout;
        connection_options.connect.socket_timeout = None;
        let streaming_allowed = match mode {
            ServerMonitoringMode::Stream => true,
            ServerMonitoringMode::Poll => false,
            ServerMonitoringMode::Auto => !running_on_faas(|k| std::env::var(k).ok()),
        };
        MonitorConfig {
            address,
            connection_options,
            connect_timeout,
            heartbeat_frequency,
            min_heartbeat_frequency,
            streaming_allowed,
        }
    }

    /// The timeout of a polling check or a handshake.
    pub(crate) fn check_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The timeout of one awaitable hello reply: `connectTimeoutMS` plus
    /// `heartbeatFrequencyMS` (unlimited when `connectTimeoutMS` is).
    pub(crate) fn awaited_timeout(&self) -> Option<Duration> {
        self.connect_timeout.map(|t| t + self.heartbeat_frequency)
    }
}

/// The handshake spec's FaaS detection (`client.env.name`), which
/// `serverMonitoringMode=auto` follows: on a FaaS platform monitors poll.
fn running_on_faas(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    var("AWS_EXECUTION_ENV").is_some_and(|v| v.starts_with("AWS_Lambda_"))
        || set("AWS_LAMBDA_RUNTIME_API")
        || set("FUNCTIONS_WORKER_RUNTIME")
        || set("K_SERVICE")
        || set("FUNCTION_NAME")
        || set("VERCEL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faas_platforms_are_detected() {
        assert!(!running_on_faas(|_| None));
        assert!(running_on_faas(
            |k| (k == "AWS_EXECUTION_ENV").then(|| "AWS_Lambda_java8".into())
        ));
        assert!(!running_on_faas(
            |k| (k == "AWS_EXECUTION_ENV").then(|| "EC2".into())
        ));
        assert!(running_on_faas(|k| (k == "VERCEL").then(|| "1".into())));
    }

    #[test]
    fn monitoring_connections_do_not_log_in_and_poll_within_connect_timeout() {
        let options = ConnectionOptions::builder()
            .connect_timeout(Some(Duration::from_secs(3)))
            .socket_timeout(Some(Duration::from_secs(1)))
            .build()
            .unwrap();
        let c = MonitorConfig::new(
            ServerAddress::tcp("h", 1),
            &options,
            Duration::from_secs(10),
            Duration::from_millis(500),
            ServerMonitoringMode::Poll,
        );
        assert!(c.connection_options.credential.is_none());
        assert_eq!(c.connection_options.connect.socket_timeout, None);
        assert_eq!(c.check_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(c.awaited_timeout(), Some(Duration::from_secs(13)));
        assert!(!c.streaming_allowed);
    }
}
