//! `levfarm serve`'s configuration: a TOML file whose every key is optional. With none, the
//! service listens on loopback, keeps its journal in `levfarm.db` and replays the bundled
//! ETH/USD history into the bundled default market.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use serde::Deserialize;

use crate::state::FeedSpec;
use crate::Error;

/// The configuration, as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on; loopback by default.
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
    pub store: String,
    /// A backtest scenario TOML file describing the market; the bundled default when absent.
    /// Read once, at the journal's genesis.
    pub scenario: Option<String>,
    /// The feed at genesis; an admin changes it later through the API.
    pub feed: FeedSpec,
    /// `text` or `json` log lines.
    pub log: LogFormat,
    pub limits: LimitsConfig,
    /// Commands between two snapshots of the state (a restart replays at most this many).
    pub snapshot_every: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Per-token request limits and sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub requests_per_second: u32,
    pub burst: u32,
    /// Anyone may create a user account (loopback demos); off, only admins create accounts.
    pub open_signup: bool,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { requests_per_second: 50, burst: 100, open_signup: true }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store: "sqlite:levfarm.db".into(),
            scenario: None,
            feed: FeedSpec::Replay { speed: 1800 },
            log: LogFormat::Text,
            limits: LimitsConfig::default(),
            snapshot_every: crate::service::SNAPSHOT_EVERY,
        }
    }
}

impl Config {
    /// Parses a configuration file's text; errors name the file, line and key.
    pub fn from_toml(source: &str, text: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let at =
                e.span().map(|s| line_of(text, s.start)).map_or(String::new(), |l| format!(":{l}"));
            Error::Config(format!("{source}{at}: {}", e.message()))
        })?;
        config.check(source)?;
        Ok(config)
    }

    fn check(&self, source: &str) -> Result<(), Error> {
        let bad =
            |key: &str, message: &str| Err(Error::Config(format!("{source}: {key}: {message}")));
        if self.snapshot_every == 0 {
            return bad("snapshot_every", "must be above zero");
        }
        if self.limits.requests_per_second == 0 || self.limits.burst == 0 {
            return bad("limits", "requests_per_second and burst must be above zero");
        }
        // The same rules as the admin API's `PUT /v1/admin/feed`.
        match crate::state::validate_feed(&self.feed) {
            Err(Error::Invalid { field, message }) => bad(&format!("feed.{field}"), &message),
            other => other,
        }
    }

    /// The API's limits.
    pub fn api_limits(&self) -> crate::api::Limits {
        let nz = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        crate::api::Limits {
            per_second: nz(self.limits.requests_per_second),
            burst: nz(self.limits.burst),
            open_signup: self.limits.open_signup,
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_optional_and_mistakes_are_located() {
        assert_eq!(Config::from_toml("c.toml", "").unwrap(), Config::default());
        let c = Config::from_toml(
            "c.toml",
            "listen = \"127.0.0.1:9000\"\nfeed = { kind = \"push\" }\n",
        )
        .unwrap();
        assert_eq!((c.listen.port(), c.feed), (9000, FeedSpec::Push));
        let e = Config::from_toml("c.toml", "store = \"sqlite:x.db\"\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: ") && e.contains("address"), "{e}");
        let e = Config::from_toml("c.toml", "prot = 1\n").unwrap_err().to_string();
        assert!(e.contains("c.toml:1") && e.contains("unknown field `prot`"), "{e}");
        let e = Config::from_toml("c.toml", "feed = { kind = \"replay\", speed = 0 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("feed.speed"), "{e}");
        // Regression: the file took feeds the admin API refuses.
        for (text, key) in [
            ("feed = { kind = \"poll\", url = \"http://x/\", pointer = \"/p\", interval_ms = 0 }\n", "feed.interval_ms"),
            ("feed = { kind = \"poll\", url = \"http://x/\", pointer = \"nonsense\", interval_ms = 1000 }\n", "feed.pointer"),
            ("feed = { kind = \"replay\", speed = 4294967295 }\n", "feed.speed"),
        ] {
            let e = Config::from_toml("c.toml", text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        let e = Config::from_toml(
            "c.toml",
            "feed = { kind = \"poll\", url = \"ftp://x\", pointer = \"/p\", interval_ms = 1000 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("feed.url") && e.contains("scheme"), "{e}");
    }
}
