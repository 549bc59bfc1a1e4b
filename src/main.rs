//! The `ferrid` binary: everything lives in the library; this only runs the command line.

fn main() -> std::process::ExitCode {
    ferrid::cli::run()
}
