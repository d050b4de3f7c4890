//! Alert delivery to users' webhooks: a POST of the alert as JSON, retried with exponential
//! backoff when the receiver fails or cannot be reached. Delivery is at least once while the
//! server runs; the alert itself is in the journaled state and on the dashboard either way.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// Attempts per alert, and the first wait between two (doubled after each failure).
pub const ATTEMPTS: u32 = 5;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Checks a webhook or feed URL: `http` or `https`, a host, at most 2048 bytes.
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("at most 2048 bytes".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("the scheme must be http or https, not {}", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL names no host".into());
    }
    Ok(())
}

/// One alert to deliver.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub body: serde_json::Value,
}

/// Starts the delivery task; send it alerts through the returned channel.
pub fn spawn(metrics: Metrics) -> mpsc::Sender<Delivery> {
    let (tx, mut rx) = mpsc::channel::<Delivery>(1024);
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(Duration::from_secs(5)).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhooks disabled: no HTTP client");
                return;
            }
        };
        while let Some(delivery) = rx.recv().await {
            let client = client.clone();
            let metrics = metrics.clone();
            tokio::spawn(async move { deliver(&client, &delivery, &metrics).await });
        }
    });
    tx
}

async fn deliver(client: &reqwest::Client, d: &Delivery, metrics: &Metrics) {
    let mut wait = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let outcome = client.post(&d.url).json(&d.body).send().await;
        match outcome {
            Ok(r) if r.status().is_success() => {
                metrics.webhook("delivered");
                tracing::info!(url = %d.url, attempt, "webhook delivered");
                return;
            }
            Ok(r) => {
                tracing::warn!(url = %d.url, attempt, status = r.status().as_u16(), "webhook refused")
            }
            Err(e) => tracing::warn!(url = %d.url, attempt, error = %e, "webhook unreachable"),
        }
        metrics.webhook("retried");
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    metrics.webhook("failed");
    tracing::error!(url = %d.url, attempts = ATTEMPTS, "webhook given up");
}
