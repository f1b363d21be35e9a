//! Runs the CMAP spec tests (`tests/spec/cmap-format/`, or the directory named by
//! `CMAP_SPEC_DIR`). See `tests/cmap_support/`.

mod cmap_support;
mod support;

fn main() {
    std::process::exit(cmap_support::main_in(
        "CMAP_SPEC_DIR",
        "tests/spec/cmap-format",
    ));
}
