//! Runs the max staleness spec tests (`tests/spec/max-staleness/`, or the same
//! subfolders of `MAX_STALENESS_SPEC_DIR`) against the pure selection layer. See
//! `tests/selection_support/`.

mod selection_support;
mod spec_support;

fn main() {
    let dir = spec_support::spec_dir("MAX_STALENESS_SPEC_DIR", "tests/spec/max-staleness");
    std::process::exit(spec_support::run_all(
        "max-staleness",
        &dir,
        &[
            "ReplicaSetNoPrimary",
            "ReplicaSetWithPrimary",
            "Sharded",
            "Single",
            "Unknown",
        ],
        selection_support::run_file,
    ));
}
