//! `takedown bank`: create, list, share, and bulk import and export hash lists.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use takedown_engine::{Caller, EngineConfig, ImportRequest, NewBankRequest};
use takedown_exchange::HashListFormat;

use crate::database::{block_on, open_engine, DatabaseArgs};
use crate::output;

/// `takedown bank ...`
#[derive(Debug, clap::Args)]
pub struct BankArgs {
    #[command(subcommand)]
    command: BankCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// File format flag for import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FileFormat {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl From<FileFormat> for HashListFormat {
    fn from(format: FileFormat) -> Self {
        match format {
            FileFormat::Csv => HashListFormat::Csv,
            FileFormat::Jsonl => HashListFormat::JsonLines,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum BankCommand {
    /// Create a bank owned by an organisation.
    Create {
        /// Bank name, `[A-Z_][A-Z0-9_]*`.
        name: String,
        /// Owning organisation.
        #[arg(long)]
        org: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List banks with their owners and item counts.
    List,
    /// Let another organisation see and match against a bank (or stop, with --revoke).
    Share {
        /// The bank.
        name: String,
        /// The organisation to share with.
        #[arg(long)]
        with: String,
        /// Stop sharing instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Import a hash list (CSV or JSON lines) into a bank, all or nothing.
    Import {
        /// The bank.
        name: String,
        /// The file (`-` for standard input).
        file: PathBuf,
        /// Format (default: from the file name, else from the first byte).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
    },
    /// Export a bank as a hash list, one row per signal.
    Export {
        /// The bank.
        name: String,
        /// Where to write (standard output if not given).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Format.
        #[arg(long, value_enum, default_value = "csv")]
        format: FileFormat,
    },
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.read.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

/// Runs `takedown bank`.
pub fn run(args: BankArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let cli = Caller::cli();
        match args.command {
            BankCommand::Create {
                name,
                org,
                description,
            } => {
                let org = engine.organisation_by_name(&org).await?;
                let bank = engine
                    .create_bank(
                        &cli,
                        NewBankRequest {
                            name,
                            description,
                            matching_enabled: true,
                            owner: Some(org.id),
                        },
                    )
                    .await?;
                println!("{}", json!({"id": bank.id.0, "name": bank.name.as_str()}));
            }
            BankCommand::List => {
                let organisations = engine.organisations(&cli).await?;
                let org_name = |id| {
                    organisations
                        .iter()
                        .find(|org| org.id == id)
                        .map_or(String::new(), |org| org.name.clone())
                };
                for bank in engine.banks(&cli).await? {
                    let count = engine.store().content_count(bank.id).await?;
                    let shared: Vec<String> =
                        bank.shared_with.iter().map(|id| org_name(*id)).collect();
                    println!(
                        "{}",
                        json!({
                            "name": bank.name.as_str(),
                            "owner": org_name(bank.owner),
                            "items": count,
                            "matching_enabled": bank.matching_enabled,
                            "shared_with": shared,
                        })
                    );
                }
            }
            BankCommand::Share { name, with, revoke } => {
                let bank = engine.set_bank_shared(&cli, &name, &with, !revoke).await?;
                println!(
                    "{}",
                    json!({"name": bank.name.as_str(), "shared_with_ids": bank.shared_with.iter().map(|o| o.0).collect::<Vec<_>>()})
                );
            }
            BankCommand::Import { name, file, format } => {
                let (reader, size, label): (Box<dyn Read + Send>, u64, String) =
                    if file.as_os_str() == "-" {
                        (Box::new(std::io::stdin()), 0, "stdin".into())
                    } else {
                        let handle = std::fs::File::open(&file)
                            .with_context(|| format!("cannot open {}", file.display()))?;
                        let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
                        (Box::new(handle), size, file.display().to_string())
                    };
                let mut reader = std::io::BufReader::new(reader);
                let format = match format {
                    Some(format) => format.into(),
                    None => {
                        use std::io::BufRead;
                        let first = reader.fill_buf().context("cannot read the file")?;
                        let name = file.file_name().and_then(|n| n.to_str());
                        HashListFormat::detect(name, &first[..first.len().min(64)])
                    }
                };
                let read = Arc::new(AtomicU64::new(0));
                let bar = output::progress(size, "importing");
                let bar_for_rows = bar.clone();
                let watcher_bar = bar.clone();
                let watcher_read = read.clone();
                // The bar follows bytes read (the file's size is known, its row count is not).
                let watcher = tokio::spawn(async move {
                    loop {
                        watcher_bar.set_position(watcher_read.load(Ordering::Relaxed));
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                });
                let result = engine
                    .import_hash_list(
                        &cli,
                        ImportRequest {
                            bank: name,
                            format,
                            origin: label,
                            reader: Box::new(Counting {
                                inner: reader,
                                read: read.clone(),
                            }),
                            progress_every: 10_000,
                        },
                        &mut |progress| {
                            bar_for_rows.set_message(format!(
                                "importing: {} rows, {} new",
                                progress.rows, progress.added
                            ))
                        },
                    )
                    .await;
                watcher.abort();
                bar.finish_and_clear();
                let summary = result.context("import failed; nothing was imported")?;
                println!(
                    "{}",
                    json!({
                        "rows": summary.rows,
                        "added": summary.added,
                        "unchanged": summary.unchanged,
                        "audit_sequence": summary.audit_sequence,
                    })
                );
            }
            BankCommand::Export {
                name,
                output,
                format,
            } => {
                let mut writer: Box<dyn Write + Send> = match &output {
                    Some(path) => Box::new(std::io::BufWriter::new(
                        std::fs::File::create(path)
                            .with_context(|| format!("cannot create {}", path.display()))?,
                    )),
                    None => Box::new(std::io::BufWriter::new(std::io::stdout())),
                };
                let rows = engine
                    .export_hash_list(&cli, &name, format.into(), &mut writer)
                    .await?;
                writer.flush()?;
                eprintln!("takedown: exported {rows} rows from bank {name}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
