//! The methods, each as statsforecast 2.1.1 computes it (`models.py` and `src/ses.cpp` of that
//! release): the same recursions, the same starting values, the same edge cases (an empty
//! demand series, a single day, all zeros), and ADIDA's aggregation level rounded half to even,
//! as Python's `round` does.

use super::HOLDOUT_DAYS;

/// A forecasting method of SPEC 10.1, in the order `auto` breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Ses,
    Croston,
    Sba,
    Tsb,
    Adida,
}

impl Method {
    pub const ALL: [Method; 5] = [Method::Ses, Method::Croston, Method::Sba, Method::Tsb, Method::Adida];

    pub fn name(self) -> &'static str {
        match self {
            Method::Ses => "ses",
            Method::Croston => "croston",
            Method::Sba => "sba",
            Method::Tsb => "tsb",
            Method::Adida => "adida",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// `SimpleExponentialSmoothing(alpha=0.1)`, `TSB(alpha_d=0.1, alpha_p=0.1)`, Croston's 0.1.
const ALPHA: f64 = 0.1;
/// SBA's correction, 1 − α/2.
const SBA: f64 = 0.95;

/// A method's forecast per day and its in-sample one-day-ahead fit (NaN where it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub method: Method,
    pub rate: f64,
    pub fitted: Vec<f64>,
}

/// One-step SES: the forecast after `x`, and the fit (`fitted[0]` undefined). A single value is
/// its own forecast.
fn ses(x: &[f64], alpha: f64) -> (f64, Vec<f64>) {
    match x {
        [] => (0.0, Vec::new()),
        [only] => (*only, vec![f64::NAN]),
        _ => {
            let mut fitted = vec![0.0; x.len()];
            fitted[0] = x[0];
            for i in 1..x.len() {
                fitted[i] = alpha * x[i - 1] + (1.0 - alpha) * fitted[i - 1];
            }
            let n = x.len() - 1;
            let forecast = alpha * x[n] + (1.0 - alpha) * fitted[n];
            fitted[0] = f64::NAN;
            (forecast, fitted)
        }
    }
}

fn ses_sse(alpha: f64, x: &[f64]) -> f64 {
    let Some(&first) = x.first() else { return 0.0 };
    let mut forecast = first;
    let mut sse = 0.0;
    for i in 1..x.len() {
        forecast = alpha * x[i - 1] + (1.0 - alpha) * forecast;
        sse += (x[i] - forecast).powi(2);
    }
    sse
}

/// The α in `[lower, upper]` with the least squared one-step error, by golden-section search.
fn golden_section(x: &[f64], lower: f64, upper: f64) -> f64 {
    let gr = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (lower, upper);
    let mut c = b - (b - a) / gr;
    let mut d = a + (b - a) / gr;
    let (mut fc, mut fd) = (ses_sse(c, x), ses_sse(d, x));
    while (b - a).abs() >= 1e-12 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - (b - a) / gr;
            fc = ses_sse(c, x);
        } else if fd < fc {
            a = c;
            c = d;
            fc = fd;
            d = a + (b - a) / gr;
            fd = ses_sse(d, x);
        } else {
            break;
        }
    }
    (a + b) / 2.0
}

/// ADIDA's forecast of the next bucket of `level` days: the history cut to whole buckets from
/// its end, summed per bucket, and smoothed with the best α in [0.1, 0.3].
fn chunk_forecast(y: &[f64], level: usize) -> f64 {
    let n = y.len();
    let lost = n % level;
    if n - lost < level {
        return y.last().copied().unwrap_or(0.0);
    }
    let sums: Vec<f64> = y[lost..].chunks(level).map(|c| c.iter().sum()).collect();
    if sums.len() <= 1 {
        return sums[0];
    }
    ses(&sums, golden_section(&sums, 0.1, 0.3)).0
}

fn demand(y: &[f64]) -> Vec<f64> {
    y.iter().copied().filter(|v| *v > 0.0).collect()
}

/// The days from each demand to the one before (the first counted from the day before the
/// history).
fn intervals(y: &[f64]) -> Vec<f64> {
    let mut last = 0usize;
    let mut out = Vec::new();
    for (i, v) in y.iter().enumerate() {
        if *v != 0.0 {
            out.push((i + 1 - last) as f64);
            last = i + 1;
        }
    }
    out
}

/// Python's `round`: halves to the even neighbour.
fn round_half_even(x: f64) -> f64 {
    if (x - x.trunc()).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { x.round() }
}

/// A fit over demand days spread over every day: each day takes the fit after the last demand
/// before it (`y[i-1]` itself before the first demand).
fn expand_demand(fitted: &[f64], y: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; y.len()];
    let mut idx = 0;
    for i in 1..y.len() {
        out[i] = if y[i - 1] > 0.0 {
            idx += 1;
            fitted.get(idx).copied().unwrap_or(f64::NAN)
        } else if idx > 0 {
            out[i - 1]
        } else {
            y[i - 1]
        };
    }
    out
}

/// As [`expand_demand`] for intervals: 1 before the first demand, and for a fit of 0.
fn expand_intervals(fitted: &[f64], y: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; y.len()];
    let mut idx = 0;
    for i in 1..y.len() {
        out[i] = if y[i - 1] != 0.0 {
            idx += 1;
            let f = fitted.get(idx).copied().unwrap_or(f64::NAN);
            if f == 0.0 { 1.0 } else { f }
        } else if idx > 0 {
            out[i - 1]
        } else {
            1.0
        };
    }
    out
}

fn naive(y: &[f64]) -> (f64, Vec<f64>) {
    let fitted = std::iter::once(f64::NAN).chain(y.iter().copied()).take(y.len()).collect();
    (y.last().copied().unwrap_or(0.0), fitted)
}

