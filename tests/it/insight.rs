//! `backorder insight forecast` (SPEC 3.1) run as a command on the reference histories: each
//! method prints, per series, the forecasts statsforecast 2.1.1 gives for the file as read (every
//! series over the file's first to last date); `auto` picks per series; bad input is refused.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_backorder");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/forecast");

fn forecast(args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let input = format!("{DATA}/histories.csv");
    let out = Command::new(BIN).args(["insight", "forecast", "--input", &input]).args(args).output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code(), lines, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn each_method_prints_for_every_series_the_forecasts_statsforecast_gives_for_the_file() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DATA}/expected.json")).unwrap()).unwrap();
    for method in ["ses", "croston", "sba", "tsb", "adida"] {
        let (code, lines, stderr) = forecast(&["--method", method, "--horizon", "7"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(lines.len(), expected["series"].as_object().unwrap().len());
        let tolerance = if method == "adida" { 1e-4 } else { 1e-6 };
        for line in &lines {
            let name = line["series"].as_str().unwrap();
            assert_eq!(line["method"], method);
            let theirs: Vec<f64> = expected["series"][name]["file_forecast"][method]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let ours: Vec<f64> = line["forecast"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(ours.len(), 7);
            for (o, t) in ours.iter().zip(&theirs) {
                assert!((o - t).abs() <= tolerance * t.abs().max(1e-12), "{name} {method}: {o} vs {t}");
            }
            assert_eq!(line["rate"], line["forecast"][0]);
            assert!(line["sigma"].as_f64().unwrap() >= 0.0);
        }
    }
}

#[test]
fn auto_picks_a_method_per_series_with_a_28_day_horizon_by_default() {
    let (code, lines, stderr) = forecast(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in &lines {
        assert!(["ses", "croston", "sba", "tsb", "adida"].contains(&line["method"].as_str().unwrap()), "{line}");
        assert_eq!(line["forecast"].as_array().unwrap().len(), 28);
    }
}

#[test]
fn a_bad_method_horizon_or_file_is_refused_with_a_clear_message() {
    let (code, _, stderr) = forecast(&["--method", "prophet"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--method must be"), "{stderr}");
    let (code, _, stderr) = forecast(&["--horizon", "0"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--horizon"), "{stderr}");
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "series,date,qty\ntee,2026-02-30,1\n").unwrap();
    let out = Command::new(BIN).args(["insight", "forecast", "--input"]).arg(bad.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"), "{}", String::from_utf8_lossy(&out.stderr));
}
