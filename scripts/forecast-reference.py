#!/usr/bin/env python3
"""Known answers for the forecasting methods of SPEC 10.1, made with Nixtla statsforecast 2.1.1.

Writes tests/data/forecast/histories.csv (the input of `backorder insight forecast`: series,date,qty)
and tests/data/forecast/expected.json (each series' forecast per method). The Rust tests read both.

    python3 -m venv /tmp/sf && /tmp/sf/bin/pip install statsforecast==2.1.1
    /tmp/sf/bin/python scripts/forecast-reference.py

The series are drawn from a fixed seed: smooth, intermittent, lumpy, trending, and the edge
cases (all zeros, one day, a single demand, demand on the last day only, two days).
"""
import datetime
import json
import os

import numpy as np
import statsforecast
from statsforecast.models import ADIDA, TSB, CrostonClassic, CrostonSBA, SimpleExponentialSmoothing

assert statsforecast.__version__ == "2.1.1", statsforecast.__version__

HORIZON = 7
START = datetime.date(2026, 1, 1)
rng = np.random.default_rng(20261205)


def series():
    out = {}
    out["smooth"] = rng.poisson(4.0, 120).astype(float)
    out["intermittent"] = (rng.random(150) < 0.25) * rng.integers(1, 4, 150)
    out["lumpy"] = (rng.random(200) < 0.1) * rng.geometric(0.15, 200)
    out["trending"] = rng.poisson(np.linspace(0.5, 6.0, 90))
    out["sparse"] = (rng.random(365) < 0.03) * rng.integers(1, 10, 365)
    out["zeros"] = np.zeros(30)
    out["one_day"] = np.array([3.0])
    out["single_demand"] = np.array([0, 0, 0, 5, 0, 0, 0, 0.0])
    out["last_day_only"] = np.array([0, 0, 0, 0, 0, 0, 2.0])
    out["two_days"] = np.array([1.0, 4.0])
    out["steady"] = np.full(40, 2.0)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


MODELS = {
    "ses": lambda: SimpleExponentialSmoothing(alpha=0.1),
    "croston": CrostonClassic,
    "sba": CrostonSBA,
    "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
    "adida": ADIDA,
}


def main():
    root = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "forecast")
    os.makedirs(root, exist_ok=True)
    all_series = series()
    with open(os.path.join(root, "histories.csv"), "w") as f:
        f.write("series,date,qty\n")
        for name, y in all_series.items():
            for i, q in enumerate(y):
                # A day without demand is left out: the CLI reads it as 0 (SPEC 3.1).
                if q != 0 or i == 0 or i == len(y) - 1:
                    f.write(f"{name},{START + datetime.timedelta(days=i)},{int(q)}\n")
    # Each series as drawn (the methods' own tests), and as the CLI reads the file: every series
    # spans the file's first to last date, so the shorter ones end in days without demand.
    days = max(len(y) for y in all_series.values())
    expected = {}
    for name, y in all_series.items():
        padded = np.concatenate([y, np.zeros(days - len(y))])
        expected[name] = {"values": [float(v) for v in y], "forecast": {}, "file_forecast": {}}
        for method, make in MODELS.items():
            expected[name]["forecast"][method] = [float(v) for v in make().forecast(y=y, h=HORIZON)["mean"]]
            expected[name]["file_forecast"][method] = [float(v) for v in make().forecast(y=padded, h=HORIZON)["mean"]]
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump({"statsforecast": statsforecast.__version__, "horizon": HORIZON, "series": expected}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
