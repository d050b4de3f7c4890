//! [`DataError`]: every way a data file can be refused, each located at the file, line, cell or
//! parquet row that failed, so a user can open the file at the right place.

use std::fmt;

use super::time::iso;
use super::Gap;

/// Where in a file a problem lies; its `Display` is the part between the file name and the
/// message (`":17:5 (close)"`, `": row 3 column close"`, or nothing for the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// The file as a whole.
    File,
    /// A 1-based line of a CSV file (the header is line 1).
    Line {
        /// 1-based line number.
        line: u64,
    },
    /// One cell of a CSV file.
    Cell {
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The column's header, as written in the file.
        header: String,
    },
    /// A 1-based row of a parquet file (the first data row is row 1).
    Row {
        /// 1-based row number.
        row: u64,
    },
    /// One value of a parquet file.
    RowColumn {
        /// 1-based row number.
        row: u64,
        /// The column's name.
        column: String,
    },
}

impl Location {
    /// A CSV line.
    pub fn line(line: u64) -> Location {
        Location::Line { line }
    }

    /// A parquet row.
    pub fn row(row: u64) -> Location {
        Location::Row { row }
    }

    /// `"line 4"` or `"row 4"`: an earlier place named inside a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Location::File => "the file".to_owned(),
            Location::Line { line } | Location::Cell { line, .. } => format!("line {line}"),
            Location::Row { row } | Location::RowColumn { row, .. } => format!("row {row}"),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Line { line } => write!(f, ":{line}"),
            Location::Cell { line, column, header } => write!(f, ":{line}:{column} ({header})"),
            Location::Row { row } => write!(f, ": row {row}"),
            Location::RowColumn { row, column } => write!(f, ": row {row} column {column}"),
        }
    }
}

/// Why a data file was refused. Every message starts with the file (or bundled name) and,
/// where it helps, the line and column: `prices.csv:17:5 (close): "-3.2" is not a positive
/// price`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The path given.
        file: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A `bundled:` name that is not bundled.
    #[error("{name}: no such bundled data set; bundled: {known}")]
    UnknownBundled {
        /// The name asked for.
        name: String,
        /// The bundled names, comma separated.
        known: String,
    },
    /// A problem with the file as a whole: empty, header only, a missing column, too few bars.
    #[error("{file}: {message}")]
    File {
        /// The path or bundled name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A line, cell or row that cannot be used.
    #[error("{file}{at}: {message}")]
    Invalid {
        /// The path or bundled name.
        file: String,
        /// Where in the file.
        at: Location,
        /// What is wrong, quoting the cell.
        message: String,
    },
    /// Missing bars under [`GapPolicy::Error`](super::GapPolicy::Error).
    #[error("{file}{at}: {}", gap_message(.first, *.count))]
    Gaps {
        /// The path or bundled name.
        file: String,
        /// The bar just after the first gap.
        at: Location,
        /// The first gap.
        first: Gap,
        /// How many gaps the (windowed) series has.
        count: usize,
    },
    /// A parquet file given to a build without the `parquet` feature.
    #[error(
        "{file}: reading parquet files needs the \"parquet\" feature; \
         build with --features parquet, or convert the file to CSV"
    )]
    ParquetDisabled {
        /// The path given.
        file: String,
    },
}

impl DataError {
    /// A whole-file error.
    pub(crate) fn file(file: &str, message: impl Into<String>) -> DataError {
        DataError::File { file: file.to_owned(), message: message.into() }
    }

    /// An error at a line, cell or row.
    pub(crate) fn at(file: &str, at: Location, message: impl Into<String>) -> DataError {
        DataError::Invalid { file: file.to_owned(), at, message: message.into() }
    }
}

fn gap_message(first: &Gap, count: usize) -> String {
    let bars = if first.missing == 1 { "bar" } else { "bars" };
    let gaps = if count == 1 { "gap" } else { "gaps" };
    format!(
        "{} {bars} missing between {} and {} ({count} {gaps} in all); choose --gaps fill \
         (carry the previous close forward) or a --start/--end window without gaps",
        first.missing,
        iso(first.after),
        iso(first.before),
    )
}

/// A cell's text in a message: quoted, control characters escaped, and cut after 40
/// characters with its length, so that a 100,000-digit cell is not echoed whole.
pub(crate) struct Shown<'a>(pub &'a str);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KEEP: usize = 40;
        let n = self.0.chars().count();
        if n <= KEEP {
            return write!(f, "{:?}", self.0);
        }
        let head: String = self.0.chars().take(KEEP).collect();
        write!(f, "{head:?}… ({n} characters)")
    }
}
