//! Price feeds: the task that turns the market's feed setting into price actions, and the
//! staleness watchdog.
//!
//! - **replay**: the scenario's price history from the bar after the market's clock, one
//!   bar every `interval / speed` wall-clock seconds;
//! - **poll**: GET a URL every `interval_ms` and read the price at a JSON pointer;
//! - **push**: nothing here; oracle tokens POST prices.
//!
//! The feed is read from the state at every step, so an admin's change takes effect at once.
//! When no price has come for longer than the market allows, the watchdog says so once (log
//! and live update): opening is refused and the keepers wait, since they run on prices.

use std::sync::Arc;
use std::time::Duration;

use levfarm_core::price::Price;
use levfarm_sim::data::PriceSeries;
use serde_json::json;

use crate::service::Shared;
use crate::state::{Action, FeedSpec, Notice};
use crate::Error;

/// Runs the feed until the service stops.
pub async fn run(shared: Arc<Shared>, series: Arc<PriceSeries>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().ok();
    let mut announced_stale = false;
    loop {
        let feed = shared.read().feed().clone();
        let pause = match &feed {
            FeedSpec::Replay { speed } => replay_step(&shared, &series, *speed).await,
            FeedSpec::Poll { url, pointer, interval_ms } => {
                if let Some(client) = &client {
                    if let Err(e) = poll_once(&shared, client, url, pointer).await {
                        skipped(&shared, &format!("poll of {url} failed: {e}"));
                    }
                }
                Duration::from_millis(*interval_ms)
            }
            FeedSpec::Push => Duration::from_millis(500),
        };
        watchdog(&shared, &mut announced_stale);
        if !shared.writer_alive() {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

/// Submits the next bar of the history; the pause before the one after.
async fn replay_step(shared: &Shared, series: &PriceSeries, speed: u32) -> Duration {
    let now = shared.read().now();
    let next = series.times.partition_point(|&t| t <= now);
    let step = Duration::from_secs_f64(series.interval as f64 / f64::from(speed.max(1)));
    let Some((&time, &price)) = series.times.get(next).zip(series.closes.get(next)) else {
        skipped(shared, "the replay reached the end of its price history; no more prices");
        return Duration::from_secs(5);
    };
    let range = series.ranges.get(next).copied();
    let action = Action::Price { source: format!("replay:{}", series.source), price, time, range };
    if let Err(e) = shared.submit(action).await {
        skipped(shared, &format!("replayed price at {time} not applied: {e}"));
    }
    step.max(Duration::from_millis(1))
}

async fn poll_once(
    shared: &Shared,
    client: &reqwest::Client,
    url: &str,
    pointer: &str,
) -> Result<(), Error> {
    let response = client.get(url).send().await.map_err(|e| Error::Unavailable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Error::Unavailable(format!("status {}", response.status())));
    }
    let body: serde_json::Value =
        response.json().await.map_err(|e| Error::Unavailable(format!("not JSON: {e}")))?;
    let price = price_at(&body, pointer)?;
    let time = {
        let state = shared.read();
        let elapsed = shared.price_age_secs().unwrap_or(0);
        state.now().saturating_add(i64::try_from(elapsed).unwrap_or(0))
    };
    shared
        .submit(Action::Price { source: format!("poll:{url}"), price, time, range: None })
        .await?;
    Ok(())
}

/// The price at `pointer` in `body`: a JSON number or a decimal string.
pub fn price_at(body: &serde_json::Value, pointer: &str) -> Result<Price, Error> {
    let value = body.pointer(pointer).ok_or_else(|| {
        Error::invalid("pointer", format!("{pointer} points at nothing in the response"))
    })?;
    let text = match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => {
            return Err(Error::invalid("pointer", format!("{pointer} is {other}, not a price")))
        }
    };
    let text = expand_exponent(&text).unwrap_or(text);
    Price::parse(&text).filter(|p| !p.0.is_zero()).ok_or_else(|| {
        Error::invalid("pointer", format!("{pointer} is {text:?}, not a price above zero"))
    })
}

/// `1.85e3` → `1850`: numbers in JSON may carry an exponent; prices are plain decimals.
fn expand_exponent(text: &str) -> Option<String> {
    let (mantissa, exp) = text.split_once(['e', 'E'])?;
    let exp: i32 = exp.parse().ok()?;
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{frac}");
    let point = i32::try_from(whole.len()).ok()? + exp;
    if point <= 0 {
        Some(format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?)))
    } else if point as usize >= digits.len() {
        Some(format!("{digits}{}", "0".repeat(point as usize - digits.len())))
    } else {
        Some(format!("{}.{}", &digits[..point as usize], &digits[point as usize..]))
    }
}

/// Tells the log and the live views what the feed or the keepers skipped and why.
fn skipped(shared: &Shared, why: &str) {
    tracing::warn!(target: "levfarm::keeper", reason = why, "skipped");
    let _ = shared.notices.send(Arc::new(Notice {
        account: None,
        kind: "skipped",
        data: json!({ "reason": why }),
    }));
}

fn watchdog(shared: &Shared, announced: &mut bool) {
    let limit = shared.read().settings().stale_after_secs;
    let age = shared.price_age_secs();
    let stale = age.is_none_or(|a| a > limit);
    if stale && !*announced {
        let why = match age {
            Some(a) => format!("no price for {a} s (limit {limit} s): opening is refused and the keepers wait for the next price"),
            None => "no price since the start: opening is refused and the keepers wait for the first price".into(),
        };
        skipped(shared, &why);
    }
    *announced = stale;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_at_the_pointer_exactly() {
        let body = json!({ "data": { "price": "1850.25", "n": 1850.5, "e": 1.85e3, "small": 2.5e-7, "zero": 0, "no": true } });
        assert_eq!(price_at(&body, "/data/price").unwrap(), Price::parse("1850.25").unwrap());
        assert_eq!(price_at(&body, "/data/n").unwrap(), Price::parse("1850.5").unwrap());
        assert_eq!(price_at(&body, "/data/e").unwrap(), Price::parse("1850").unwrap());
        assert_eq!(price_at(&body, "/data/small").unwrap(), Price::parse("0.00000025").unwrap());
        assert!(price_at(&body, "/data/zero").unwrap_err().to_string().contains("above zero"));
        assert!(price_at(&body, "/data/no").unwrap_err().to_string().contains("not a price"));
        assert!(price_at(&body, "/data/missing")
            .unwrap_err()
            .to_string()
            .contains("points at nothing"));
    }
}
