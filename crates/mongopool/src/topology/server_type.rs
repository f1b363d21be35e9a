//! The kinds of server SDAM tells apart.

/// What a server is, as its last hello (or its absence) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerType {
    /// A server that is not a replica set member nor a router.
    Standalone,
    /// A mongos router (`msg: "isdbgrid"`).
    Mongos,
    /// Not checked yet, but a member named it as the primary. Treated like `Unknown`
    /// for selection.
    PossiblePrimary,
    /// The replica set's primary.
    RsPrimary,
    /// A replica set secondary.
    RsSecondary,
    /// A replica set arbiter.
    RsArbiter,
    /// A replica set member that is hidden, starting up or recovering.
    RsOther,
    /// A replica set member that is not (yet) in a configured set (`isreplicaset`).
    RsGhost,
    /// A load balancer in front of mongos routers (`loadBalanced=true`).
    LoadBalancer,
    /// Not checked yet, or the last check failed.
    #[default]
    Unknown,
}

impl ServerType {
    /// The spec's name (`"RSPrimary"`, `"Mongos"`, ...), as tests and logs write it.
    pub fn name(self) -> &'static str {
        match self {
            ServerType::Standalone => "Standalone",
            ServerType::Mongos => "Mongos",
            ServerType::PossiblePrimary => "PossiblePrimary",
            ServerType::RsPrimary => "RSPrimary",
            ServerType::RsSecondary => "RSSecondary",
            ServerType::RsArbiter => "RSArbiter",
            ServerType::RsOther => "RSOther",
            ServerType::RsGhost => "RSGhost",
            ServerType::LoadBalancer => "LoadBalancer",
            ServerType::Unknown => "Unknown",
        }
    }

    /// The type of this spec name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ServerType::Standalone,
            ServerType::Mongos,
            ServerType::PossiblePrimary,
            ServerType::RsPrimary,
            ServerType::RsSecondary,
            ServerType::RsArbiter,
            ServerType::RsOther,
            ServerType::RsGhost,
            ServerType::LoadBalancer,
            ServerType::Unknown,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// A type that holds data an operation can read (the spec's "data-bearing"):
    /// Standalone, Mongos, RSPrimary, RSSecondary, and a load balancer's routers.
    pub fn is_data_bearing(self) -> bool {
        matches!(
            self,
            ServerType::Standalone
                | ServerType::Mongos
                | ServerType::RsPrimary
                | ServerType::RsSecondary
                | ServerType::LoadBalancer
        )
    }

    /// The server answered its last check (any type but Unknown and PossiblePrimary).
    pub fn is_available(self) -> bool {
        !matches!(self, ServerType::Unknown | ServerType::PossiblePrimary)
    }

    /// A member of a configured replica set that reports the set's members.
    pub fn is_replica_set_member(self) -> bool {
        matches!(
            self,
            ServerType::RsPrimary
                | ServerType::RsSecondary
                | ServerType::RsArbiter
                | ServerType::RsOther
        )
    }
}

impl std::fmt::Display for ServerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [
            ServerType::RsPrimary,
            ServerType::LoadBalancer,
            ServerType::Unknown,
        ] {
            assert_eq!(ServerType::from_name(t.name()), Some(t));
        }
        assert_eq!(ServerType::from_name("RsPrimary"), None);
        assert!(!ServerType::PossiblePrimary.is_available());
        assert!(!ServerType::RsArbiter.is_data_bearing());
    }
}
