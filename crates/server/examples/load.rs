//! Load on loopback: durable commands per second and reads per second, with p50 and p99
//! latency, against a real `levfarm serve` listening on 127.0.0.1 (in this process), bounded
//! in count and in time.
//!
//! ```text
//! cargo run --release -p levfarm-server --example load -- [--commands 20000] [--reads 50000]
//!     [--clients 32] [--seconds 60] [--store sqlite:PATH | postgres://...]
//! ```
//!
//! Commands are `POST /v1/fund` (each one journaled and committed before its answer); reads
//! are `GET /v1/positions/{id}` (health, both liquidation prices and the profit-and-loss
//! decomposition, computed exactly on every call).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use levfarm_server::state::FeedSpec;
use levfarm_server::Config;
use serde_json::{json, Value};

struct Args {
    commands: u64,
    reads: u64,
    clients: usize,
    seconds: u64,
    store: Option<String>,
}

fn args() -> Args {
    let mut a = Args { commands: 20_000, reads: 50_000, clients: 32, seconds: 60, store: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let n = || value.parse::<u64>().unwrap_or_else(|_| panic!("{flag}: not a number: {value}"));
        match flag.as_str() {
            "--commands" => a.commands = n(),
            "--reads" => a.reads = n(),
            "--clients" => a.clients = n() as usize,
            "--seconds" => a.seconds = n(),
            "--store" => a.store = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("load.db").display()));
    let mut config = Config { store: store.clone(), feed: FeedSpec::Push, ..Config::default() };
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.limits.requests_per_second = 1_000_000;
    config.limits.burst = 1_000_000;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let served = levfarm_server::serve(config, move |s| {
            let _ = tx.send(s.clone());
        })
        .await;
        if let Err(e) = served {
            eprintln!("serve failed: {e}");
            std::process::exit(1);
        }
    });
    let started = rx.await.expect("the server started");
    let base = format!("http://{}", started.addr);
    let admin = started.admin_token.expect("a fresh store has no admin yet");
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.clients * 2).build().unwrap();
    let post = |path: &str, token: &str, body: Value| {
        http.post(format!("{base}{path}")).bearer_auth(token).json(&body).send()
    };
    let oracle: Value =
        post("/v1/admin/accounts", &admin, json!({"name": "oracle", "role": "oracle"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let oracle = oracle["token"].as_str().unwrap().to_string();
    post("/v1/oracle/price", &oracle, json!({"price": "730"})).await.unwrap();
    let mut users = Vec::new();
    for i in 0..args.clients {
        let r: Value = http
            .post(format!("{base}/v1/accounts"))
            .json(&json!({"name": format!("load{i}")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = r["token"].as_str().unwrap().to_string();
        post("/v1/fund", &token, json!({"token": "USDC", "amount": "100000000000"})).await.unwrap();
        let p: Value =
            post("/v1/positions", &token, json!({"equity1": "1000000000", "leverage": "3"}))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        users.push((token, p["id"].as_u64().expect("a position")));
    }
    let deadline = Duration::from_secs(args.seconds);

    let run = |count: u64, write: bool| {
        let users = users.clone();
        let (http, base) = (http.clone(), base.clone());
        async move {
            let issued = Arc::new(AtomicU64::new(0));
            let t0 = Instant::now();
            let mut tasks = Vec::new();
            for (token, id) in users {
                let (http, base, issued) = (http.clone(), base.clone(), issued.clone());
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut failures = 0u64;
                    while issued.fetch_add(1, Ordering::Relaxed) < count && t0.elapsed() < deadline
                    {
                        let t = Instant::now();
                        let response = if write {
                            http.post(format!("{base}/v1/fund"))
                                .bearer_auth(&token)
                                .json(&json!({"token": "USDC", "amount": "1000000"}))
                                .send()
                                .await
                        } else {
                            http.get(format!("{base}/v1/positions/{id}"))
                                .bearer_auth(&token)
                                .send()
                                .await
                        };
                        match response {
                            Ok(r) if r.status().is_success() => {
                                let _ = r.bytes().await;
                                latencies.push(t.elapsed());
                            }
                            _ => failures += 1,
                        }
                    }
                    (latencies, failures)
                }));
            }
            let mut all = Vec::new();
            let mut failures = 0;
            for t in tasks {
                let (l, f) = t.await.unwrap();
                all.extend(l);
                failures += f;
            }
            (all, failures, t0.elapsed())
        }
    };

    let backend =
        if store.starts_with("postgres") { "PostgreSQL" } else { "SQLite (WAL, synchronous=FULL)" };
    println!("levfarm serve load on loopback: {} clients, store {backend}", args.clients);
    for (name, count, write) in [
        ("durable commands (POST /v1/fund)", args.commands, true),
        ("reads (GET /v1/positions/{id})", args.reads, false),
    ] {
        let (mut latencies, failures, elapsed) = run(count, write).await;
        latencies.sort();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        println!(
            "{name}: {} in {:.2} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {failures} failed",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99)
        );
    }
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    let batches = metrics
        .lines()
        .find(|l| l.starts_with("levfarm_journal_batch_commands_count"))
        .unwrap_or("")
        .to_string();
    let commands = metrics
        .lines()
        .find(|l| l.starts_with("levfarm_journal_batch_commands_sum"))
        .unwrap_or("")
        .to_string();
    println!("group commit: {commands} over {batches}");
    std::process::exit(0);
}
