//! Bulk import and export of hash lists (CSV and JSON lines).

use std::io::{Read, Write};

use futures_util::TryStreamExt;
use takedown_exchange::{read_hash_list, write_hash_list, HashListFormat, HashListRow};
use takedown_model::{NewSignal, Permission};
use takedown_store::{
    ImportOptions, ImportProgress, ImportRow, ImportSummary, NewContent, RowError,
};

use crate::banks::algorithm_version;
use crate::{Caller, Engine, EngineResult};

/// A hash list to import into a bank.
pub struct ImportRequest<'a> {
    /// The bank (must be owned by the caller's organisation).
    pub bank: String,
    /// The file's format.
    pub format: HashListFormat,
    /// Where the rows come from (a file name), recorded in the audit log and as the items'
    /// source when a row names none.
    pub origin: String,
    /// The file's bytes.
    pub reader: Box<dyn Read + Send + 'a>,
    /// Report progress every this many rows.
    pub progress_every: u64,
}

impl Engine {
    /// Imports a hash list into a bank in one transaction: a bad row stops the import with its
    /// line number and nothing is kept; rows already in the bank are skipped, so importing the
    /// same file again changes nothing. The new items are matchable when this returns.
    pub async fn import_hash_list(
        &self,
        caller: &Caller,
        request: ImportRequest<'_>,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> EngineResult<ImportSummary> {
        caller.require(Permission::CurateBanks)?;
        let bank = self.bank(caller, &request.bank).await?;
        if let Some(org) = caller.org {
            if bank.owner != org {
                return Err(crate::EngineError::Forbidden(format!(
                    "bank {} is shared with your organisation, not owned by it",
                    bank.name
                )));
            }
        }
        let origin = request.origin.clone();
        let mut rows = read_hash_list(request.reader, request.format).map(move |row| {
            row.map(|row| import_row(row, &origin))
                .map_err(|error| RowError {
                    line: error.line,
                    message: error.message,
                })
        });
        let options = ImportOptions {
            progress_every: request.progress_every.max(1),
            origin: request.origin,
        };
        let summary = self
            .store
            .import_content(&caller.actor, bank.id, &mut rows, &options, progress)
            .await?;
        // The imported signals arrive through the change feed, in one batch.
        if self.is_ready() {
            self.catch_up().await?;
        }
        Ok(summary)
    }

    /// Writes every item of a bank as a hash list, one row per signal. Returns the row count.
    pub async fn export_hash_list(
        &self,
        caller: &Caller,
        bank: &str,
        format: HashListFormat,
        writer: &mut (dyn Write + Send),
    ) -> EngineResult<u64> {
        let bank = self.bank(caller, bank).await?;
        let mut items = takedown_store::export_content(self.store.clone(), bank.id);
        let mut rows = 0u64;
        let mut batch = Vec::new();
        let mut first = true;
        while let Some(content) = items.try_next().await? {
            for signal in &content.signals {
                batch.push(HashListRow {
                    line: 0,
                    signal_type: signal.signal_type,
                    value: signal.value.clone(),
                    labels: content.labels.clone(),
                    note: content.note.clone(),
                    source: (!content.source.is_empty()).then(|| content.source.clone()),
                    extra: Default::default(),
                });
            }
            if batch.len() >= 10_000 {
                rows += flush(writer, format, &mut batch, &mut first)?;
            }
        }
        rows += flush(writer, format, &mut batch, &mut first)?;
        if first {
            // An empty bank still gets its header row, so the file imports cleanly.
            write_hash_list(&mut *writer, format, &[])
                .map_err(|e| crate::EngineError::Internal(format!("cannot write export: {e}")))?;
        }
        Ok(rows)
    }
}

/// Writes a batch; only the first batch of a CSV carries the header row.
fn flush(
    writer: &mut (dyn Write + Send),
    format: HashListFormat,
    batch: &mut Vec<HashListRow>,
    first: &mut bool,
) -> EngineResult<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let count = batch.len() as u64;
    let result = if *first || format == HashListFormat::JsonLines {
        write_hash_list(&mut *writer, format, batch.iter())
    } else {
        let mut buffer = Vec::new();
        write_hash_list(&mut buffer, format, batch.iter()).and_then(|()| {
            // Drop the header line written for this batch.
            let body = buffer
                .iter()
                .position(|b| *b == b'\n')
                .map_or(&buffer[..0], |end| &buffer[end + 1..]);
            writer.write_all(body)
        })
    };
    result.map_err(|e| crate::EngineError::Internal(format!("cannot write export: {e}")))?;
    *first = false;
    batch.clear();
    Ok(count)
}

fn import_row(row: HashListRow, origin: &str) -> ImportRow {
    let source = row.source.unwrap_or_else(|| origin.to_string());
    ImportRow {
        line: row.line,
        content: NewContent {
            labels: row.labels,
            note: row.note,
            source,
            enabled: true,
            disabled_until: None,
            signals: vec![NewSignal {
                signal_type: row.signal_type,
                algorithm_version: algorithm_version(row.signal_type),
                value: row.value,
                quality: None,
            }],
        },
    }
}
