//! Demand histories from a CSV file (`backorder insight forecast`, SPEC 3.1): the header
//! `series,date,qty`, then one row per series and day. Every series spans the file's first to
//! last date; a day without a row is 0; rows of one series and day add up. Anything else is
//! refused with its line number, never guessed at.

use std::collections::HashMap;

use time::Date;

/// The longest span a file may cover, in days (20 years): beyond it, a typo in a year.
const MAX_DAYS: i64 = 7_305;
/// The most cells (series × days) one file may ask for.
const MAX_CELLS: usize = 50_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("the file is empty: it needs the header `series,date,qty` and at least one row")]
    Empty,
    #[error("line 1: the header must be `series,date,qty`, not `{0}`")]
    Header(String),
    #[error("line {line}: {what}")]
    Row { line: usize, what: String },
    #[error("the dates span {0} days; at most {MAX_DAYS} (20 years) are read")]
    TooLong(i64),
    #[error("{series} series over {days} days is more than this command reads at once")]
    TooMany { series: usize, days: usize },
}

/// Daily histories, in the order each series first appears.
#[derive(Debug, Clone, PartialEq)]
pub struct Histories {
    pub first: Date,
    pub series: Vec<(String, Vec<f64>)>,
}

pub fn parse_histories(text: &str) -> Result<Histories, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(CsvError::Empty)?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    if columns != ["series", "date", "qty"] {
        return Err(CsvError::Header(header.chars().take(80).collect()));
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut rows: Vec<(usize, Date, f64)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    for (n, line) in lines {
        let line_no = n + 1;
        let bad = |what: &str| CsvError::Row { line: line_no, what: what.to_string() };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [name, date, qty] = fields[..] else {
            return Err(bad("a row has three fields: series,date,qty"));
        };
        if name.is_empty() {
            return Err(bad("the series name is empty"));
        }
        let date = Date::parse(date, format).map_err(|_| bad("the date must be like 2026-12-05"))?;
        let qty: f64 = qty.parse().map_err(|_| bad("the quantity must be a number"))?;
        if !qty.is_finite() || qty < 0.0 {
            return Err(bad("the quantity must be 0 or more"));
        }
        let id = *index.entry(name.to_string()).or_insert_with(|| {
            names.push(name.to_string());
            names.len() - 1
        });
        rows.push((id, date, qty));
    }
    let (Some(first), Some(last)) = (rows.iter().map(|r| r.1).min(), rows.iter().map(|r| r.1).max()) else {
        return Err(CsvError::Empty);
    };
    let span = (last - first).whole_days() + 1;
    if span > MAX_DAYS {
        return Err(CsvError::TooLong(span));
    }
    let days = span as usize;
    if names.len().saturating_mul(days) > MAX_CELLS {
        return Err(CsvError::TooMany { series: names.len(), days });
    }
    let mut series: Vec<(String, Vec<f64>)> = names.into_iter().map(|n| (n, vec![0.0; days])).collect();
    for (id, date, qty) in rows {
        series[id].1[(date - first).whole_days() as usize] += qty;
    }
    Ok(Histories { first, series })
}
