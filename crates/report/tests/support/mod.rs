//! A realistic synthetic backtest for the tests: 41,000 hourly ETH-like prices from a
//! deterministic formula (the 2018-2023 shape, hourly noise, a one-hour crash wick in March
//! 2020), and a small simulation of a 3x leveraged LP position with auto-deleverage,
//! re-leverage, monthly compounding, one liquidation, and two-sided debt from late 2021.

pub mod browser;

use levfarm_report::{Action, BacktestReport, PnlItem, Series, SummaryRow};

/// 2018-05-15T00:00:00Z.
pub const START: i64 = 1_526_342_400;
pub const HOURS: usize = 41_000;
/// Hour of the crash wick (2020-03-13 02:00 UTC).
pub const WICK_HOUR: usize = 668 * 24 + 2;
/// A label that would end the data script if it were embedded unescaped.
pub const NASTY: &str = "</script><script>alert(1)</script>";

const DEPOSIT: f64 = 10_000.0;
const KILL: f64 = 0.8333;
const WORK: f64 = 0.70;
const DELEVERAGE_AT: f64 = 0.75;
const DELEVERAGE_TO: f64 = 0.60;
const RELEVERAGE_AT: f64 = 0.45;
const TARGET: f64 = 2.0 / 3.0;
const HOURS_PER_YEAR: f64 = 8_760.0;
const FEE_APR: f64 = 0.08;
const REWARD_APR: f64 = 0.04;
const USDC_RATE: f64 = 0.08;
const ETH_RATE: f64 = 0.03;
const REOPEN_AFTER: usize = 21 * 24;
const TWO_SIDED_FROM: usize = 1_300 * 24;

/// (day since START, price): the rough shape of ETH/USD over the period.
const ANCHORS: [(f64, f64); 20] = [
    (0.0, 700.0),
    (120.0, 180.0),
    (214.0, 85.0),
    (407.0, 330.0),
    (582.0, 120.0),
    (641.0, 285.0),
    (667.0, 195.0),
    (748.0, 240.0),
    (840.0, 480.0),
    (961.0, 740.0),
    (1_093.0, 4_200.0),
    (1_134.0, 1_800.0),
    (1_207.0, 3_900.0),
    (1_274.0, 4_800.0),
    (1_350.0, 2_300.0),
    (1_414.0, 3_400.0),
    (1_495.0, 1_000.0),
    (1_552.0, 1_950.0),
    (1_639.0, 1_100.0),
    (1_709.0, 1_560.0),
];

/// The price at hour `h`: cosine interpolation of the anchors in log space, plus noise and
/// the wick.
pub fn price_at(h: usize) -> f64 {
    let day = h as f64 / 24.0;
    let i = ANCHORS.partition_point(|a| a.0 <= day).clamp(1, ANCHORS.len() - 1);
    let ((d0, p0), (d1, p1)) = (ANCHORS[i - 1], ANCHORS[i]);
    let f = ((day - d0) / (d1 - d0)).clamp(0.0, 1.0);
    let w = (1.0 - (std::f64::consts::PI * f).cos()) / 2.0;
    let x = h as f64;
    let noise = 0.045 * (x / 53.0).sin() * (x / 331.0).cos()
        + 0.02 * (x / 9.7).sin()
        + 0.01 * (x / 2.3).sin() * (x / 17.0).sin()
        + 0.03 * (x / 977.0).sin();
    let wick = match h as i64 - WICK_HOUR as i64 {
        -1 => 0.9,
        0 => 0.42,
        1 => 0.7,
        2 => 0.9,
        _ => 1.0,
    };
    (p0.ln() + (p1.ln() - p0.ln()) * w + noise).exp() * wick
}

/// The PnL components the simulation tracks, in USDC.
#[derive(Debug, Default)]
struct Pnl {
    fees: f64,
    rewards: f64,
    interest: f64,
    il: f64,
    exposure: f64,
    trading: f64,
    protection: f64,
    liquidation: f64,
}

