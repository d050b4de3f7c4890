//! A CSV file read record by record into one reused buffer, with case-insensitive header
//! lookup and cells located by line and column for error messages.

use csv::{ByteRecord, ErrorKind, Reader, ReaderBuilder, Trim};

use super::error::{DataError, Location};
use super::time::parse_time;

/// Headers recognised as the time column, in no particular order: the first column (left to
/// right) whose header is one of these is used.
pub const TIME_COLUMNS: &[&str] =
    &["time", "timestamp", "unix_s", "unix", "date", "date_utc", "datetime", "datetime_utc", "day"];

/// An open CSV table: its headers and a cursor on the current record.
pub(crate) struct Table<'a> {
    source: &'a str,
    headers: Vec<String>,
    lower: Vec<String>,
    reader: Reader<&'a [u8]>,
    record: ByteRecord,
    rows: u64,
    lines: Lines<'a>,
}

/// Counts lines up to a byte offset, moving forward only. The csv crate's own line numbers
/// are off by one for CRLF files and stay at 1 for CR-only files, so lines are counted here.
struct Lines<'a> {
    text: &'a [u8],
    /// `\n`, or `\r` for a file without any `\n`.
    newline: u8,
    counted_to: usize,
    line: u64,
}

impl Lines<'_> {
    /// The 1-based line of the record whose position is `byte`: line ends just before a
    /// record are skipped, as the position may point at the `\n` of a CRLF.
    fn at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.counted_to {
            let skipped = self.text.get(self.counted_to..start).unwrap_or_default();
            self.line += skipped.iter().filter(|&&b| b == self.newline).count() as u64;
            self.counted_to = start;
        }
        self.line
    }
}

impl<'a> Table<'a> {
    /// Reads the header line; refuses an empty file.
    pub(crate) fn open(source: &'a str, text: &'a str) -> Result<Table<'a>, DataError> {
        if text.trim().is_empty() {
            return Err(DataError::file(source, "the file is empty"));
        }
        let mut reader = ReaderBuilder::new().trim(Trim::All).from_reader(text.as_bytes());
        let header = reader
            .byte_headers()
            .map_err(|e| DataError::file(source, format!("not readable as CSV: {e}")))?;
        let headers: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        // Headers are shown as text a terminal prints: a NUL or a newline in one is escaped.
        let headers: Vec<String> =
            headers.iter().map(|h| levfarm_core::market::strict_json::printable_line(h)).collect();
        let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
        // Two columns of one name: which one a reader takes would be a guess.
        for (i, name) in lower.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
            if let Some(j) = lower[i + 1..].iter().position(|other| other == name) {
                return Err(DataError::file(
                    source,
                    format!(
                        "the column {:?} is named twice (columns {} and {}); rename one",
                        headers[i],
                        i + 1,
                        i + j + 2
                    ),
                ));
            }
        }
        let newline = if text.contains('\n') { b'\n' } else { b'\r' };
        let lines = Lines { text: text.as_bytes(), newline, counted_to: 0, line: 1 };
        Ok(Table { source, headers, lower, reader, record: ByteRecord::new(), rows: 0, lines })
    }

    /// The index of the first column named `name` (ignoring case).
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.lower.iter().position(|h| h.eq_ignore_ascii_case(name))
    }

    /// The index of column `name`, or a file error listing the columns there are.
    pub(crate) fn require(&self, name: &str) -> Result<usize, DataError> {
        self.column(name).ok_or_else(|| self.missing(&format!("no {name:?} column")))
    }

    /// The first column (left to right) whose header is one of [`TIME_COLUMNS`].
    pub(crate) fn time_column(&self) -> Result<usize, DataError> {
        self.lower.iter().position(|h| TIME_COLUMNS.contains(&h.as_str())).ok_or_else(|| {
            self.missing(&format!("no time column; expected one of {}", TIME_COLUMNS.join(", ")))
        })
    }

    /// A file error naming what is missing and listing the columns there are.
    pub(crate) fn missing(&self, what: &str) -> DataError {
        DataError::file(self.source, format!("{what} (columns: {})", self.headers.join(", ")))
    }

    /// Moves to the next record; `false` at the end of the file.
    pub(crate) fn next(&mut self) -> Result<bool, DataError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(more) => {
                self.rows += u64::from(more);
                if let Some(pos) = self.record.position() {
                    self.lines.at(pos.byte());
                }
                Ok(more)
            }
            Err(e) => Err(self.csv_error(&e)),
        }
    }

    /// How many data records have been read.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The 1-based line of the current record (the header is line 1).
    pub(crate) fn line(&self) -> u64 {
        self.lines.line
    }

    /// The trimmed text of column `col` in the current record.
    pub(crate) fn cell(&self, col: usize) -> Result<&str, DataError> {
        let bytes = self.record.get(col).unwrap_or_default();
        std::str::from_utf8(bytes).map_err(|_| self.invalid(col, "the cell is not UTF-8 text"))
    }

    /// The time in column `col` of the current record, as Unix seconds.
    pub(crate) fn time(&self, col: usize) -> Result<i64, DataError> {
        parse_time(self.cell(col)?).map_err(|message| self.invalid(col, message))
    }

    /// An error at column `col` of the current record.
    pub(crate) fn invalid(&self, col: usize, message: impl Into<String>) -> DataError {
        let header = self.headers.get(col).cloned().unwrap_or_default();
        let at = Location::Cell { line: self.line(), column: col + 1, header };
        DataError::at(self.source, at, message)
    }

    /// A CSV syntax error, at its line where the csv crate gives one.
    fn csv_error(&mut self, error: &csv::Error) -> DataError {
        match error.kind() {
            ErrorKind::UnequalLengths { pos, expected_len, len } => {
                let line = pos.as_ref().map_or(self.line(), |p| self.lines.at(p.byte()));
                let fields = if *len == 1 { "field" } else { "fields" };
                let message =
                    format!("the row has {len} {fields} but the header has {expected_len}");
                DataError::at(self.source, Location::line(line), message)
            }
            _ => DataError::file(self.source, format!("not readable as CSV: {error}")),
        }
    }
}
