//! Faults: `levfarm serve` is killed with SIGKILL at random moments while clients fund
//! wallets, open positions and push prices; after every restart each acknowledged command is
//! there, and the served state equals an independent replay of the journal. The test bounds
//! itself: at most 6 kills or 40 seconds of load, whichever comes first.

#[path = "support/server.rs"]
mod server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server::{call, client, Server};

/// What one client knows was acknowledged.
#[derive(Default, Debug)]
struct Acked {
    /// Fund commands acknowledged, by their amount (each amount is used once).
    funded: Vec<u128>,
    /// Fund commands in flight when the server died: stored or not, nobody was told.
    in_doubt: Vec<u128>,
    positions: Vec<u64>,
}

/// The USDC amounts of every fund command in the journal, by account.
fn journaled_funds(store: &std::path::Path) -> std::collections::BTreeMap<u64, Vec<u128>> {
    let entries = tokio_runtime().block_on(async {
        let journal =
            levfarm_server::Journal::open(&format!("sqlite:{}", store.display())).await.unwrap();
        let entries = journal.read(1).await.unwrap();
        journal.close().await;
        entries
    });
    let mut funds = std::collections::BTreeMap::<u64, Vec<u128>>::new();
    for e in entries {
        let v: Value = serde_json::from_str(&e.body).unwrap();
        if v["op"] == "fund" {
            funds
                .entry(v["account"].as_u64().unwrap())
                .or_default()
                .push(v["amount"].as_str().unwrap().parse().unwrap());
        }
    }
    funds
}