/// A leveraged constant-product LP position: liquidity `l` (value `2 l sqrt(p)`), debt `du`
/// USDC plus `q` ETH; `cash` while closed.
#[derive(Debug, Default)]
struct Sim {
    l: f64,
    du: f64,
    q: f64,
    cash: f64,
    open: bool,
    reopen_at: Option<usize>,
    pnl: Pnl,
    actions: Vec<Action>,
}

impl Sim {
    fn value(&self, p: f64) -> f64 {
        2.0 * self.l * p.sqrt()
    }
    fn debt(&self, p: f64) -> f64 {
        self.du + self.q * p
    }
    fn equity(&self, p: f64) -> f64 {
        if self.open {
            self.value(p) - self.debt(p)
        } else {
            self.cash
        }
    }
    fn act(&mut self, h: usize, kind: &str, p: f64, label: String) {
        self.actions.push(Action {
            time: START + 3_600 * h as i64,
            kind: kind.into(),
            price: p,
            label,
        });
    }

    fn open(&mut self, h: usize, p: f64) {
        let equity = self.cash;
        let borrowed = equity * 2.0;
        let cost = borrowed * 0.0015;
        self.pnl.trading -= cost;
        (self.l, self.du, self.q, self.cash, self.open) =
            ((3.0 * equity - cost) / (2.0 * p.sqrt()), borrowed, 0.0, 0.0, true);
        self.act(
            h,
            "open",
            p,
            format!(
                "Opened 3.00x: {} USDC equity, {} USDC borrowed",
                money(equity),
                money(borrowed)
            ),
        );
    }

    /// One hour of fees and interest, and the price move from `prev` to `p`.
    fn accrue(&mut self, prev: f64, p: f64) {
        let eth_in_pool = self.l / prev.sqrt();
        self.pnl.exposure += (eth_in_pool - self.q) * (p - prev);
        self.pnl.il += 2.0 * self.l * (p.sqrt() - prev.sqrt()) - eth_in_pool * (p - prev);
        let dl = self.l * FEE_APR / HOURS_PER_YEAR;
        self.pnl.fees += 2.0 * dl * p.sqrt();
        self.l += dl;
        let (du, dq) = (self.du * USDC_RATE / HOURS_PER_YEAR, self.q * ETH_RATE / HOURS_PER_YEAR);
        self.pnl.interest -= du + dq * p;
        self.du += du;
        self.q += dq;
    }

    fn protect(&mut self, h: usize, p: f64) {
        let (v, d) = (self.value(p), self.debt(p));
        let ratio = d / v;
        if ratio >= KILL {
            let equity = (v - d - 0.05 * v).max(0.0);
            self.pnl.liquidation -= v - d - equity;
            (self.cash, self.open, self.reopen_at) = (equity, false, Some(h + REOPEN_AFTER));
            let label = format!(
                "Liquidated at debt ratio {}: {} USDC left after the 5% bounty",
                pct(ratio),
                money(equity)
            );
            self.act(
                h,
                "liquidation",
                p,
                if h == WICK_HOUR { format!("{label} {NASTY}") } else { label },
            );
        } else if ratio >= DELEVERAGE_AT {
            let x = (d - DELEVERAGE_TO * v) / (1.0 - DELEVERAGE_TO);
            let cost = 0.003 * x;
            self.pnl.protection -= cost;
            self.l *= (v - x) / v;
            self.repay(x - cost, p);
            self.act(
                h,
                "deleverage",
                p,
                format!(
                    "Auto-deleverage: debt ratio {} \u{2192} {}, repaid {} USDC",
                    pct(ratio),
                    pct(DELEVERAGE_TO),
                    money(x - cost)
                ),
            );
        } else if ratio <= RELEVERAGE_AT {
            let y = (TARGET * v - d) / (1.0 - TARGET);
            let cost = 0.003 * y;
            self.pnl.trading -= cost;
            self.du += y;
            self.l *= (v + y - cost) / v;
            self.act(
                h,
                "rebalance",
                p,
                format!(
                    "Re-leveraged: debt ratio {} \u{2192} {}, borrowed {} USDC",
                    pct(ratio),
                    pct(TARGET),
                    money(y)
                ),
            );
        }
    }

