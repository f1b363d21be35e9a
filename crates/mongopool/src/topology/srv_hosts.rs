//! SRV polling's topology update (polling-srv spec), pure: the new host list in, the
//! servers to add and remove out.

use rand::seq::SliceRandom;
use rand::Rng;

use super::action::TopologyAction;
use super::description::{TopologyDescription, TopologyType};
use super::server_description::ServerDescription;
use super::update::membership_changes;
use crate::address::ServerAddress;

impl TopologyDescription {
    /// Applies the hosts of an SRV rescan. Only a topology that is Unknown or Sharded
    /// follows SRV records, and an empty list changes nothing (the spec: a failed or
    /// empty lookup leaves the topology alone). Hosts no longer listed are removed;
    /// unchanged hosts keep their description; new hosts come in as Unknown, picked at
    /// random with `rng` when `srvMaxHosts` caps their number.
    pub fn apply_srv_hosts(
        &self,
        hosts: Vec<ServerAddress>,
        rng: &mut impl Rng,
    ) -> (TopologyDescription, Vec<TopologyAction>) {
        if hosts.is_empty()
            || !matches!(
                self.topology_type,
                TopologyType::Unknown | TopologyType::Sharded
            )
        {
            return (self.clone(), Vec::new());
        }
        let mut next = self.clone();
        next.servers.retain(|s| hosts.contains(&s.address));
        let mut new_hosts: Vec<ServerAddress> = Vec::new();
        for h in hosts {
            if next.position(&h).is_none() && !new_hosts.contains(&h) {
                new_hosts.push(h);
            }
        }
        let max = match self.settings.srv_max_hosts {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => usize::MAX,
        };
        if next.servers.len() + new_hosts.len() > max {
            new_hosts.shuffle(rng);
        }
        for h in new_hosts {
            if next.servers.len() >= max {
                break;
            }
            next.servers.push(ServerDescription::unknown(h));
        }
        next.refresh_derived_fields();
        let actions = membership_changes(self, &next);
        (next, actions)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::topology::TopologySettings;

    fn addr(h: &str) -> ServerAddress {
        ServerAddress::tcp(h, 27017)
    }

    fn topology(seeds: &[&str], max: Option<u32>) -> TopologyDescription {
        let settings = TopologySettings {
            seeds: seeds.iter().map(|h| addr(h)).collect(),
            srv: true,
            srv_max_hosts: max,
            ..TopologySettings::default()
        };
        TopologyDescription::new(&settings).0
    }

    #[test]
    fn adds_and_removes_hosts() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let td = topology(&["a", "b"], None);
        let (next, actions) = td.apply_srv_hosts(vec![addr("b"), addr("c")], &mut rng);
        let names: Vec<String> = next.servers().map(|s| s.address.to_string()).collect();
        assert_eq!(names, ["b:27017", "c:27017"]);
        assert_eq!(
            actions,
            [
                TopologyAction::RemoveServer(addr("a")),
                TopologyAction::AddServer(addr("c"))
            ]
        );
        let (same, none) = td.apply_srv_hosts(Vec::new(), &mut rng);
        assert_eq!(same.servers().len(), 2);
        assert!(none.is_empty());
    }

    #[test]
    fn srv_max_hosts_caps_new_hosts() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let td = topology(&["a", "b"], Some(2));
        let (next, _) = td.apply_srv_hosts(vec![addr("b"), addr("c"), addr("d")], &mut rng);
        assert_eq!(next.servers().len(), 2);
        assert!(next.server(&addr("b")).is_some());
    }
}
