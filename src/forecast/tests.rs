//! Known answers (tests/data/forecast, made by `scripts/forecast-reference.py` with statsforecast
//! 2.1.1), `auto` by its definition, and the CSV reader against any input.

use proptest::prelude::*;
use serde_json::Value;

use super::*;

const EXPECTED: &str = include_str!("../../tests/data/forecast/expected.json");
const HISTORIES: &str = include_str!("../../tests/data/forecast/histories.csv");

/// 1e-6 relative; ADIDA's α is found by a search, so 1e-4 (SPEC 10.1). Zero matches zero.
fn close(method: Method, ours: f64, theirs: f64) -> bool {
    let tolerance = if method == Method::Adida { 1e-4 } else { 1e-6 };
    (ours - theirs).abs() <= tolerance * theirs.abs().max(1e-12)
}

fn reference() -> Value {
    serde_json::from_str(EXPECTED).expect("the known answers are JSON")
}

#[test]
fn every_method_matches_statsforecast_on_every_reference_series() {
    let reference = reference();
    assert_eq!(reference["statsforecast"], "2.1.1");
    let series = reference["series"].as_object().unwrap();
    assert!(series.len() >= 10);
    for (name, s) in series {
        let y: Vec<f64> = s["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for method in Method::ALL {
            let theirs = s["forecast"][method.name()][0].as_f64().unwrap();
            let ours = rate(method, &y);
            assert!(close(method, ours, theirs), "{name} {}: ours {ours}, statsforecast {theirs}", method.name());
            assert_eq!(fit(method, &y).rate, ours, "the fit forecasts the same");
        }
    }
}

#[test]
fn the_file_read_as_the_cli_reads_it_matches_statsforecast_on_the_padded_series() {
    let histories = parse_histories(HISTORIES).unwrap();
    let reference = reference();
    for (name, y) in &histories.series {
        let s = &reference["series"][name];
        for method in Method::ALL {
            let theirs = s["file_forecast"][method.name()][0].as_f64().unwrap();
            assert!(close(method, rate(method, y), theirs), "{name} {}", method.name());
        }
    }
}

#[test]
fn the_edge_cases_answer_as_defined() {
    // No history: nothing forecast. All zeros: 0 by every method.
    for method in Method::ALL {
        assert_eq!(rate(method, &[]), 0.0);
        assert_eq!(rate(method, &[0.0; 9]), 0.0);
    }
    // A single day is its own forecast (SBA corrects it).
    assert_eq!(rate(Method::Croston, &[3.0]), 3.0);
    assert_eq!(rate(Method::Sba, &[3.0]), 3.0 * 0.95);
    // One demand of 5 on day 4: Croston's size 5 over interval 4.
    assert_eq!(rate(Method::Croston, &[0.0, 0.0, 0.0, 5.0, 0.0]), 1.25);
}

#[test]
fn python_rounds_halves_to_the_even_neighbour_and_so_does_adidas_level() {
    let r = methods::round_half_even_for_tests;
    assert_eq!((r(0.5), r(1.5), r(2.5), r(3.5), r(2.4), r(2.6)), (0.0, 2.0, 2.0, 4.0, 2.0, 3.0));
}

#[test]
fn auto_takes_sba_on_a_short_history_and_otherwise_the_lowest_holdout_error() {
    assert_eq!(auto(&[1.0; HOLDOUT_DAYS]), Method::Sba);
    let reference = reference();
    for (name, s) in reference["series"].as_object().unwrap() {
        let y: Vec<f64> = s["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        if y.len() <= HOLDOUT_DAYS {
            continue;
        }
        let chosen = auto(&y);
        let (train, test) = y.split_at(y.len() - HOLDOUT_DAYS);
        let mse = |m: Method| {
            let r = rate(m, train);
            test.iter().map(|v| (v - r).powi(2)).sum::<f64>() / test.len() as f64
        };
        // The scale is the same for every method of a series: the lowest RMSSE is the lowest MSE.
        for m in Method::ALL {
            assert!(mse(chosen) <= mse(m), "{name}: {} chosen over {}", chosen.name(), m.name());
        }
    }
}

#[test]
fn a_lumpy_series_is_told_from_a_smooth_and_an_intermittent_one() {
    assert!(is_lumpy(&[0.0, 0.0, 9.0, 0.0, 0.0, 1.0, 0.0, 0.0, 20.0, 0.0]));
    assert!(!is_lumpy(&[3.0, 4.0, 3.0, 5.0, 4.0]), "smooth");
    assert!(!is_lumpy(&[0.0, 2.0, 0.0, 0.0, 2.0, 0.0, 2.0]), "intermittent: sizes alike");
}

#[test]
fn sigma_is_the_spread_of_the_one_day_ahead_errors() {
    let y = [1.0, 3.0, 1.0, 3.0];
    assert_eq!(sigma(&y, &[f64::NAN, 2.0, 2.0, 2.0]), (8.0f64 / 9.0).sqrt());
    assert_eq!(sigma(&[5.0], &[f64::NAN]), 0.0);
}

