"""benchmarks/cpr_lastfm_star.py: what ``--policy-noise`` tells the graph policy."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).parents[2] / "benchmarks" / "cpr_lastfm_star.py"
    spec = importlib.util.spec_from_file_location("cpr_lastfm_star_args", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["cpr_lastfm_star_args"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_policy_noise_unknown_tells_nothing_and_oracle_tells_the_truth(bench) -> None:
    args = bench.parse_args(["--noise", "0.2", "--policy-noise", "unknown"])
    assert bench.policy_noise(args.assumed_noise, args.noise) == "auto"
    assert bench.parse_args(["--noise", "0.2"]).assumed_noise == "auto"  # the default
    args = bench.parse_args(["--noise", "0.2", "--policy-noise", "oracle"])
    assert bench.policy_noise(args.assumed_noise, args.noise) == 0.2
    args = bench.parse_args(["--assumed-noise", "0.05"])  # the older spelling still works
    assert bench.policy_noise(args.assumed_noise, args.noise) == 0.05
    with pytest.raises(SystemExit, match="unknown, oracle or a number"):
        bench.policy_noise("sometimes", 0.1)
