//! The `stp-hwbp` command: parses the command line and hands it to the driver. All real work
//! runs on a thread with a large stack, so that deeply nested (but accepted) scripts cannot
//! overflow it.

use clap::Parser;
use std::process::ExitCode;
use stp_hwbp::cli::Cli;
use stp_hwbp::driver;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let child = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || driver::main(cli));
    match child.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code as u8),
        _ => {
            eprintln!("stp-hwbp: internal error");
            ExitCode::from(101)
        }
    }
}
