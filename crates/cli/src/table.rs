//! Plain-text tables and number formats for the terminal.

/// Columns padded to their widest cell; text left-aligned, numbers right-aligned.
pub fn render(header: &[String], rows: &[Vec<String>]) -> String {
    let columns = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0; columns];
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let numeric = |cell: &str| {
        let c = cell.trim_start_matches(['-', '+', '$']);
        c.starts_with(|ch: char| ch.is_ascii_digit())
    };
    let line = |row: &[String]| {
        let mut out = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                out.push_str("  ");
            }
            if numeric(cell) && i > 0 {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = String::new();
    if header.iter().any(|h| !h.is_empty()) {
        out.push_str(&line(header));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(&rule));
    }
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// `12,345.67`, with a sign for negatives: the reports' number formatting, two decimals.
pub fn money(v: f64) -> String {
    levfarm_report::number(v, 2)
}

/// A fraction as a percentage with two decimals.
pub fn percent(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    format!("{:.2}%", v * 100.0)
}

/// A raw token amount (a decimal string of smallest units) in whole tokens: the engine's
/// [`levfarm_core::types::whole_units`]. Text that is not a raw amount comes back as it is.
pub fn whole_units(raw: &str, decimals: u8) -> String {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_string();
    }
    match alloy_primitives::U256::from_str_radix(raw, 10) {
        Ok(amount) => levfarm_core::types::whole_units(amount, decimals),
        Err(_) => raw.to_string(),
    }
}

/// A CSV cell, quoted when it needs to be.
pub fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_keeps_signs() {
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(-950.0), "-950.00");
        assert_eq!(money(0.004), "0.00");
        assert_eq!(money(-0.001), "0.00");
        assert_eq!(money(100.0), "100.00");
        assert_eq!(percent(0.1234), "12.34%");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
    }

    #[test]
    fn raw_amounts_show_in_whole_tokens() {
        // 9559246827265165778 wei is 9.559246827… WETH: six decimals kept, cut.
        assert_eq!(whole_units("9559246827265165778", 18), "9.559246");
        // 20,000 USDC of 6 decimals; 14,979.718898 USDC.
        assert_eq!(whole_units("20000000000", 6), "20,000");
        assert_eq!(whole_units("14979718898", 6), "14,979.718898");
        assert_eq!(whole_units("0", 18), "0");
        assert_eq!(whole_units("5", 18), "0");
        assert_eq!(whole_units("1500000", 6), "1.5");
        assert_eq!(whole_units("123", 0), "123");
        assert_eq!(whole_units("x1", 6), "x1");
    }
}
