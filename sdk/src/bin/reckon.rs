//! The `reckon` binary: a thin wrapper over [`reckon_sdk::cli::run`].

fn main() {
    let stdout = std::io::stdout();
    let code = reckon_sdk::cli::run(std::env::args_os(), &mut stdout.lock());
    std::process::exit(code);
}
