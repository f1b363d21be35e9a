//! `serverMonitoringMode`: how servers are monitored.

/// How servers are monitored (`serverMonitoringMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMonitoringMode {
    /// Use the streaming protocol when the server supports it.
    Stream,
    /// Always poll.
    Poll,
    /// Stream, except on FaaS platforms where polling is used. The spec's default.
    Auto,
}

impl ServerMonitoringMode {
    /// The option's value for this mode.
    pub fn name(self) -> &'static str {
        match self {
            ServerMonitoringMode::Stream => "stream",
            ServerMonitoringMode::Poll => "poll",
            ServerMonitoringMode::Auto => "auto",
        }
    }

    /// The mode of this exact (lowercase) name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ServerMonitoringMode::Stream,
            ServerMonitoringMode::Poll,
            ServerMonitoringMode::Auto,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        assert_eq!(
            ServerMonitoringMode::from_name("poll"),
            Some(ServerMonitoringMode::Poll)
        );
        assert_eq!(ServerMonitoringMode::from_name("POLL"), None);
    }
}