    fn repay(&mut self, amount: f64, p: f64) {
        if self.du >= amount {
            self.du -= amount;
        } else {
            self.q = (self.q - (amount - self.du) / p).max(0.0);
            self.du = 0.0;
        }
    }

    fn compound(&mut self, h: usize, p: f64) {
        let v = self.value(p);
        let reward = v * REWARD_APR / 12.0;
        self.pnl.rewards += reward;
        self.l *= (v + reward) / v;
        self.act(h, "compound", p, format!("Compounded {} USDC of farm rewards", money(reward)));
    }

    fn recenter(&mut self, h: usize, p: f64) {
        let half = self.du / 2.0;
        let cost = half * 0.001;
        self.pnl.trading -= cost;
        self.du -= half - cost;
        self.q += half / p;
        self.act(
            h,
            "recenter",
            p,
            format!("Two-sided debt: {} USDC of debt moved to {:.3} ETH", money(half), half / p),
        );
    }

    /// (lower, upper) liquidation prices: roots of `q s^2 - kill 2 l s + du = 0`, `s = sqrt(p)`.
    fn liquidation_prices(&self) -> (Option<f64>, Option<f64>) {
        if !self.open {
            return (None, None);
        }
        let b = KILL * 2.0 * self.l;
        if self.q <= 0.0 {
            return (Some((self.du / b).powi(2)), None);
        }
        let disc = b * b - 4.0 * self.q * self.du;
        if disc < 0.0 {
            return (None, None);
        }
        let (s1, s2) = ((b - disc.sqrt()) / (2.0 * self.q), (b + disc.sqrt()) / (2.0 * self.q));
        (Some(s1 * s1).filter(|&x| x > 0.0), Some(s2 * s2))
    }
}

