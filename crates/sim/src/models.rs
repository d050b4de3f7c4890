//! The market's outside forces, bar by bar: other borrowers' utilization, trading volume and
//! the reward token's price. These are models, so they are f64; what they produce crosses
//! into the engine as exact amounts and prices.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::data::{self, Series};
use crate::extended::Extended;
use crate::scenario::{RewardPricePath, RewardSpec, UtilizationModel, VolumeModel};
use crate::world::YEAR;
use crate::SimError;

/// The state of a mean-reverting utilization process.
#[derive(Debug, Clone)]
pub struct MeanReverting {
    mean_logit: f64,
    speed: f64,
    volatility: f64,
    rng: ChaCha8Rng,
    logit: BTreeMap<String, f64>,
}

/// Target utilization of each lending pool by other borrowers.
#[derive(Debug, Clone)]
pub enum Utilization {
    Constant(f64),
    History(BTreeMap<String, Extended>),
    /// Per-bar values by token.
    Bars(BTreeMap<String, Series>),
    MeanReverting(Box<MeanReverting>),
}

impl Utilization {
    pub fn new(model: &UtilizationModel) -> Result<Utilization, SimError> {
        Ok(match model {
            UtilizationModel::Constant { value } => Utilization::Constant(*value),
            UtilizationModel::History { path, symbols } => {
                let mut series = BTreeMap::new();
                for (token, symbol) in symbols {
                    let history = data::load_utilization(path, symbol)?;
                    series.insert(token.clone(), Extended::new(history, token));
                }
                Utilization::History(series)
            }
            UtilizationModel::Bars { path, columns } => {
                let mut series = BTreeMap::new();
                for (token, column) in columns {
                    let bars = data::load_series(path, column)?;
                    if let Some((t, v)) = bars
                        .times
                        .iter()
                        .zip(&bars.values)
                        .find(|(_, v)| !(v.is_finite() && (0.0..1.0).contains(*v)))
                    {
                        return Err(SimError::Scenario(format!(
                            "market.utilization: {path} ({column}) at {}: {v} is not a \
                             utilization in [0, 1)",
                            data::iso(*t)
                        )));
                    }
                    series.insert(token.clone(), bars);
                }
                Utilization::Bars(series)
            }
            UtilizationModel::MeanReverting { mean, speed_per_year, volatility, seed } => {
                Utilization::MeanReverting(Box::new(MeanReverting {
                    mean_logit: logit(*mean),
                    speed: *speed_per_year,
                    volatility: *volatility,
                    rng: ChaCha8Rng::seed_from_u64(*seed),
                    logit: BTreeMap::new(),
                }))
            }
        })
    }

    /// The utilization other borrowers keep `token`'s pool at, at time `t`, `dt` seconds after
    /// the previous bar.
    pub fn at(&mut self, token: &str, t: i64, dt: f64) -> Option<f64> {
        match self {
            Utilization::Constant(v) => Some(*v),
            Utilization::History(series) => series.get_mut(token).map(|s| s.at(t)),
            Utilization::Bars(series) => series.get(token).map(|s| s.at(t)),
            Utilization::MeanReverting(m) => {
                let MeanReverting { mean_logit, speed, volatility, rng, logit } = &mut **m;
                let x = logit.entry(token.to_string()).or_insert(*mean_logit);
                let years = dt / YEAR;
                let z: f64 = StandardNormal.sample(rng);
                // Exact discretisation of an Ornstein-Uhlenbeck step.
                let decay = (-*speed * years).exp();
                let sd = *volatility * ((1.0 - decay * decay) / (2.0 * *speed)).sqrt();
                *x = *mean_logit + (*x - *mean_logit) * decay + sd * z;
                Some((1.0 / (1.0 + (-*x).exp())).clamp(0.0, 0.99))
            }
        }
    }