#[test]
fn a_bad_file_is_refused_naming_its_line() {
    let refused = |text: &str| parse_histories(text).unwrap_err().to_string();
    assert!(refused("").contains("empty"));
    assert!(refused("name,day,units\n").contains("header"));
    assert!(refused("series,date,qty\na,2026-13-01,1\n").contains("line 2"));
    assert!(refused("series,date,qty\na,2026-01-01,-1\n").contains("0 or more"));
    assert!(refused("series,date,qty\na,2026-01-01,1,2\n").contains("three fields"));
    assert!(refused("series,date,qty\na,1990-01-01,1\na,2026-01-01,1\n").contains("20 years"));
    let ok = parse_histories("series,date,qty\r\nb,2026-01-03,2\r\na,2026-01-01,1\r\nb,2026-01-03,1.5\r\n").unwrap();
    assert_eq!(ok.series, [("b".to_string(), vec![0.0, 0.0, 3.5]), ("a".to_string(), vec![1.0, 0.0, 0.0])]);
}

#[test]
fn the_normal_quantile_matches_the_tables() {
    for (p, z) in [
        (0.5, 0.0),
        (0.95, 1.6448536269514722),
        (0.975, 1.959963984540054),
        (0.999, 3.090232306167813),
        (0.05, -1.6448536269514722),
    ] {
        assert!((normal_quantile(p) - z).abs() <= 1e-8 * z.abs().max(1.0), "z({p}) = {} not {z}", normal_quantile(p));
    }
}

fn standing(demand: Vec<f64>) -> Standing {
    Standing {
        demand,
        ordered: 100,
        cancelled: 4,
        lead_time_days: 10,
        lead_time_spread: None,
        service_level: 0.95,
        available: -6,
        backordered: 6,
        incoming: 12,
        today: crate::ledger::eta::parse("2026-12-05").unwrap(),
    }
}

#[test]
fn steady_demand_needs_no_safety_stock_and_orders_for_the_backlog_and_the_lead_time() {
    let a = advise(&standing(vec![2.0; 60]));
    assert_eq!((a.demand_per_day, a.sigma_per_day, a.safety_stock, a.reorder_point), (2.0, 0.0, 0, 20));
    // 6 waiting + 20 over the lead time, less the 12 coming: 14.
    assert_eq!(a.suggested_order_qty, 14);
    assert_eq!((a.inventory_position, a.on_hand, a.days_of_cover), (6, 0, Some(0)));
    assert_eq!(a.order_by.as_deref(), Some("2026-12-05"), "below the reorder point already: order today");
    assert_eq!(a.cancel_rate, 0.04);
}

#[test]
fn noisier_demand_holds_more_safety_stock_and_a_higher_service_level_more_again() {
    let noisy: Vec<f64> = (0..120).map(|i| [0.0, 5.0, 1.0, 3.0, 0.0, 4.0, 1.0][i % 7]).collect();
    let calm = advise(&standing(vec![2.0; 120]));
    let at_95 = advise(&standing(noisy.clone()));
    let mut more = standing(noisy);
    more.service_level = 0.99;
    let at_99 = advise(&more);
    assert!(at_95.safety_stock > calm.safety_stock && at_99.safety_stock > at_95.safety_stock);
    // The point is the lead time's demand plus the safety stock, each rounded up once.
    let unrounded = at_95.demand_per_day * 10.0 + at_95.safety_stock as f64;
    assert!((unrounded - at_95.reorder_point as f64).abs() < 1.0, "{at_95:?}");
}

#[test]
fn stock_above_the_reorder_point_can_wait_to_be_ordered_until_it_falls_there() {
    let mut s = standing(vec![2.0; 60]);
    (s.available, s.backordered, s.incoming) = (40, 0, 0);
    let a = advise(&s);
    // 40 − 20 = 20 units above the reorder point, at 2 a day: 10 days.
    assert_eq!((a.order_by.as_deref(), a.days_of_cover, a.suggested_order_qty), (Some("2026-12-15"), Some(20), 0));
    s.demand = vec![0.0; 60];
    assert_eq!((advise(&s).order_by, advise(&s).days_of_cover), (None, None), "no demand: no date");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::ledger::proptest_cases(256)))]

    /// Any text: histories or a clear error, never a panic.
    #[test]
    fn any_text_is_read_or_refused(text in ".{0,400}") {
        let _ = parse_histories(&format!("series,date,qty\n{text}"));
        let _ = parse_histories(&text);
    }

    /// Any non-negative history: every method forecasts a finite, non-negative rate, no higher
    /// than the largest day, and `auto` picks one of them.
    #[test]
    fn any_history_gets_a_finite_rate_within_its_range(y in proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..50.0], 0..120)) {
        let top = y.iter().copied().fold(0.0, f64::max);
        for method in Method::ALL {
            let r = rate(method, &y);
            prop_assert!(r.is_finite() && r >= 0.0 && r <= top + 1e-9, "{} gave {r}", method.name());
            let f = fit(method, &y);
            prop_assert_eq!(f.fitted.len(), y.len());
            prop_assert!(sigma(&y, &f.fitted).is_finite());
        }
        let _ = auto(&y);
        let mut s = standing(y);
        s.service_level = 0.9;
        let a = advise(&s);
        prop_assert!(a.reorder_point as f64 >= (a.demand_per_day * 10.0).floor());
        prop_assert!(a.safety_stock <= a.reorder_point);
    }
}
