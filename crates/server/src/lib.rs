//! `levfarm serve`'s foundations: the durable command journal the service's single writer
//! appends to before it acknowledges a command, and replays on start.
//!
//! ```no_run
//! # async fn demo() -> Result<(), levfarm_server::JournalError> {
//! use levfarm_server::Journal;
//! let mut journal = Journal::open("sqlite:levfarm.db").await?;
//! let seq = journal.append(r#"{"op":"advance_time","seconds":3600}"#).await?;
//! // The entry is on disk now; a restart reads it back in order.
//! let entries = journal.read(1).await?;
//! assert_eq!(entries.last().map(|e| e.seq), Some(seq));
//! # Ok(()) }
//! ```

pub mod journal;

pub use journal::{Backend, Entry, Journal, JournalError};
