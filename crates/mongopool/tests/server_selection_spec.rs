//! Runs the server selection spec tests (`tests/spec/server-selection/{server_selection,
//! in_window,rtt}`, or the same subfolders of `SERVER_SELECTION_SPEC_DIR`) against the
//! pure selection layer. See `tests/selection_support/`.

mod selection_support;
mod spec_support;

fn main() {
    let dir = spec_support::spec_dir("SERVER_SELECTION_SPEC_DIR", "tests/spec/server-selection");
    std::process::exit(spec_support::run_all(
        "server-selection",
        &dir,
        &["server_selection", "in_window", "rtt"],
        selection_support::run_file,
    ));
}
