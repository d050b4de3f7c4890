//! A backtest's output as JSON, CSV and Parquet present it (the HTML page is the report crate's
//! [`levfarm_report::from_backtest`]).

use alloy_primitives::U256;
use levfarm_sim::backtest::RunResult;
use levfarm_sim::book::Pnl;
use levfarm_sim::data::iso;
use levfarm_sim::world::wad_to_f64;
use levfarm_sim::BacktestOutput;
use serde_json::{json, Value};

/// An exact signed 1e18 figure as decimal text: `-1234.5`.
pub fn wad_text(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let abs = v.unsigned_abs();
    let (whole, frac) = (abs / 1_000_000_000_000_000_000, abs % 1_000_000_000_000_000_000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:018}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

fn u256_wad_text(v: U256) -> String {
    i128::try_from(v).map(wad_text).unwrap_or_else(|_| v.to_string())
}

pub(crate) fn pnl_json(pnl: &Pnl) -> Value {
    let mut parts = serde_json::Map::new();
    for (name, v) in pnl.parts() {
        parts.insert(name.replace(' ', "_"), json!(wad_text(v)));
    }
    parts.insert("total".into(), json!(wad_text(pnl.total())));
    Value::Object(parts)
}

pub(crate) fn run_json(r: &RunResult) -> Value {
    json!({
        "strategy": r.strategy,
        "contributed": wad_text(r.contributed),
        "final_equity": wad_text(r.final_equity),
        "pnl": pnl_json(&r.pnl),
        // Beside the parts, not one of them: the parts add up to `pnl.total`.
        "loss_versus_rebalancing": wad_text(r.pnl.loss_versus_rebalancing),
        "stats": r.stats,
        "liquidated_at": r.liquidated_at.map(iso),
        "closed_at": r.closed_at.map(iso),
        "bars_above_work_factor": r.bars_above_work,
        "bars_near_kill_factor": r.bars_near_kill,
        "actions": r.actions.iter().map(|a| json!({
            "time": iso(a.time),
            "kind": a.kind.as_str(),
            "price": u256_wad_text(a.price),
            "equity_before": wad_text(a.equity_before),
            "equity_after": wad_text(a.equity_after),
            "change": wad_text(a.change),
            "debt_ratio_before_bps": a.debt_ratio_before_bps,
            "debt_ratio_after_bps": a.debt_ratio_after_bps,
            "detail": a.detail,
        })).collect::<Vec<_>>(),
    })
}

/// The result for machines: exact figures as decimal strings, statistics as numbers; the
/// bar-by-bar series is in `--csv`.
pub fn json(output: &BacktestOutput) -> Value {
    json!({
        "scenario": output.scenario,
        "source": output.source,
        "start": iso(output.start),
        "end": iso(output.end),
        "bars": output.bars,
        "interval_seconds": output.interval,
        "gaps": output.gaps,
        "filled_bars": output.filled,
        "leveraged": run_json(&output.main),
        "alternatives": output.alternatives.iter().map(run_json).collect::<Vec<_>>(),
        "notes": output.notes,
    })
}

/// The bar-by-bar series: the position's figures, then each alternative's equity.
pub fn csv(output: &BacktestOutput) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "time",
        "unix_s",
        "price",
        "equity",
        "debt_ratio",
        "leverage",
        "debt_value",
        "liquidation_price_lower",
        "liquidation_price_upper",
        "stable_borrow_rate",
        "in_range",
    ]
    .map(String::from)
    .to_vec();
    for alt in &output.alternatives {
        header.push(format!(
            "equity_{}",
            alt.strategy.label().to_lowercase().replace([' ', '/'], "_")
        ));
    }
    w.write_record(&header)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (i, s) in output.main.samples.iter().enumerate() {
        let mut row = vec![
            iso(s.time),
            s.time.to_string(),
            u256_wad_text(s.price),
            wad_text(s.equity),
            opt(s.debt_ratio_bps.map(|b| format!("{}", b as f64 / 1e4))),
            opt(s.leverage_bps.map(|b| format!("{}", b as f64 / 1e4))),
            opt(s.debt_value.map(u256_wad_text)),
            opt(s.liquidation_lower.map(u256_wad_text)),
            opt(s.liquidation_upper.map(u256_wad_text)),
            format!("{}", wad_to_f64(s.borrow_rate / U256::from(1_000_000_000u64))),
            opt(s.in_range.map(|b| b.to_string())),
        ];
        for alt in &output.alternatives {
            row.push(alt.samples.get(i).map_or(String::new(), |a| wad_text(a.equity)));
        }
        w.write_record(&row)?;
    }
    Ok(w.into_inner()?)
}

#[cfg(feature = "parquet")]
pub fn parquet(path: &std::path::Path, output: &BacktestOutput) -> anyhow::Result<()> {
    use std::sync::Arc;

    use parquet::data_type::{DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let mut message = String::from(
        "message backtest { REQUIRED INT64 unix_s; REQUIRED DOUBLE price; REQUIRED DOUBLE equity; \
         OPTIONAL DOUBLE debt_ratio; OPTIONAL DOUBLE liquidation_price_lower; OPTIONAL DOUBLE liquidation_price_upper;",
    );
    for alt in &output.alternatives {
        message.push_str(&format!(
            " REQUIRED DOUBLE equity_{};",
            alt.strategy.label().to_lowercase().replace([' ', '/'], "_")
        ));
    }
    message.push_str(" }");
    let schema = Arc::new(parse_message_type(&message)?);
    let file = std::fs::File::create(path)?;
    let mut writer =
        SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))?;
    let samples = &output.main.samples;
    let mut group = writer.next_row_group()?;
    let times: Vec<i64> = samples.iter().map(|s| s.time).collect();
    let mut col = group.next_column()?.ok_or_else(|| anyhow::anyhow!("no column"))?;
    col.typed::<Int64Type>().write_batch(&times, None, None)?;
    col.close()?;
    let required: [Vec<f64>; 2] = [
        samples.iter().map(|s| wad_to_f64(s.price)).collect(),
        samples.iter().map(|s| s.equity as f64 / 1e18).collect(),
    ];
    for values in required {
        let mut col = group.next_column()?.ok_or_else(|| anyhow::anyhow!("no column"))?;
        col.typed::<DoubleType>().write_batch(&values, None, None)?;
        col.close()?;
    }
    let optional: [Vec<Option<f64>>; 3] = [
        samples.iter().map(|s| s.debt_ratio_bps.map(|b| b as f64 / 1e4)).collect(),
        samples.iter().map(|s| s.liquidation_lower.map(wad_to_f64)).collect(),
        samples.iter().map(|s| s.liquidation_upper.map(wad_to_f64)).collect(),
    ];
    for values in optional {
        let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let mut col = group.next_column()?.ok_or_else(|| anyhow::anyhow!("no column"))?;
        col.typed::<DoubleType>().write_batch(&present, Some(&levels), None)?;
        col.close()?;
    }
    for alt in &output.alternatives {
        let values: Vec<f64> = alt.samples.iter().map(|s| s.equity as f64 / 1e18).collect();
        let mut col = group.next_column()?.ok_or_else(|| anyhow::anyhow!("no column"))?;
        col.typed::<DoubleType>().write_batch(&values, None, None)?;
        col.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}
