//! `levfarm serve` stops cleanly on SIGTERM: it exits 0 within seconds, leaves a snapshot of
//! its last state, and a restart serves the same state with no admin token printed again.
//! Bad configuration is refused with a located message and exit code 2.

#[path = "support/server.rs"]
mod server;

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use server::{call, client, Server};

#[test]
fn sigterm_stops_cleanly_and_a_restart_serves_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("j.db");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "store = \"sqlite:{}\"\nfeed = {{ kind = \"push\" }}\nlog = \"json\"\n",
            store.display()
        ),
    )
    .unwrap();
    let http = client();
    let mut first = Server::start(&config);
    let (s, signed) = call(
        &http,
        "POST",
        &format!("{}/v1/accounts", first.base),
        None,
        Some(&json!({"name": "dana"})),
    )
    .unwrap();
    assert_eq!(s, 201, "{signed}");
    let token = signed["token"].as_str().unwrap().to_string();
    let (s, _) = call(
        &http,
        "POST",
        &format!("{}/v1/fund", first.base),
        Some(&token),
        Some(&json!({"token": "USDC", "amount": "123456789"})),
    )
    .unwrap();
    assert_eq!(s, 200);
    let (_, before) =
        call(&http, "GET", &format!("{}/v1/me", first.base), Some(&token), None).unwrap();
    let (_, health) = call(&http, "GET", &format!("{}/healthz", first.base), None, None).unwrap();
    let seq = health["seq"].as_u64().unwrap();

    let pid = first.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(waited < Duration::from_secs(20), "still running 20 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    };
    assert!(status.success(), "exit status {status}");
    let snapshot =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(
            async {
                let journal = levfarm_server::Journal::open(&format!("sqlite:{}", store.display()))
                    .await
                    .unwrap();
                journal.latest_snapshot().await.unwrap()
            },
        );
    assert_eq!(
        snapshot.map(|s| s.seq),
        Some(seq),
        "a clean stop leaves a snapshot of the last state"
    );

    let second = Server::start(&config);
    assert!(second.admin.is_none());
    let (s, after) =
        call(&http, "GET", &format!("{}/v1/me", second.base), Some(&token), None).unwrap();
    assert_eq!((s, &after), (200, &before));
    second.kill();
}

#[test]
fn bad_configuration_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str, extra: &[&str]| {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_levfarm"))
            .arg("serve")
            .arg(&config)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) =
        run("listen = \"127.0.0.1:0\"\nfeed = { kind = \"replay\", speed = 0 }\n", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.toml") && err.contains("feed.speed"), "{err}");
    let (code, err) = run("listne = 1\n", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.toml:1") && err.contains("unknown field `listne`"), "{err}");
    let (code, err) = run("", &["--store", "mysql://u:secret@h/db"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("expected sqlite:PATH or postgres://") && !err.contains("secret"),
        "{err}"
    );
    let missing = dir.path().join("no/such/dir/j.db");
    let (code, err) =
        run("", &["--store", &format!("sqlite:{}", missing.display()), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("does not exist"), "{err}");
}
