//! The command journal: one row per acknowledged command, numbered from 1 with no gaps, on
//! SQLite (one file, zero set-up) or PostgreSQL (by URL).
//!
//! [`Journal::append`] returns only once the row is committed: SQLite runs in WAL mode with
//! `synchronous = FULL`, so a commit has reached the disk; PostgreSQL commits with its default
//! `synchronous_commit = on`. Sequence numbers are the primary key and the writer chooses
//! them, so a second writer on the same store fails with [`JournalError::Conflict`] instead of
//! interleaving its commands with the first's.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Row};

/// Where the journal lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One journalled command: its number and its body (the command as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("{url}: {message}")]
    Url { url: String, message: String },
    #[error("{store}: {source}")]
    Store { store: String, source: sqlx::Error },
    #[error(
        "{store}: command {seq} is already in the journal; another writer is using this store"
    )]
    Conflict { store: String, seq: u64 },
    #[error("{store}: the journal is damaged: {message}")]
    Damaged { store: String, message: String },
}

/// The journal of one store, opened by its single writer.
#[derive(Debug)]
pub struct Journal {
    pool: AnyPool,
    backend: Backend,
    /// The store as the user named it, for messages (without any password).
    store: String,
    next: u64,
}

const TABLE: &str = "levfarm_journal";
const SNAPSHOTS: &str = "levfarm_snapshot";

/// A snapshot of the state after command `seq`, with the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub sha256: String,
    pub body: Vec<u8>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `url`: `sqlite:PATH` (created if missing) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub async fn open(url: &str) -> Result<Journal, JournalError> {
        sqlx::any::install_default_drivers();
        let (backend, connect, store) = parse(url)?;
        if backend == Backend::Sqlite {
            let parent =
                std::path::Path::new(&store).parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(dir) = parent.filter(|d| !d.is_dir()) {
                let message = format!("the directory {} does not exist", dir.display());
                return Err(JournalError::Url { url: store, message });
            }
        }
        let err = |source| JournalError::Store { store: store.clone(), source };
        // One direct connection first: the pool retries failed connections until its timeout,
        // and a wrong password or a file that is not a database should fail at once.
        let mut probe = AnyConnection::connect(&connect).await.map_err(err)?;
        let check = match backend {
            // Reads the file's header: a file that is not a database fails here.
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master",
            Backend::Postgres => "SELECT 1",
        };
        sqlx::query(check).execute(&mut probe).await.map_err(err)?;
        probe.close().await.map_err(err)?;
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect)
            .await
            .map_err(err)?;
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (seq BIGINT PRIMARY KEY, body TEXT NOT NULL)"
        );
        sqlx::query(&create).execute(&pool).await.map_err(err)?;
        let blob = if sqlite { "BLOB" } else { "BYTEA" };
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {SNAPSHOTS} (seq BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, body {blob} NOT NULL)"
        );
        sqlx::query(&create).execute(&pool).await.map_err(err)?;
        let last: Option<i64> = sqlx::query(&format!("SELECT MAX(seq) FROM {TABLE}"))
            .fetch_one(&pool)
            .await
            .and_then(|row: AnyRow| row.try_get(0))
            .map_err(err)?;
        let rows: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {TABLE}"))
            .fetch_one(&pool)
            .await
            .and_then(|row: AnyRow| row.try_get(0))
            .map_err(err)?;
        let last = last.unwrap_or(0);
        if last != rows {
            return Err(JournalError::Damaged {
                store,
                message: format!("{rows} commands numbered up to {last}: some are missing"),
            });
        }
        Ok(Journal { pool, backend, store, next: last as u64 + 1 })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The number the next appended command gets.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Appends one command; when this returns `Ok`, the command is durable.
    pub async fn append(&mut self, body: &str) -> Result<u64, JournalError> {
        let seq = self.next;
        let insert = format!("INSERT INTO {TABLE} (seq, body) VALUES ($1, $2)");
        let done = sqlx::query(&insert).bind(seq as i64).bind(body).execute(&self.pool).await;
        match done {
            Ok(_) => {
                self.next += 1;
                Ok(seq)
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(JournalError::Conflict { store: self.store.clone(), seq })
            }
            Err(source) => Err(JournalError::Store { store: self.store.clone(), source }),
        }
    }

    /// Appends commands in one transaction: all of them are durable when this returns `Ok`,
    /// none when it fails. Returns the first one's number. One commit for many commands is
    /// what lets the writer keep up with many clients (group commit).
    pub async fn append_batch(&mut self, bodies: &[&str]) -> Result<u64, JournalError> {
        let first = self.next;
        let err = |source| JournalError::Store { store: self.store.clone(), source };
        let mut tx = self.pool.begin().await.map_err(err)?;
        let insert = format!("INSERT INTO {TABLE} (seq, body) VALUES ($1, $2)");
        for (i, body) in bodies.iter().enumerate() {
            let seq = first + i as u64;
            let done = sqlx::query(&insert).bind(seq as i64).bind(*body).execute(&mut *tx).await;
            match done {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(JournalError::Conflict { store: self.store.clone(), seq });
                }
                Err(source) => return Err(err(source)),
            }
        }
        tx.commit().await.map_err(err)?;
        self.next += bodies.len() as u64;
        Ok(first)
    }

    /// The last number in the store, read again: after an append failed in a way that may
    /// have committed anyway (a connection lost during the commit), this tells which it was.
    pub async fn last_stored(&self) -> Result<u64, JournalError> {
        let last: Option<i64> = sqlx::query(&format!("SELECT MAX(seq) FROM {TABLE}"))
            .fetch_one(&self.pool)
            .await
            .and_then(|row: AnyRow| row.try_get(0))
            .map_err(|source| JournalError::Store { store: self.store.clone(), source })?;
        Ok(last.unwrap_or(0) as u64)
    }

    /// Moves the next number past commands found stored by [`Self::last_stored`].
    pub fn resync(&mut self, last: u64) {
        self.next = last + 1;
    }

    /// The commands from number `from` on, in order.
    pub async fn read(&self, from: u64) -> Result<Vec<Entry>, JournalError> {
        self.read_page(from, i64::MAX as u64).await
    }

    /// At most `limit` commands from number `from` on, in order.
    pub async fn read_page(&self, from: u64, limit: u64) -> Result<Vec<Entry>, JournalError> {
        let select = format!("SELECT seq, body FROM {TABLE} WHERE seq >= $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(&select)
            .bind(from.min(i64::MAX as u64) as i64)
            .bind(limit.min(i64::MAX as u64) as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(|source| JournalError::Store { store: self.store.clone(), source })?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get(0)?;
                let body: String = row.try_get(1)?;
                Ok(Entry { seq: seq as u64, body })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|source| JournalError::Store { store: self.store.clone(), source })
    }

    /// Stores a snapshot of the state after command `seq` and drops all but the two newest.
    pub async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), JournalError> {
        let err = |source| JournalError::Store { store: self.store.clone(), source };
        let insert = format!(
            "INSERT INTO {SNAPSHOTS} (seq, sha256, body) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING"
        );
        sqlx::query(&insert)
            .bind(snapshot.seq as i64)
            .bind(snapshot.sha256.clone())
            .bind(snapshot.body.clone())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        let prune = format!(
            "DELETE FROM {SNAPSHOTS} WHERE seq < (SELECT MIN(seq) FROM (SELECT seq FROM {SNAPSHOTS} ORDER BY seq DESC LIMIT 2) AS newest)"
        );
        sqlx::query(&prune).execute(&self.pool).await.map_err(err)?;
        Ok(())
    }

    /// The newest snapshot, if any.
    pub async fn latest_snapshot(&self) -> Result<Option<Snapshot>, JournalError> {
        let select = format!("SELECT seq, sha256, body FROM {SNAPSHOTS} ORDER BY seq DESC LIMIT 1");
        let row = sqlx::query(&select)
            .fetch_optional(&self.pool)
            .await
            .map_err(|source| JournalError::Store { store: self.store.clone(), source })?;
        row.map(|row| {
            let seq: i64 = row.try_get(0)?;
            Ok(Snapshot { seq: seq as u64, sha256: row.try_get(1)?, body: row.try_get(2)? })
        })
        .transpose()
        .map_err(|source| JournalError::Store { store: self.store.clone(), source })
    }

    /// Closes the store's connections.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// The backend, the URL to connect with, and the store's name for messages.
