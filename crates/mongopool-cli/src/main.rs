//! The `mongopool` command-line tool.

fn main() {
    eprintln!("mongopool: no command yet; see README.md");
    std::process::exit(2);
}
