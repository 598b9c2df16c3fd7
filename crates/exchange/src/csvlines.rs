//! CSV records as `column -> text` maps with the line number a user's editor shows, and JSON
//! lines flattened the same way, for readers that validate fields themselves.
//!
//! The `csv` crate skips empty lines without counting them and reports a record's position as
//! the start of any empty lines before it, so line numbers are recovered from the bytes: a
//! reader wrapper remembers where each newline is and whether its line was empty. (Same
//! technique as [`crate::hashlist`], kept separate so that format's tested reader is not
//! disturbed.)

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex, PoisonError};

use crate::RowError;

/// Column name (lowercase, trimmed) -> non-empty value.
pub(crate) type Fields = BTreeMap<String, String>;

type Newlines = Arc<Mutex<VecDeque<(u64, bool)>>>;

struct NewlineTracker<R> {
    inner: R,
    offset: u64,
    line_is_empty: bool,
    /// (offset of a newline, whether the line it ends is empty apart from `\r`).
    newlines: Newlines,
}

impl<R: Read> Read for NewlineTracker<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        let mut newlines = self.newlines.lock().unwrap_or_else(PoisonError::into_inner);
        for (index, byte) in buffer[..count].iter().enumerate() {
            match byte {
                b'\n' => {
                    newlines.push_back((self.offset + index as u64, self.line_is_empty));
                    self.line_is_empty = true;
                }
                b'\r' => {}
                _ => self.line_is_empty = false,
            }
        }
        self.offset += count as u64;
        Ok(count)
    }
}

/// CSV records with line numbers. `check_header` sees the lowercase column names and may
/// refuse them (reported at line 1). Blank records are skipped; an unreadable record ends the
/// iteration with its error.
pub(crate) fn csv_records<R: Read + Send>(
    reader: R,
    check_header: impl Fn(&[String]) -> Result<(), String> + Send,
) -> impl Iterator<Item = Result<(u64, Fields), RowError>> + Send {
    let newlines: Newlines = Arc::new(Mutex::new(VecDeque::new()));
    let tracker = NewlineTracker {
        inner: reader,
        offset: 0,
        line_is_empty: true,
        newlines: newlines.clone(),
    };
    let mut lines_before = 0u64;
    // Line of the record whose parse started at byte `start`: one more than the newlines
    // before it, plus the empty lines the parser skipped from there.
    let mut line_at = move |start: u64| {
        let mut pending = newlines.lock().unwrap_or_else(PoisonError::into_inner);
        while pending.front().is_some_and(|&(offset, _)| offset <= start) {
            pending.pop_front();
            lines_before += 1;
        }
        while pending.front().is_some_and(|&(_, empty)| empty) {
            pending.pop_front();
            lines_before += 1;
        }
        lines_before + 1
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(tracker);
    let mut header_error = None;
    let header: Vec<String> = match csv.headers() {
        Ok(h) => h.iter().map(|n| n.trim().to_ascii_lowercase()).collect(),
        Err(error) => {
            header_error = Some(format!("cannot read the header row: {error}"));
            Vec::new()
        }
    };
    if header_error.is_none() {
        header_error = check_header(&header).err();
    }
    let mut header_error = header_error.map(|message| RowError { line: 1, message });
    let mut records = csv.into_records();
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        if let Some(error) = header_error.take() {
            finished = true;
            return Some(Err(error));
        }
        loop {
            let record = match records.next()? {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(0, |p| line_at(p.byte()));
                    finished = true;
                    return Some(Err(RowError {
                        line,
                        message: format!("unreadable CSV: {error}"),
                    }));
                }
            };
            let line = record.position().map_or(0, |p| line_at(p.byte()));
            if record.iter().all(str::is_empty) {
                continue;
            }
            let fields = header
                .iter()
                .zip(record.iter())
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), value.to_string()))
                .collect();
            return Some(Ok((line, fields)));
        }
    })
}

/// JSON objects, one per line, with line numbers; blank lines are skipped. Values are
/// flattened to text by `flatten(line, key, value, &mut fields)`.
pub(crate) fn json_records<R: Read + Send>(
    reader: R,
    flatten: impl Fn(u64, &str, &serde_json::Value, &mut Fields) -> Result<(), RowError> + Send,
) -> impl Iterator<Item = Result<(u64, Fields), RowError>> + Send {
    let mut lines = BufReader::new(reader).lines();
    let mut line_number = 0u64;
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        loop {
            line_number += 1;
            let text = match lines.next()? {
                Ok(text) => text,
                Err(error) => {
                    finished = true;
                    return Some(Err(RowError {
                        line: line_number,
                        message: format!("cannot read: {error}"),
                    }));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let line = line_number;
            let parsed = serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| RowError {
                    line,
                    message: format!("not valid JSON: {e}"),
                })
                .and_then(|value| match value {
                    serde_json::Value::Object(object) => {
                        let mut fields = Fields::new();
                        for (key, value) in &object {
                            flatten(line, key, value, &mut fields)?;
                        }
                        Ok((line, fields))
                    }
                    _ => Err(RowError {
                        line,
                        message: "each line must be a JSON object".into(),
                    }),
                });
            return Some(parsed);
        }
    })
}
