//! The `token-service` binary: parse the subcommand, run it, exit 2 on a start-up error.

use std::process::ExitCode;

fn main() -> ExitCode {
    match token_service::cli::main(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("token-service: {error}");
            ExitCode::from(2)
        }
    }
}
