//! `levfarm serve` as a child process on a free loopback port, and a small blocking client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running server.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The admin token, on the first start of a store only.
    pub admin: Option<String>,
}

impl Server {
    /// Starts `levfarm serve CONFIG` and waits (at most 60 s) until it listens.
    pub fn start(config: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_levfarm"))
            .args(["serve", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("levfarm serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut base, mut admin) = (None, None);
        while base.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the server printed its address within 60 s");
            if let Some(rest) = line.strip_prefix("levfarm serve: http://") {
                base = Some(format!("http://{}", rest.split_whitespace().next().unwrap()));
            } else if let Some(token) =
                line.strip_prefix("admin token (shown once; stored only as a hash): ")
            {
                admin = Some(token.to_string());
            } else {
                assert!(!line.starts_with("levfarm serve:"), "the server failed: {line}");
            }
        }
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Server { child, base: base.unwrap(), admin }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// One call; the status and JSON body, or `None` when the server could not be reached.
pub fn call(
    client: &reqwest::blocking::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(b);
    }
    let response = request.send().ok()?;
    let status = response.status().as_u16();
    let value = response.json().unwrap_or(Value::Null);
    Some((status, value))
}