    /// For a history: each token's span used as it is (after the launch warm-up) and the
    /// process fitted to it that carries it outside, for the results' notes.
    pub fn coverage(&self) -> Vec<(String, i64, i64, crate::extended::Fit)> {
        match self {
            Utilization::History(series) => series
                .iter()
                .map(|(k, s)| {
                    let (from, to) = s.span();
                    (k.clone(), from, to, s.fit)
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// Trading volume per bar, as a value in the stable token.
#[derive(Debug, Clone)]
pub enum Volume {
    None,
    Turnover(f64),
    Volatility {
        multiplier: f64,
        floor: f64,
    },
    /// A file's daily volume; with the observed pool's value beside it, scaled to the
    /// simulated pool's.
    File {
        series: Series,
        depth: Option<Series>,
        default_daily: f64,
        net_arbitrage: bool,
    },
    /// A file's volume per bar, whole or by direction, scaled the same way.
    Bars {
        sides: BarSides,
        depth: Option<Series>,
        default_daily: f64,
        net_arbitrage: bool,
    },
}

/// A per-bar volume file's columns: the whole volume, or buys and sells of the asset.
#[derive(Debug, Clone)]
pub enum BarSides {
    Whole(Series),
    Split { buy: Series, sell: Series },
}

/// Traders' flow in a bar, in the numeraire: buying the asset with the stable token, and
/// selling it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flow {
    pub buy: f64,
    pub sell: f64,
}

impl Flow {
    /// Half of `volume` each way: a round trip.
    pub fn even(volume: f64) -> Flow {
        Flow { buy: volume / 2.0, sell: volume / 2.0 }
    }

    pub fn total(&self) -> f64 {
        self.buy + self.sell
    }

    /// The flow without `arbitrage` (the arbitrageur's buys and sells of the asset in the
    /// bar), each side to no less than zero; a flow with no direction loses the arbitrage from
    /// its whole, half from each side.
    pub fn net_of(self, arbitrage: Flow, directed: bool) -> Flow {
        if directed {
            Flow {
                buy: (self.buy - arbitrage.buy).max(0.0),
                sell: (self.sell - arbitrage.sell).max(0.0),
            }
        } else {
            Flow::even((self.total() - arbitrage.total()).max(0.0))
        }
    }
}

impl Volume {
    pub fn new(model: &VolumeModel) -> Result<Volume, SimError> {
        Ok(match model {
            VolumeModel::None => Volume::None,
            VolumeModel::Turnover { daily } => Volume::Turnover(*daily),
            VolumeModel::Volatility { multiplier, daily_floor } => {
                Volume::Volatility { multiplier: *multiplier, floor: *daily_floor }
            }
            VolumeModel::File {
                path,
                column,
                default_daily,
                pair,
                depth_column,
                net_arbitrage,
            } => Volume::File {
                series: data::load_series_of(path, column, pair.as_deref())?,
                depth: depth_column
                    .as_deref()
                    .map(|c| data::load_series_of(path, c, pair.as_deref()))
                    .transpose()?,
                default_daily: *default_daily,
                net_arbitrage: *net_arbitrage,
            },
            VolumeModel::Bars {
                path,
                column,
                buy_column,
                sell_column,
                default_daily,
                depth_column,
                net_arbitrage,
            } => {
                let load = |c: &str| data::load_series(path, c);
                let sides = match (column, buy_column, sell_column) {
                    (_, Some(buy), Some(sell)) => {
                        BarSides::Split { buy: load(buy)?, sell: load(sell)? }
                    }
                    (Some(whole), _, _) => BarSides::Whole(load(whole)?),
                    _ => {
                        return Err(SimError::Scenario(
                            "market.volume: give column, or buy_column and sell_column".into(),
                        ))
                    }
                };
                Volume::Bars {
                    sides,
                    depth: depth_column.as_deref().map(load).transpose()?,
                    default_daily: *default_daily,
                    net_arbitrage: *net_arbitrage,
                }
            }
        })
    }

    /// Whether the model's flow has a direction (buys and sells apart).
    pub fn directed(&self) -> bool {
        matches!(self, Volume::Bars { sides: BarSides::Split { .. }, .. })
    }

    /// Whether the arbitrage flow is to be taken out of the model's.
    pub fn nets_arbitrage(&self) -> bool {
        matches!(
            self,
            Volume::File { net_arbitrage: true, .. } | Volume::Bars { net_arbitrage: true, .. }
        )
    }

    /// Traders' flow in the bar ending at `t`, of `dt` seconds, in a pool worth `tvl`, after a
    /// log return of `log_return`; the arbitrage in the bar, `arbitrage`, taken out where the
    /// model says so.
    pub fn flow(&self, t: i64, dt: f64, tvl: f64, log_return: f64, arbitrage: Flow) -> Flow {
        let scale = |depth: &Option<Series>| match depth.as_ref().filter(|d| d.covers(t)) {
            // The observed pool's turnover, on the simulated pool's value.
            Some(d) if d.at(t) > 0.0 => tvl / d.at(t),
            _ => 1.0,
        };
        let flow = match self {
            Volume::Bars { sides, depth, default_daily, .. } => {
                let exact =
                    |s: &Series| s.times.binary_search(&t).ok().map(|i| s.values[i] * scale(depth));
                let observed = match sides {
                    BarSides::Whole(s) => exact(s).map(Flow::even),
                    BarSides::Split { buy, sell } => match (exact(buy), exact(sell)) {
                        (Some(buy), Some(sell)) => Some(Flow { buy, sell }),
                        _ => None,
                    },
                };
                match observed {
                    Some(flow) => flow,
                    None => return Flow::even(default_daily * dt / 86_400.0 * tvl),
                }
            }
            _ => Flow::even(self.at(t, dt, tvl, log_return)),
        };
        if self.nets_arbitrage() {
            flow.net_of(arbitrage, self.directed())
        } else {
            flow
        }
    }

    /// Volume in the bar that ends at `t`, lasting `dt` seconds, in a pool worth `tvl`, after
    /// a log return of `log_return`.
    pub fn at(&self, t: i64, dt: f64, tvl: f64, log_return: f64) -> f64 {
        let days = dt / 86_400.0;
        match self {
            Volume::None => 0.0,
            Volume::Turnover(daily) => daily * days * tvl,
            Volume::Volatility { multiplier, floor } => {
                multiplier * log_return.abs() * tvl + floor * days * tvl
            }
            Volume::Bars { .. } => self.flow(t, dt, tvl, log_return, Flow::default()).total(),
            Volume::File { series, depth, default_daily, .. } => {
                if !series.covers(t) {
                    return default_daily * days * tvl;
                }
                let observed = series.at(t) * days;
                match depth.as_ref().filter(|d| d.covers(t)).map(|d| d.at(t)) {
                    // The observed pool's turnover, on the simulated pool's value.
                    Some(value) if value > 0.0 => observed * tvl / value,
                    _ => observed,
                }
            }
        }
    }
}

/// The reward token's price over time.
#[derive(Debug, Clone)]
pub enum RewardPrice {
    Constant(f64),
    Decay { start: f64, rate: f64 },
    File(Series),
}

impl RewardPrice {
    pub fn new(spec: &RewardSpec) -> Result<RewardPrice, SimError> {
        Ok(match &spec.price_path {
            RewardPricePath::Constant => RewardPrice::Constant(spec.price),
            RewardPricePath::Decay { per_year } => {
                RewardPrice::Decay { start: spec.price, rate: -(1.0 - per_year).ln() }
            }
            RewardPricePath::File { path, column } => {
                RewardPrice::File(data::load_series(path, column)?)
            }
        })
    }

    /// The price `elapsed` seconds after the start, at Unix time `t`.
    pub fn at(&self, t: i64, elapsed: f64) -> f64 {
        match self {
            RewardPrice::Constant(p) => *p,
            RewardPrice::Decay { start, rate } => start * (-rate * elapsed / YEAR).exp(),
            RewardPrice::File(series) => series.at(t),
        }
    }
}

#[cfg(test)]
mod flow_tests {
    use super::Flow;

    #[test]
    fn netting_takes_the_arbitrage_out_of_its_own_side() {
        let observed = Flow { buy: 700.0, sell: 300.0 };
        let arbitrage = Flow { buy: 250.0, sell: 400.0 };
        // By direction: 700 - 250 bought, 300 - 400 sold floors at nothing.
        assert_eq!(observed.net_of(arbitrage, true), Flow { buy: 450.0, sell: 0.0 });
        // Without one: 1,000 - 650 in all, half each way.
        assert_eq!(observed.net_of(arbitrage, false), Flow { buy: 175.0, sell: 175.0 });
        assert_eq!(Flow::even(10.0).net_of(Flow::even(30.0), false), Flow::default());
    }
}

#[cfg(test)]
mod utilization_tests {
    use super::Utilization;
    use crate::scenario::UtilizationModel;

    fn bars(csv: &str, name: &str) -> Result<Utilization, crate::SimError> {
        let file = std::env::temp_dir().join(format!("levfarm-{}-{name}.csv", std::process::id()));
        std::fs::write(&file, csv).unwrap();
        let model = UtilizationModel::Bars {
            path: file.to_string_lossy().into_owned(),
            columns: [("USDC".to_string(), "usdc".to_string())].into(),
        };
        let u = Utilization::new(&model);
        let _ = std::fs::remove_file(file);
        u
    }

    #[test]
    fn per_bar_utilization_steps_from_row_to_row() {
        let mut u = bars("unix_s,usdc\n3600,0.5\n7200,0.75\n", "steps").unwrap();
        // Before the file, its first row; between rows, the last one; after, the last.
        assert_eq!(u.at("USDC", 0, 0.0), Some(0.5));
        assert_eq!(u.at("USDC", 3600, 3600.0), Some(0.5));
        assert_eq!(u.at("USDC", 5400, 1800.0), Some(0.5));
        assert_eq!(u.at("USDC", 7200, 1800.0), Some(0.75));
        assert_eq!(u.at("USDC", 90_000, 3600.0), Some(0.75));
        // A token without a column has no other borrowers.
        assert_eq!(u.at("WETH", 3600, 3600.0), None);
    }

    #[test]
    fn a_utilization_outside_0_to_1_is_refused_at_its_time() {
        let Err(e) = bars("unix_s,usdc\n3600,0.5\n7200,1.2\n", "bad") else { panic!("accepted") };
        let e = e.to_string();
        assert!(e.contains("market.utilization") && e.contains("1970-01-01T02:00"), "{e}");
        assert!(e.contains("1.2 is not a utilization"), "{e}");
    }
}