pub fn report() -> BacktestReport {
    let times: Vec<i64> = (0..HOURS).map(|h| START + 3_600 * h as i64).collect();
    let price: Vec<f64> = (0..HOURS).map(price_at).collect();
    let p0 = price[0];
    let mut sim = Sim { cash: DEPOSIT, ..Sim::default() };
    sim.open(0, p0);
    let (mut position, mut debt_ratio, mut lower, mut upper) = (vec![], vec![], vec![], vec![]);
    for (h, &p) in price.iter().enumerate() {
        if h > 0 && sim.open {
            sim.accrue(price[h - 1], p);
            sim.protect(h, p);
        }
        if sim.open && h > 0 && h % 720 == 0 {
            sim.compound(h, p);
        }
        if sim.open && h >= TWO_SIDED_FROM && sim.q == 0.0 {
            sim.recenter(h, p);
        }
        if !sim.open && sim.reopen_at == Some(h) {
            sim.open(h, p);
        }
        position.push(sim.equity(p));
        debt_ratio.push(sim.open.then(|| sim.debt(p) / sim.value(p)));
        let (lo, up) = sim.liquidation_prices();
        lower.push(lo);
        upper.push(up);
    }
    let last = HOURS - 1;
    sim.act(
        last,
        "close",
        price[last],
        format!("Closed at the end: {} USDC", money(position[last])),
    );

    let lp_growth = |h: usize| (1.0 + FEE_APR / HOURS_PER_YEAR).powi(h as i32);
    let equity = vec![
        Series { name: "3x leveraged LP".into(), values: position },
        Series {
            name: "Hold 50/50".into(),
            values: price.iter().map(|p| DEPOSIT * (0.5 + 0.5 * p / p0)).collect(),
        },
        Series {
            name: "Unleveraged LP".into(),
            values: (0..HOURS).map(|h| DEPOSIT * (price[h] / p0).sqrt() * lp_growth(h)).collect(),
        },
        Series {
            name: "Lending only".into(),
            values: (0..HOURS)
                .map(|h| DEPOSIT * (1.0 + 0.03 / HOURS_PER_YEAR).powi(h as i32))
                .collect(),
        },
        Series {
            name: "Hold ETH".into(),
            values: price.iter().map(|p| DEPOSIT * p / p0).collect(),
        },
    ];
    let liquidations = sim.actions.iter().filter(|a| a.kind == "liquidation").count();
    let notes = [
        "liquidated and re-opened 21 days later",
        "half in USDC, half in ETH",
        "fees reinvested",
        "USDC supply at 3%",
        "",
    ];
    let summary = equity
        .iter()
        .zip(notes)
        .map(|(s, note)| summarize(s, liquidations > 0 && s.name.starts_with("3x"), note))
        .collect();
    let pnl_total = equity[0].values[last] - DEPOSIT;
    let p = &sim.pnl;
    let tracked =
        p.fees + p.rewards + p.interest + p.exposure + p.trading + p.protection + p.liquidation;
    BacktestReport {
        title: "3x long ETH on ETH-USDC, 2018-05-15 to 2023-01-17".into(),
        subtitle: "Synthetic hourly ETH/USD prices \u{b7} levfarm exact engine (U256 fixed point)"
            .into(),
        facts: vec![
            ("Leverage".into(), "3.00x".into()),
            ("Pool".into(), "ETH-USDC constant product, 0.30% fee".into()),
            ("Deposit".into(), "10,000 USDC".into()),
            ("Rate model".into(), "USDC 8% APR, ETH 3% APR (flat)".into()),
            ("Kill factor / work factor".into(), "83.33% / 70.00%".into()),
            ("Protections".into(), "auto-deleverage at 75% to 60%; re-leverage at 45%".into()),
        ],
        summary,
        times,
        equity,
        price,
        liquidation_lower: lower,
        liquidation_upper: upper,
        debt_ratio,
        kill_factor: KILL,
        work_factor: WORK,
        triggers: vec![
            ("auto-deleverage".into(), DELEVERAGE_AT),
            ("re-leverage".into(), RELEVERAGE_AT),
        ],
        pnl: vec![
            item("Trading fees", p.fees),
            item("Farm rewards", p.rewards),
            item("Interest", p.interest),
            // What the tracked terms miss (float rounding) goes into IL, so the items sum exactly.
            item("Impermanent loss", p.il + (pnl_total - tracked - p.il)),
            item("Price exposure", p.exposure),
            item("Trading costs", p.trading),
            item("Protection costs", p.protection),
            item("Liquidation costs", p.liquidation),
        ],
        pnl_total,
        actions: sim.actions,
        notes: vec![
            "Utilization data covers 2020-12..2022-07; held at the edge values outside.".into(),
            "Prices are synthetic: a formula shaped like ETH/USD, for exercising the renderer."
                .into(),
        ],
        sources: vec![
            "Prices: deterministic formula in tests/support (real data: https://example.org/data)"
                .into(),
        ],
    }
}

fn summarize(series: &Series, liquidated: bool, note: &str) -> SummaryRow {
    let last = *series.values.last().unwrap();
    let years = HOURS as f64 / HOURS_PER_YEAR;
    let (mut peak, mut max_drawdown) = (f64::MIN, 0.0f64);
    for &v in &series.values {
        peak = peak.max(v);
        max_drawdown = max_drawdown.max(1.0 - v / peak);
    }
    SummaryRow {
        name: series.name.clone(),
        final_equity: last,
        pnl: last - DEPOSIT,
        net_apy: (last / DEPOSIT).powf(1.0 / years) - 1.0,
        max_drawdown,
        liquidated,
        note: note.into(),
    }
}

fn item(name: &str, value: f64) -> PnlItem {
    PnlItem { name: name.into(), value }
}

fn money(v: f64) -> String {
    let whole = format!("{:.2}", v.abs());
    let (int, frac) = whole.split_once('.').unwrap();
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}.{frac}", if v < 0.0 { "-" } else { "" })
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}
