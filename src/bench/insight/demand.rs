//! The simulated customers: per variant, a seeded daily demand of one of four shapes, as the
//! demand-insight reference describes real catalogues (smooth sellers, intermittent and lumpy
//! long-tail items, and trending ones), and a supplier whose lead times vary.

use fastrand::Rng;

/// The shape of a variant's demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// Most days sell: Poisson with a steady mean of 2 to 10 a day.
    Smooth,
    /// Few days sell, in small orders: 10–40 % of days, 1–3 units.
    Intermittent,
    /// Few days sell, in orders of very different sizes: 5–25 % of days, 1–24 units.
    Lumpy,
    /// Poisson whose mean grows (or falls) steadily: from 2–6 a day by −40 % to +120 % over the run.
    Trending,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::Smooth, Shape::Intermittent, Shape::Lumpy, Shape::Trending];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Smooth => "smooth",
            Shape::Intermittent => "intermittent",
            Shape::Lumpy => "lumpy",
            Shape::Trending => "trending",
        }
    }
}

/// One variant's customers and supplier.
#[derive(Debug, Clone)]
pub struct Profile {
    pub shape: Shape,
    /// Orders placed per day (each a number of units), before any customer gives up.
    pub orders: Vec<Vec<u32>>,
    /// The supplier's usual lead time (what the merchant types in), in days.
    pub lead_time_days: u32,
    /// Each delivery takes the usual lead time times a factor drawn from this range.
    pub lead_time_range: (f64, f64),
}

/// A Poisson draw (Knuth's product of uniforms; the means here stay small).
pub fn poisson(rng: &mut Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0);
    loop {
        p *= rng.f64();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

fn between(rng: &mut Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.f64()
}

/// The `index`-th variant of a run: shapes in turn, everything else drawn from `rng`.
pub fn profile(rng: &mut Rng, index: usize, days: usize) -> Profile {
    let shape = Shape::ALL[index % Shape::ALL.len()];
    let mut orders = Vec::with_capacity(days);
    match shape {
        Shape::Smooth => {
            let mean = between(rng, 2.0, 10.0);
            for _ in 0..days {
                orders.push(vec![1; poisson(rng, mean) as usize]);
            }
        }
        Shape::Intermittent => {
            let p = between(rng, 0.1, 0.4);
            for _ in 0..days {
                let sells = rng.f64() < p;
                orders.push(if sells { vec![rng.u32(1..=3)] } else { Vec::new() });
            }
        }
        Shape::Lumpy => {
            let p = between(rng, 0.05, 0.25);
            for _ in 0..days {
                // Mostly one or two, now and then a case of a dozen or two.
                let size = if rng.f64() < 0.2 { rng.u32(8..=24) } else { rng.u32(1..=2) };
                orders.push(if rng.f64() < p { vec![size] } else { Vec::new() });
            }
        }
        Shape::Trending => {
            let (start, change) = (between(rng, 2.0, 6.0), between(rng, -0.4, 1.2));
            for day in 0..days {
                let mean = start * (1.0 + change * day as f64 / days as f64);
                orders.push(vec![1; poisson(rng, mean) as usize]);
            }
        }
    }
    let lead_time_days = rng.u32(7..=28);
    let spread = between(rng, 0.0, 0.3);
    Profile { shape, orders, lead_time_days, lead_time_range: (1.0 - spread, 1.0 + spread) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_customers_and_each_shape_its_own_kind_of_days() {
        let draw = |seed| {
            let mut rng = Rng::with_seed(seed);
            (0..8).map(|i| profile(&mut rng, i, 400)).collect::<Vec<_>>()
        };
        let (a, b) = (draw(7), draw(7));
        assert_eq!(a.iter().map(|p| &p.orders).collect::<Vec<_>>(), b.iter().map(|p| &p.orders).collect::<Vec<_>>());
        let selling = |p: &Profile| p.orders.iter().filter(|d| !d.is_empty()).count() as f64 / 400.0;
        assert!(selling(&a[0]) > 0.8, "smooth sells most days");
        assert!(selling(&a[1]) < 0.5 && selling(&a[2]) < 0.35, "intermittent and lumpy do not");
        assert!(a[2].orders.iter().flatten().any(|&q| q >= 8), "lumpy has cases");
    }

    #[test]
    fn poisson_draws_have_their_mean() {
        let mut rng = Rng::with_seed(1);
        let n = 20_000;
        let mean = (0..n).map(|_| f64::from(poisson(&mut rng, 4.0))).sum::<f64>() / f64::from(n);
        assert!((mean - 4.0).abs() < 0.1, "{mean}");
    }
}