fn usdc(me: &Value) -> u128 {
    me["wallet"]["balances"].as_array().unwrap().iter().find(|b| b[0] == "USDC").unwrap()[1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
#[allow(clippy::disallowed_methods)] // the test bounds its own wall-clock time
fn sigkill_under_load_loses_no_acknowledged_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("journal.db");
    let config = dir.path().join("serve.toml");
    std::fs::write(&config, format!("store = \"sqlite:{}\"\nfeed = {{ kind = \"push\" }}\nsnapshot_every = 40\n[limits]\nrequests_per_second = 100000\nburst = 100000\n", store.display())).unwrap();
    let http = client();

    let first = Server::start(&config);
    let admin = first.admin.clone().expect("the first start prints the admin token");
    let (s, oracle) = call(
        &http,
        "POST",
        &format!("{}/v1/admin/accounts", first.base),
        Some(&admin),
        Some(&json!({"name": "oracle", "role": "oracle"})),
    )
    .unwrap();
    assert_eq!(s, 201, "{oracle}");
    let oracle = oracle["token"].as_str().unwrap().to_string();
    let (users, ids): (Vec<String>, Vec<u64>) = (0..3)
        .map(|i| {
            let (s, v) = call(
                &http,
                "POST",
                &format!("{}/v1/accounts", first.base),
                None,
                Some(&json!({"name": format!("user{i}")})),
            )
            .unwrap();
            assert_eq!(s, 201, "{v}");
            (v["token"].as_str().unwrap().to_string(), v["account"].as_u64().unwrap())
        })
        .unzip();
    let acked: Vec<Arc<Mutex<Acked>>> = users.iter().map(|_| Arc::default()).collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(20261124);
    let started = Instant::now();
    let mut server = first;
    let mut kills = 0;
    while kills < 6 && started.elapsed() < Duration::from_secs(40) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        // The oracle pushes a price every 20 ms.
        {
            let (base, oracle, stop) = (server.base.clone(), oracle.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let http = client();
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let price = format!("{}", 720 + (k * 7) % 21);
                    let _ = call(
                        &http,
                        "POST",
                        &format!("{base}/v1/oracle/price"),
                        Some(&oracle),
                        Some(&json!({"price": price})),
                    );
                    k += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }));
        }
        for (i, token) in users.iter().enumerate() {
            let (base, token, stop, acked) =
                (server.base.clone(), token.clone(), stop.clone(), acked[i].clone());
            let round = kills as u128;
            threads.push(std::thread::spawn(move || {
                let http = client();
                let mut j = 0u128;
                while !stop.load(Ordering::Relaxed) {
                    j += 1;
                    let amount = 1_000_000_000 + round * 100_000 + j;
                    let answer = call(
                        &http,
                        "POST",
                        &format!("{base}/v1/fund"),
                        Some(&token),
                        Some(&json!({"token": "USDC", "amount": amount.to_string()})),
                    );
                    let mut a = acked.lock().unwrap();
                    match answer {
                        Some((200, _)) => a.funded.push(amount),
                        Some((status, body)) => panic!("fund refused with {status}: {body}"),
                        // The server died: the command may or may not be stored.
                        None => {
                            a.in_doubt.push(amount);
                            return;
                        }
                    }
                    drop(a);
                    if j % 4 == 0 {
                        let body = json!({"equity1": "500000000", "leverage": "2"});
                        match call(
                            &http,
                            "POST",
                            &format!("{base}/v1/positions"),
                            Some(&token),
                            Some(&body),
                        ) {
                            Some((201, p)) => {
                                acked.lock().unwrap().positions.push(p["id"].as_u64().unwrap())
                            }
                            // Stale right after a restart, until the oracle's first price.
                            Some((409, _)) => {}
                            Some((status, body)) => panic!("open refused with {status}: {body}"),
                            None => return,
                        }
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
        server.kill();
        kills += 1;
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a client thread panicked");
        }
        server = Server::start(&config);
        assert!(server.admin.is_none(), "a restart found its admin in the journal");
        let journal = journaled_funds(&store);
        for (i, token) in users.iter().enumerate() {
            let a = acked[i].lock().unwrap();
            // Every acknowledged fund is in the journal; anything else there was in doubt.
            let stored = journal.get(&ids[i]).cloned().unwrap_or_default();
            for amount in &a.funded {
                assert!(
                    stored.contains(amount),
                    "user{i}: acknowledged fund of {amount} lost at kill {kills}"
                );
            }
            for amount in &stored {
                assert!(
                    a.funded.contains(amount) || a.in_doubt.contains(amount),
                    "user{i}: a fund of {amount} nobody sent"
                );
            }
            assert_eq!(
                stored.len(),
                stored.iter().collect::<std::collections::BTreeSet<_>>().len(),
                "user{i}: a fund stored twice"
            );
            let (s, positions) =
                call(&http, "GET", &format!("{}/v1/positions", server.base), Some(token), None)
                    .unwrap();
            assert_eq!(s, 200, "{positions}");
            let listed: Vec<u64> =
                positions.as_array().unwrap().iter().map(|p| p["id"].as_u64().unwrap()).collect();
            for id in &a.positions {
                assert!(
                    listed.contains(id),
                    "user{i}: acknowledged position {id} is gone after kill {kills}"
                );
            }
            // The wallet holds what the journal's funds put in, less what positions took.
            let (_, me) =
                call(&http, "GET", &format!("{}/v1/me", server.base), Some(token), None).unwrap();
            let in_positions = 500_000_000u128 * listed.len() as u128;
            let funded: u128 = stored.iter().sum();
            assert!(usdc(&me) + in_positions >= funded, "user{i}: the wallet lost money: {me}");
        }
    }
    assert!(kills >= 2, "the test killed the server only {kills} times");
    let journal = journaled_funds(&store);
    let acked_total: usize = acked.iter().map(|a| a.lock().unwrap().funded.len()).sum();
    let doubt_total: usize = acked.iter().map(|a| a.lock().unwrap().in_doubt.len()).sum();
    let positions: usize = acked.iter().map(|a| a.lock().unwrap().positions.len()).sum();
    let stored_total: usize = journal.values().map(Vec::len).sum();
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{kills} SIGKILLs in {:.1} s: {acked_total} funds acknowledged and stored, {doubt_total} in flight at a kill ({} of them stored), {positions} positions acknowledged", started.elapsed().as_secs_f64(), stored_total - acked_total);
    }

    // The served state is the journal's replay: independent readers, one from the newest
    // snapshot plus the commands after it and one from genesis, agree on every user.
    let (from_snapshot, from_genesis) = tokio_runtime().block_on(async {
        let mut journal =
            levfarm_server::Journal::open(&format!("sqlite:{}", store.display())).await.unwrap();
        assert!(journal.latest_snapshot().await.unwrap().is_some(), "the server took snapshots");
        let (genesis, _) = levfarm_server::genesis(&levfarm_server::Config::default()).unwrap();
        let a = levfarm_server::service::recover(&mut journal, genesis.clone()).await.unwrap();
        let b = levfarm_server::service::replay_from_genesis(&mut journal, genesis).await.unwrap();
        (a, b)
    });
    assert!(from_snapshot == from_genesis, "snapshot plus log differs from the full replay");
    for token in &users {
        let (_, me) =
            call(&http, "GET", &format!("{}/v1/me", server.base), Some(token), None).unwrap();
        let id = me["id"].as_u64().unwrap();
        assert_eq!(serde_json::to_value(from_genesis.me(id).unwrap()).unwrap(), me);
        let (_, positions) =
            call(&http, "GET", &format!("{}/v1/positions", server.base), Some(token), None)
                .unwrap();
        assert_eq!(
            serde_json::to_value(from_genesis.positions_of(id).unwrap()).unwrap(),
            positions
        );
    }
    server.kill();
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
