//! The overview's backlog chart: inline SVG drawn on the server from the daily record, with a
//! sentence that says what it shows (its text alternative) and the figures in a table for a
//! screen reader. No script and no chart library: the page is complete as it arrives.

use serde::Serialize;
use time::Date;

/// The drawing's own coordinates; CSS scales it to the card's width.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

#[derive(Debug, Serialize)]
pub(super) struct Chart {
    pub width: f64,
    pub height: f64,
    /// The outline of the filled area and the line over it (`d` of SVG paths).
    pub area: String,
    pub line: String,
    pub max: u64,
    pub first_day: String,
    pub last_day: String,
    /// The text alternative.
    pub summary: String,
    /// Every day and its backlog, for the table behind the chart.
    pub days: Vec<(String, u64)>,
}

/// The chart of `points` (one per day, oldest first).
pub(super) fn backlog(points: &[(Date, u64)]) -> Option<Chart> {
    let (first, last) = (points.first()?, points.last()?);
    // One day is a level, drawn across the whole width.
    let drawn: Vec<(Date, u64)> = if points.len() == 1 { vec![*first, *first] } else { points.to_vec() };
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let scale = if max == 0 { 0.0 } else { (HEIGHT - 8.0) / max as f64 };
    let step = WIDTH / (drawn.len() - 1) as f64;
    let xy: Vec<(f64, f64)> =
        drawn.iter().enumerate().map(|(i, (_, v))| (i as f64 * step, HEIGHT - *v as f64 * scale)).collect();
    let line: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let line = format!("M{}", line.join(" L"));
    let area = format!("{line} L{:.1},{HEIGHT:.1} L0,{HEIGHT:.1} Z", xy.last().map_or(0.0, |p| p.0));
    let peak = points.iter().rev().max_by_key(|(_, v)| *v).map_or(first, |p| p);
    let summary = if points.len() == 1 {
        format!("Units waiting on {}, the first day of the record: {}.", first.0, first.1)
    } else {
        format!(
            "Units waiting over the last {} days: {} on {}, {} on {}; the highest was {} on {}.",
            points.len(),
            first.1,
            first.0,
            last.1,
            last.0,
            peak.1,
            peak.0
        )
    };
    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        area,
        line,
        max,
        first_day: first.0.to_string(),
        last_day: last.0.to_string(),
        summary,
        days: points.iter().map(|(d, v)| (d.to_string(), *v)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn the_summary_names_the_first_the_last_and_the_highest_day() {
        let chart = backlog(&[(date!(2026 - 12 - 01), 2), (date!(2026 - 12 - 02), 9), (date!(2026 - 12 - 03), 4)])
            .expect("points");
        assert_eq!(
            chart.summary,
            "Units waiting over the last 3 days: 2 on 2026-12-01, 4 on 2026-12-03; the highest was 9 on 2026-12-02."
        );
        assert_eq!(chart.max, 9);
        assert!(chart.line.starts_with("M0.0,"), "{}", chart.line);
    }

    #[test]
    fn a_flat_empty_backlog_draws_along_the_bottom() {
        let chart = backlog(&[(date!(2026 - 12 - 01), 0), (date!(2026 - 12 - 02), 0)]).expect("points");
        assert_eq!(chart.line, "M0.0,160.0 L600.0,160.0");
        assert!(backlog(&[]).is_none());
    }

    #[test]
    fn a_single_day_is_drawn_as_a_level_across_the_chart() {
        let chart = backlog(&[(date!(2026 - 12 - 04), 2)]).expect("points");
        assert_eq!(chart.line, "M0.0,8.0 L600.0,8.0");
        assert_eq!(chart.summary, "Units waiting on 2026-12-04, the first day of the record: 2.");
    }
}
