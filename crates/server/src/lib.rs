//! `levfarm serve`: the exact engine as a persistent service for leverage mining.
//!
//! - [`state`]: the deterministic state (market, accounts, positions with their books,
//!   orders, alerts) and the actions that change it, keepers included.
//! - [`journal`]: the durable log of actions on SQLite or PostgreSQL.
//! - [`service`]: the single writer (apply, make durable, publish, acknowledge) and the
//!   recovery that replays the journal on start.
//! - [`api`]: the HTTP API over a router that tests drive without a socket, with its
//!   OpenAPI document, server-sent events, metrics and health; [`dashboard`]: the web page.
//! - [`feed`]: replayed, polled or pushed prices and the staleness watchdog; [`webhook`]:
//!   alert delivery with retries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), levfarm_server::Error> {
//! let config = levfarm_server::Config::default(); // loopback:8080, sqlite:levfarm.db
//! levfarm_server::serve(config, |started| {
//!     println!("listening on http://{}", started.addr);
//! })
//! .await
//! # }
//! ```

pub mod api;
pub mod config;
pub mod dashboard;
mod error;
pub mod faults;
pub mod feed;
pub mod journal;
pub mod metrics;
pub mod service;
pub mod state;
pub mod webhook;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use error::Error;
pub use journal::{Backend, Entry, Journal, JournalError, Snapshot};

use state::{Action, Role};

/// The market a service starts with when its configuration names no scenario.
pub const DEFAULT_SCENARIO: &str = levfarm_sim::scenario::EXAMPLE_TOML;

/// What a started server tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    pub addr: SocketAddr,
    /// The admin's token when this start created the admin account: shown once, stored
    /// hashed.
    pub admin_token: Option<String>,
    pub seq: u64,
}

/// The genesis action for a configuration: its scenario (or the default) and the first bar
/// of the scenario's price history; and that history, for the replay feed.
pub fn genesis(config: &Config) -> Result<(Action, levfarm_sim::data::PriceSeries), Error> {
    let text = match &config.scenario {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{path}: {e}")))?
        }
        None => DEFAULT_SCENARIO.to_string(),
    };
    let name = config.scenario.as_deref().unwrap_or("the default scenario");
    let scenario =
        levfarm_sim::Scenario::from_toml(name, &text).map_err(|e| Error::Config(e.to_string()))?;
    let prices =
        levfarm_sim::Backtest::load(scenario).map_err(|e| Error::Config(e.to_string()))?.prices;
    let (Some(&time), Some(&price)) = (prices.times.first(), prices.closes.first()) else {
        return Err(Error::Config(format!("{name}: its price history is empty")));
    };
    Ok((Action::Genesis { scenario: text, price, time, feed: config.feed.clone() }, prices))
}

/// Runs the service until SIGINT or SIGTERM, then stops accepting, lets requests finish
/// (at most 10 s), drains the writer and closes the store.
pub async fn serve(config: Config, on_start: impl FnOnce(&Started)) -> Result<(), Error> {
    let (genesis, prices) = genesis(&config)?;
    let mut journal = Journal::open(&config.store).await?;
    let state = service::recover(&mut journal, genesis).await?;
    let metrics = metrics::Metrics::default();
    let webhooks = webhook::spawn(metrics.clone());
    let (shared, writer) =
        service::start_with(state, journal, metrics, Some(webhooks), config.snapshot_every);
    let admin_token = bootstrap_admin(&shared).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    let seq = shared.read().applied();
    tracing::info!(%addr, store = ?shared.backend, seq, "serving");
    on_start(&Started { addr, admin_token, seq });
    let feed = tokio::spawn(feed::run(shared.clone(), Arc::new(prices)));
    let app = api::app(shared.clone(), config.api_limits());
    let stop = shared.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: no new connections; live streams end");
            stop.shutdown();
        })
        .into_future();
    let result = tokio::select! {
        r = served => r.map_err(|e| Error::Unavailable(e.to_string())),
        () = async { shared.stopped().await; tokio::time::sleep(Duration::from_secs(10)).await } => {
            tracing::warn!("requests still running after 10 s; stopping anyway");
            Ok(())
        }
    };
    feed.abort();
    let halted = shared.halted();
    drop(shared);
    match tokio::time::timeout(Duration::from_secs(10), writer).await {
        Ok(Ok(journal)) => journal.close().await,
        _ => tracing::warn!("the writer did not stop in 10 s"),
    }
    tracing::info!("stopped");
    if halted {
        return Err(Error::Unavailable(
            "the writer stopped: the store could not confirm whether a batch was stored; \
             restart to rebuild the state from the journal"
                .into(),
        ));
    }
    result
}

/// Creates the `admin` account on the first start; its token is returned once.
async fn bootstrap_admin(shared: &service::Shared) -> Result<Option<String>, Error> {
    if shared.read().accounts().iter().any(|a| a.role == Role::Admin) {
        return Ok(None);
    }
    let (token, grant) = api::new_token("bootstrap")?;
    shared
        .submit(Action::CreateAccount { name: "admin".into(), role: Role::Admin, token: grant })
        .await?;
    Ok(Some(token))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Starts structured logging: `text` or `json` lines on stderr, filtered by `RUST_LOG`
/// (default `info`).
pub fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}
