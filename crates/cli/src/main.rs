//! The `takedown` command line.
//!
//! A thin layer: it parses arguments, reads files, and prints; the work is done by the library
//! crates (`takedown-hasher`, `takedown-index`, `takedown-exchange`, ...). Output goes to stdout
//! as JSON lines by default (one object per line, easy to pipe into `jq`) or as a table with
//! `--format table`; problems go to stderr as `takedown: PATH: message` lines.

mod commands;
mod database;
mod inputs;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find, refer, verify and measure: fingerprints and matching for known terrorist propaganda.
#[derive(Debug, Parser)]
#[command(name = "takedown", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fingerprint files (images, video, audio, text: PDQ, vPDQ, audio, text signals and digests); directories are walked.
    Hash(commands::hash::HashArgs),
    /// Match images, directories or raw hashes against a bank file (CSV or JSON lines).
    Match(commands::matching::MatchArgs),
    /// The Hamming distance between two images or hashes.
    Compare(commands::compare::CompareArgs),
    /// Write generated sample images (never real propaganda) and a bank of their hashes, then
    /// match the copies against it.
    Samples(commands::samples::SamplesArgs),
    /// Organisations (instance administration).
    Org(commands::org::OrgArgs),
    /// API tokens: create (prints the secret alone), list, revoke.
    Token(commands::org::TokenArgs),
    /// Banks: create, list, share, import and export hash lists.
    Bank(commands::bank::BankArgs),
    /// The hash-chained audit log: verify, list.
    Audit(commands::audit::AuditArgs),
    /// Write the demo data (organisations, tokens, banks of generated images) into a database.
    Demo(commands::demo::DemoArgs),
    /// Serve the matching service: HMA-compatible routes and /api/v1 (see README).
    Serve(commands::serve::ServeArgs),
    /// Outlet release logs: import (CSV or JSON lines), list, outlets.
    Release(commands::release::ReleaseArgs),
    /// Disruption operations to measure: create, list, show.
    Operation(commands::operation::OperationArgs),
    /// Reports: an operation's impact, the transparency report (HTML and JSON).
    Report(commands::report::ReportArgs),
    /// Submit URLs to fetch, fingerprint, match and record; list observations.
    Url(commands::url::UrlArgs),
    /// Review cases: list, show, decide (confirm or reject).
    Case(commands::case::CaseArgs),
    /// Hosting providers and their domain-suffix rules.
    Provider(commands::provider::ProviderArgs),
    /// Referrals to providers: create, list, show, export, send, mark.
    Referral(commands::referral::ReferralArgs),
    /// Deliver queued referrals and run due URL checks; the check queue's state.
    Check(commands::check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => commands::hash::run(args),
        Command::Match(args) => commands::matching::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Samples(args) => commands::samples::run(args),
        Command::Org(args) => commands::org::run_org(args),
        Command::Token(args) => commands::org::run_token(args),
        Command::Bank(args) => commands::bank::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Release(args) => commands::release::run(args),
        Command::Operation(args) => commands::operation::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Url(args) => commands::url::run(args),
        Command::Case(args) => commands::case::run(args),
        Command::Provider(args) => commands::provider::run(args),
        Command::Referral(args) => commands::referral::run(args),
        Command::Check(args) => commands::check::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            if output::is_broken_pipe(&error) {
                // `takedown hash dir | head` is normal use, not a failure.
                return ExitCode::SUCCESS;
            }
            eprintln!("takedown: {error:#}");
            ExitCode::from(2)
        }
    }
}