fn zeros(y: &[f64]) -> (f64, Vec<f64>) {
    let mut fitted = vec![0.0; y.len()];
    if let Some(first) = fitted.first_mut() {
        *first = f64::NAN;
    }
    (0.0, fitted)
}

fn croston(y: &[f64], with_fit: bool) -> (f64, Vec<f64>) {
    let yd = demand(y);
    if yd.is_empty() {
        return naive(y);
    }
    let (ydp, ydf) = ses(&yd, ALPHA);
    let yi = intervals(y);
    let (yip, yif) = ses(&yi, ALPHA);
    let mean = if yip != 0.0 { ydp / yip } else { ydp };
    if !with_fit {
        return (mean, Vec::new());
    }
    let size = expand_demand(&[ydf, vec![ydp]].concat(), y);
    let interval = expand_intervals(&[yif, vec![yip]].concat(), y);
    (mean, size.iter().zip(&interval).map(|(s, i)| s / i).collect())
}

fn tsb(y: &[f64], with_fit: bool) -> (f64, Vec<f64>) {
    if y.iter().all(|v| *v == 0.0) {
        return zeros(y);
    }
    let probability: Vec<f64> = y.iter().map(|v| if *v != 0.0 { 1.0 } else { 0.0 }).collect();
    let (ypf, ypft) = ses(&probability, ALPHA);
    let (ydf, ydft) = ses(&demand(y), ALPHA);
    if !with_fit {
        return (ypf * ydf, Vec::new());
    }
    let size = expand_demand(&[ydft, vec![ydf]].concat(), y);
    (ypf * ydf, ypft.iter().zip(&size).map(|(p, s)| p * s).collect())
}

fn adida(y: &[f64], with_fit: bool) -> (f64, Vec<f64>) {
    if y.iter().all(|v| *v == 0.0) {
        return zeros(y);
    }
    let yi = intervals(y);
    let level = round_half_even(yi.iter().sum::<f64>() / yi.len() as f64).max(1.0) as usize;
    let forecast = chunk_forecast(y, level) / level as f64;
    if !with_fit {
        return (forecast, Vec::new());
    }
    // Each day's fit uses the level the intervals seen so far give, as statsforecast does.
    let mut running = Vec::with_capacity(yi.len() + 1);
    running.push(f64::NAN);
    let mut sum = 0.0;
    for (k, i) in yi.iter().enumerate() {
        sum += i;
        running.push(round_half_even(sum / (k + 1) as f64));
    }
    let levels = expand_intervals(&running, y);
    let mut fitted = vec![f64::NAN; y.len()];
    for i in 0..y.len().saturating_sub(1) {
        let level = (levels[i + 1] as usize).max(1);
        fitted[i + 1] = chunk_forecast(&y[..=i], level) / level as f64;
    }
    (forecast, fitted)
}

fn run(method: Method, y: &[f64], with_fit: bool) -> (f64, Vec<f64>) {
    if y.is_empty() {
        return (0.0, Vec::new());
    }
    match method {
        Method::Ses => {
            let (rate, fitted) = ses(y, ALPHA);
            (rate, if with_fit { fitted } else { Vec::new() })
        }
        Method::Croston => croston(y, with_fit),
        Method::Sba => {
            let (rate, fitted) = croston(y, with_fit);
            (rate * SBA, fitted.into_iter().map(|f| f * SBA).collect())
        }
        Method::Tsb => tsb(y, with_fit),
        Method::Adida => adida(y, with_fit),
    }
}

/// The method's forecast per day for the day after `y`.
pub fn rate(method: Method, y: &[f64]) -> f64 {
    run(method, y, false).0
}

/// The method's forecast and in-sample fit.
pub fn fit(method: Method, y: &[f64]) -> Fit {
    let (rate, fitted) = run(method, y, true);
    Fit { method, rate, fitted }
}

/// The method `auto` picks for `y`: the lowest RMSSE over the last [`HOLDOUT_DAYS`] when fit on
/// the days before (the mean squared error where the scale, the mean squared day-to-day change
/// of those days, is 0); ties go to the earlier of [`Method::ALL`]; `sba` for a history of
/// [`HOLDOUT_DAYS`] days or fewer.
pub fn auto(y: &[f64]) -> Method {
    if y.len() <= HOLDOUT_DAYS {
        return Method::Sba;
    }
    let (train, test) = y.split_at(y.len() - HOLDOUT_DAYS);
    let scale = if train.len() < 2 {
        0.0
    } else {
        train.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (train.len() - 1) as f64
    };
    let mut best = (Method::Sba, f64::INFINITY);
    for method in Method::ALL {
        let r = rate(method, train);
        let mse = test.iter().map(|v| (v - r).powi(2)).sum::<f64>() / test.len() as f64;
        let score = if scale > 0.0 { (mse / scale).sqrt() } else { mse };
        if score < best.1 {
            best = (method, score);
        }
    }
    best.0
}

/// Syntetos–Boylan: lumpy when the mean interval between demands exceeds 1.32 and the squared
/// coefficient of variation of the non-zero sizes exceeds 0.49.
pub fn is_lumpy(y: &[f64]) -> bool {
    let sizes = demand(y);
    if sizes.len() < 2 {
        return false;
    }
    let gaps = intervals(y);
    let adi = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let n = sizes.len() as f64;
    let mean = sizes.iter().sum::<f64>() / n;
    let variance = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
    adi > 1.32 && variance / (mean * mean) > 0.49
}

#[cfg(test)]
pub(super) fn round_half_even_for_tests(x: f64) -> f64 {
    round_half_even(x)
}
