//! Which servers suit an operation, by topology type, mode, staleness and tags.

use crate::address::ServerAddress;
use crate::read_preference::{ReadPreference, ReadPreferenceMode};
use crate::topology::description::{TopologyDescription, TopologyType};
use crate::topology::server_description::ServerDescription;
use crate::topology::server_type::ServerType;

use super::criteria::SelectionCriteria;
use super::staleness::staleness_ms;

/// The servers that suit `criteria`, leaving out those in `excluded`.
pub fn suitable_servers<'a>(
    desc: &'a TopologyDescription,
    criteria: &SelectionCriteria,
    excluded: &[ServerAddress],
) -> Vec<&'a ServerDescription> {
    let candidates = desc.servers().filter(|s| !excluded.contains(&s.address));
    match desc.topology_type() {
        TopologyType::Unknown => Vec::new(),
        TopologyType::Single => candidates
            .filter(|s| s.server_type.is_available())
            .collect(),
        TopologyType::LoadBalanced => candidates
            .filter(|s| s.server_type == ServerType::LoadBalancer)
            .collect(),
        TopologyType::Sharded => candidates
            .filter(|s| s.server_type == ServerType::Mongos)
            .collect(),
        TopologyType::ReplicaSetNoPrimary | TopologyType::ReplicaSetWithPrimary => {
            let candidates: Vec<&ServerDescription> = candidates.collect();
            let primary = || of_type(&candidates, &[ServerType::RsPrimary]);
            match criteria {
                SelectionCriteria::Write => primary(),
                SelectionCriteria::Read(rp) => match rp.mode {
                    ReadPreferenceMode::Primary => primary(),
                    ReadPreferenceMode::Secondary => {
                        eligible(desc, rp, of_type(&candidates, &[ServerType::RsSecondary]))
                    }
                    ReadPreferenceMode::Nearest => eligible(
                        desc,
                        rp,
                        of_type(
                            &candidates,
                            &[ServerType::RsPrimary, ServerType::RsSecondary],
                        ),
                    ),
                    ReadPreferenceMode::SecondaryPreferred => {
                        let secondaries =
                            eligible(desc, rp, of_type(&candidates, &[ServerType::RsSecondary]));
                        match secondaries.is_empty() {
                            true => primary(),
                            false => secondaries,
                        }
                    }
                    ReadPreferenceMode::PrimaryPreferred => {
                        let primary = primary();
                        match primary.is_empty() {
                            false => primary,
                            true => {
                                eligible(desc, rp, of_type(&candidates, &[ServerType::RsSecondary]))
                            }
                        }
                    }
                },
            }
        }
    }
}

fn of_type<'a>(
    candidates: &[&'a ServerDescription],
    types: &[ServerType],
) -> Vec<&'a ServerDescription> {
    candidates
        .iter()
        .copied()
        .filter(|s| types.contains(&s.server_type))
        .collect()
}

/// Staleness first, then the first tag set that matches any server.
fn eligible<'a>(
    desc: &TopologyDescription,
    rp: &ReadPreference,
    servers: Vec<&'a ServerDescription>,
) -> Vec<&'a ServerDescription> {
    let fresh: Vec<&ServerDescription> = match rp.max_staleness {
        None => servers,
        Some(max) => {
            let max_ms = i64::try_from(max.as_millis()).unwrap_or(i64::MAX);
            servers
                .into_iter()
                .filter(|s| staleness_ms(s, desc) <= max_ms)
                .collect()
        }
    };
    if rp.tag_sets.is_empty() {
        return fresh;
    }
    for tag_set in &rp.tag_sets {
        let matching: Vec<&ServerDescription> = fresh
            .iter()
            .copied()
            .filter(|s| s.matches_tag_set(tag_set))
            .collect();
        if !matching.is_empty() {
            return matching;
        }
    }
    Vec::new()
}
