//! The `igsync` executable: everything lives in the library; see [`igsync::run_main`].

fn main() -> std::process::ExitCode {
    igsync::run_main()
}
