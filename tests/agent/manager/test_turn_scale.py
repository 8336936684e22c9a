"""benchmarks/turn_scale.py on a small synthetic catalog: the whole tools-only turn (no LLM)
runs every scripted conversation, lists items, answers questions, and reports its figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_the_scale_benchmark_runs_whole_conversations(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(__file__).parents[3] / "benchmarks" / "turn_scale.py"
    spec = importlib.util.spec_from_file_location("turn_scale", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "turn_scale", mod)
    spec.loader.exec_module(mod)
    out = mod.main(["--items", "3000", "--users", "300", "--conversations", "5",
                    "--embedding", "hashing-64"])
    turns = out["tools_only_turn"]
    assert turns["n"] == 17 and turns["p95_ms"] > 0  # 5 scripts: 4 + 4 + 3 + 3 + 3 turns
    assert out["turns_with_a_list"] >= 10 and {"recommend", "why"} <= set(out["by_kind"])
    assert out["peak_rss_mb"] > 0 and out["baseline_popularity_under_filter"]["n"] == 17
