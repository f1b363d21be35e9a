//! Runs CMAP-format scenarios of this pool's own (`tests/spec/cmap-extra/`, or the
//! directory named by `CMAP_EXTRA_DIR`): behaviour beyond the spec, such as the bound on
//! waiters (`waitQueueMultiple`). Same runner as `cmap_spec`.

mod cmap_support;
mod support;

fn main() {
    std::process::exit(cmap_support::main_in(
        "CMAP_EXTRA_DIR",
        "tests/spec/cmap-extra",
    ));
}
