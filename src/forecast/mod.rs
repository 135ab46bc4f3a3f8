//! Demand forecasting (SPEC 10.1), pure arithmetic over a daily history: simple exponential
//! smoothing, Croston's method, its Syntetos–Boylan correction, Teunter–Syntetos–Babai and
//! ADIDA, each as Nixtla statsforecast 2.1.1 computes it (the known-answer tests hold us to its
//! numbers), and `auto`, which picks per series the method with the lowest RMSSE on the last 28
//! days when fit on the days before.
//!
//! Every method forecasts a flat rate per day. Alongside it, each gives its in-sample
//! one-day-ahead fit, whose errors' spread is the `sigma` reorder points are sized with.

mod advice;
mod csv;
mod methods;

pub use advice::{Advice, Standing, advise, inventory_position, normal_quantile};
pub use csv::{CsvError, Histories, parse_histories};
pub use methods::{Fit, Method, auto, fit, is_lumpy, rate};

/// Days held out to choose a method, and the shortest history `auto` chooses on.
pub const HOLDOUT_DAYS: usize = 28;

/// The standard deviation of the one-day-ahead errors where the fit is defined (0 with fewer
/// than two).
pub fn sigma(y: &[f64], fitted: &[f64]) -> f64 {
    let errors: Vec<f64> = y.iter().zip(fitted).filter(|(_, f)| f.is_finite()).map(|(y, f)| y - f).collect();
    if errors.len() < 2 {
        return 0.0;
    }
    let n = errors.len() as f64;
    let mean = errors.iter().sum::<f64>() / n;
    (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / n).sqrt()
}

#[cfg(test)]
mod tests;
