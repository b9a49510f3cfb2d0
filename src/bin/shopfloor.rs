//! The native command-line tool (feature `cli`, never in the wasm build).

use std::process::ExitCode;

const USAGE: &str = "usage: shopfloor <command>

commands:
  backends    print which backends this machine offers (JSON)
  version     print the SDK version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("backends") => {
            let backends = pollster::block_on(shopfloor::backend::probe());
            println!("{}", to_json(&backends));
            ExitCode::SUCCESS
        }
        Some("version") => {
            println!("{}", shopfloor::VERSION);
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            let what = other.map_or("no command".to_string(), |c| format!("unknown command \"{c}\""));
            eprintln!("INVALID_ARGUMENT: {what}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plain structs serialise")
}
