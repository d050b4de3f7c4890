//! The journal on SQLite, and on PostgreSQL when `LEVFARM_TEST_POSTGRES_URL` names a server
//! (CI starts one and sets it; under CI the PostgreSQL run is required).

mod support;

use levfarm_server::{Backend, Journal, JournalError};

/// Appends, reopens, reads back; a second writer is refused; nothing acknowledged is lost.
async fn journal_keeps_every_acknowledged_command(url: &str, backend: Backend) {
    let mut j = Journal::open(url).await.unwrap();
    assert_eq!((j.backend(), j.next_seq()), (backend, 1));
    let bodies = [r#"{"op":"a"}"#, r#"{"op":"b","x":"ü ✓"}"#, r#"{"op":"c"}"#];
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(j.append(body).await.unwrap(), i as u64 + 1);
    }
    j.close().await;

    // A restart finds every command, in order, and carries on numbering.
    let mut j = Journal::open(url).await.unwrap();
    assert_eq!(j.next_seq(), 4);
    let all = j.read(1).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all.iter().map(|e| e.body.as_str()).collect::<Vec<_>>(), bodies);
    assert_eq!(j.read(3).await.unwrap().len(), 1);
    assert!(j.read(4).await.unwrap().is_empty());

    // A second writer that opened the same store earlier cannot slip its command in.
    let mut other = Journal::open(url).await.unwrap();
    assert_eq!(j.append(r#"{"op":"d"}"#).await.unwrap(), 4);
    match other.append(r#"{"op":"intruder"}"#).await {
        Err(JournalError::Conflict { seq: 4, .. }) => {}
        r => panic!("expected a conflict at 4, got {r:?}"),
    }
    assert_eq!(j.read(4).await.unwrap()[0].body, r#"{"op":"d"}"#);
    other.close().await;
    j.close().await;
}

#[tokio::test]
async fn sqlite_journal_keeps_every_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("journal.db").display());
    journal_keeps_every_acknowledged_command(&url, Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_journal_keeps_every_acknowledged_command() {
    let Some(url) = support::postgres_url() else { return };
    // This is the only test that uses the server's database: start from an empty journal.
    let j = Journal::open(&url).await.unwrap();
    j.close().await;
    let pool = sqlx::postgres::PgPool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE levfarm_journal").execute(&pool).await.unwrap();
    pool.close().await;
    journal_keeps_every_acknowledged_command(&url, Backend::Postgres).await;
    // A wrong password fails at once, naming the server but not the password.
    let (head, tail) = url.split_at(url.rfind('@').unwrap());
    let user = &head[..head.rfind(':').unwrap()];
    let wrong = format!("{user}:not-the-password{tail}");
    let e = Journal::open(&wrong).await.unwrap_err().to_string();
    assert!(e.contains(tail) && !e.contains("not-the-password"), "{e}");
}

#[tokio::test]
async fn bad_stores_get_located_errors() {
    let e = Journal::open("sqlite:/no/such/dir/journal.db").await.unwrap_err().to_string();
    assert!(e.starts_with("/no/such/dir/journal.db:"), "{e}");
    let e = Journal::open("redis://localhost").await.unwrap_err().to_string();
    assert!(e.contains("redis://localhost") && e.contains("sqlite:PATH"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db.db");
    std::fs::write(&path, "this is not a database, just text long enough to fill a header....")
        .unwrap();
    let e = Journal::open(&format!("sqlite:{}", path.display())).await.unwrap_err().to_string();
    assert!(e.contains("not-a-db.db"), "{e}");
}
