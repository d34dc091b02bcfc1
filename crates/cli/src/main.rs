//! `gumbel-gadgets`: counterfactual reasoning with Gumbel-max mechanisms from the command line.
//!
//! JSON in (inline or as a path to a JSON file), JSON out on stdout. Bad input: one line on stderr
//! naming the problem, exit code 2, nothing on stdout.

mod counterfactual;
mod couple;
mod evaluate;
mod gadget;
mod input;
mod methods;
mod sepsis;
mod sweep;

use std::io::{ErrorKind, Write};

use clap::{Parser, Subcommand};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "gumbel-gadgets",
    version,
    about = "Couplings and counterfactuals of Gumbel-max causal mechanisms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The joint distribution of (x, y) under a coupling of p and q, with its summaries.
    Couple(couple::Args),
    /// The distribution of y given an observed x = K under the counterfactual q.
    Counterfactual(counterfactual::Args),
    /// Every method's mean E[C], Var[h(x) - h(y)] and P(x != y) over a file of pairs.
    Evaluate(evaluate::Args),
    /// Train a gadget from a JSON configuration and write a checkpoint.
    Train(gadget::TrainArgs),
    /// The sepsis simulator: its kernel, the off-policy evaluation study and the Section 7.3 pairs.
    Sepsis(sepsis::Args),
    /// A grid of training configurations: train and evaluate each point (or one shard's), or
    /// summarise them all, best first.
    Sweep(sweep::Args),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version.
            write_stdout(&error.to_string());
            return;
        }
        Err(error) => fail(&first_line(&error.to_string())),
    };
    let result = match cli.command {
        Command::Couple(args) => couple::run(&args),
        Command::Counterfactual(args) => counterfactual::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Train(args) => gadget::train(&args),
        Command::Sepsis(args) => sepsis::run(&args),
        Command::Sweep(args) => sweep::run(&args),
    };
    match result {
        // A text answer (evaluate --markdown) as it is.
        Ok(Value::String(text)) => write_stdout(&text),
        Ok(value) => print_json(&value),
        Err(error) => fail(&format!("{error:#}")),
    }
}

fn print_json(value: &Value) {
    match serde_json::to_string(value) {
        Ok(text) => write_stdout(&format!("{text}\n")),
        Err(error) => fail(&format!("could not write JSON: {error}")),
    }
}

/// Writes `text` to stdout. A reader that stopped reading (`| head`) is not an error: the rest is
/// dropped quietly. Any other write error (a full disk) fails with exit code 2.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::BrokenPipe => {}
        Err(error) => fail(&format!("could not write the output: {error}")),
    }
}

/// Prints `gumbel-gadgets: <message>` on one line to stderr and exits with code 2.
fn fail(message: &str) -> ! {
    eprintln!("gumbel-gadgets: {}", message.replace('\n', " "));
    std::process::exit(2);
}

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments").trim().to_owned()
}
