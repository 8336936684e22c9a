"""``tastebud evaluate cpr`` argument handling (the full run is the marked dataset test)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from ui.cli_evaluate import evaluate_app, parse_pairs, simulate


def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(evaluate_app, name="evaluate")
    root.command("simulate")(simulate)

    @root.command()
    def version() -> None:  # a second command keeps "evaluate" a sub-command
        typer.echo("0")

    return root


def test_pairs_option() -> None:
    assert parse_pairs("4000") == 4000 and parse_pairs("ALL") is None
    for bad in ("x", "0", "-3"):
        with pytest.raises(typer.BadParameter):
            parse_pairs(bad)


def test_unknown_policy_lists_valid_ones_without_loading_data() -> None:
    r = CliRunner().invoke(app(), ["evaluate", "cpr", "--policy", "unicorn"])
    assert r.exit_code == 2
    assert "unknown policy 'unicorn'; valid: authors_env, graph, max_entropy" in r.output


def test_simulate_names_an_unknown_policy_or_simulator_without_loading_data() -> None:
    r = CliRunner().invoke(app(), ["simulate", "--policies", "graph,oracle"])
    assert r.exit_code == 2 and "unknown policy 'oracle'" in r.output and "mf" in r.output
    r = CliRunner().invoke(app(), ["simulate", "--simulator", "psychic"])
    assert r.exit_code == 2 and "unknown simulator 'psychic'" in r.output
    r = CliRunner().invoke(app(), ["simulate", "--backend", "spark"])
    assert r.exit_code == 2 and "pool" in r.output
