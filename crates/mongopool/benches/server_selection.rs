//! The cost of one server selection (suitable servers, staleness and tags, latency
//! window, two random choices) on replica sets of 3, 7 and 50 members: a read with
//! `secondaryPreferred` and two tag sets (the first matches no one, so both are
//! tried), and a write (the primary).
//!
//! Run: `cargo bench -p mongopool --bench server_selection`.

use std::hint::black_box;
use std::time::Duration;

use bson::rawdoc;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mongopool::topology::select_server;
use mongopool::topology::{
    SelectionCriteria, ServerDescription, ServerType, TopologyDescription, TopologySettings,
    TopologyType,
};
use mongopool::{ReadPreference, ReadPreferenceMode, ServerAddress};
use rand::SeedableRng;

fn replica_set(members: usize) -> TopologyDescription {
    let servers: Vec<ServerDescription> = (0..members)
        .map(|i| {
            let mut sd =
                ServerDescription::unknown(ServerAddress::tcp(format!("m{i}.example"), 27017));
            sd.server_type = match i {
                0 => ServerType::RsPrimary,
                _ => ServerType::RsSecondary,
            };
            sd.round_trip_time = Some(Duration::from_micros(500 + (i as u64 * 997) % 30_000));
            sd.max_wire_version = Some(25);
            sd.min_wire_version = Some(0);
            sd.tags
                .insert("dc".into(), ["east", "west", "north"][i % 3].into());
            sd.tags.insert("rack".into(), format!("r{}", i % 5));
            sd
        })
        .collect();
    let settings = TopologySettings {
        seeds: servers.iter().map(|s| s.address.clone()).collect(),
        ..TopologySettings::default()
    };
    TopologyDescription::from_servers(
        &settings,
        TopologyType::ReplicaSetWithPrimary,
        Some("rs".into()),
        servers,
    )
}

fn bench(c: &mut Criterion) {
    let tagged = SelectionCriteria::Read(ReadPreference {
        mode: ReadPreferenceMode::SecondaryPreferred,
        tag_sets: vec![rawdoc! {"dc": "south"}, rawdoc! {"dc": "east"}],
        max_staleness: None,
    });
    let write = SelectionCriteria::Write;
    let mut group = c.benchmark_group("server_selection");
    for members in [3usize, 7, 50] {
        let td = replica_set(members);
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for (name, criteria) in [("secondaryPreferred_tags", &tagged), ("primary", &write)] {
            group.bench_with_input(BenchmarkId::new(name, members), &td, |b, td| {
                b.iter(|| {
                    let s = select_server(
                        black_box(td),
                        criteria,
                        Duration::from_millis(15),
                        &[],
                        |a: &ServerAddress| a.port().map_or(0, u32::from) % 3,
                        &mut rng,
                    );
                    black_box(s.ok().flatten().map(|s| s.address.port()))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