fn parse(url: &str) -> Result<(Backend, String, String), JournalError> {
    let bad = |message: &str| JournalError::Url { url: redact(url), message: message.into() };
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() || path.contains('?') {
            return Err(bad("expected sqlite:PATH, a file path with no options"));
        }
        return Ok((Backend::Sqlite, format!("sqlite://{path}?mode=rwc"), path.to_string()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string(), redact(url)));
    }
    Err(bad("expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE"))
}

/// The URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{user}@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_hide_passwords() {
        let (b, connect, store) = parse("sqlite:data/levfarm.db").unwrap();
        assert_eq!(
            (b, connect.as_str(), store.as_str()),
            (Backend::Sqlite, "sqlite://data/levfarm.db?mode=rwc", "data/levfarm.db")
        );
        let (b, _, store) = parse("postgres://me:secret@127.0.0.1:5432/lf").unwrap();
        assert_eq!((b, store.as_str()), (Backend::Postgres, "postgres://me@127.0.0.1:5432/lf"));
        let e = parse("mysql://me:secret@host/db").unwrap_err().to_string();
        assert!(
            e.contains("mysql://me@host/db") && !e.contains("secret") && e.contains("expected"),
            "{e}"
        );
        assert!(parse("sqlite:").is_err());
        assert!(parse("sqlite:x.db?mode=ro").is_err());
    }
}
