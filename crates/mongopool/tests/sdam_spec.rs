//! Runs the SDAM spec tests (`tests/spec/sdam/{single,rs,sharded,errors,monitoring,
//! load-balanced}`, or the same subfolders of the directory named by `SDAM_SPEC_DIR`)
//! against the pure topology layer: no sockets, no clock. See `tests/sdam_support/`.

mod sdam_support;
mod spec_support;

fn main() {
    let dir = spec_support::spec_dir("SDAM_SPEC_DIR", "tests/spec/sdam");
    std::process::exit(spec_support::run_all(
        "sdam",
        &dir,
        sdam_support::SUBDIRS,
        sdam_support::run_file,
    ));
}
