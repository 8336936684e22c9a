"""The CPR protocol on a catalog split by its spec, where some items carry no attribute
(Last.fm 2K: most artists have no tag given by 2 users). It used to stop with
"target item N has no attribute to state"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.evaluate import conversation_pairs, cpr_report, has_attributes
from agent.policies import build_context
from recsys.db import get_engine
from recsys.importer import import_catalog
from recsys.scorers import HybridConfig
from recsys.settings import Settings
from recsys.store import load_catalog

SPEC = """
name = "bands"
root = "."
[items]
file = "artists.dat"
format = "tsv"
quoting = "none"
id = "id"
title = "name"
[[attributes]]
field = "tag"
file = "tagged.dat"
format = "tsv"
item = "artistID"
value = "tag"
[[interactions]]
file = "plays.dat"
format = "tsv"
user = "userID"
item = "artistID"
weight = "weight"
transform = "log1p"
[split]
by = "ratio"
test = 0.3
seed = 0
"""


def _write(root: Path) -> Path:
    n_items, n_users = 40, 30
    rng = np.random.default_rng(0)
    (root / "artists.dat").write_text(
        "id\tname\n" + "".join(f"{i}\tBand {i}\n" for i in range(1, n_items + 1)))
    # only the odd artists are tagged
    (root / "tagged.dat").write_text("artistID\ttag\n" + "".join(
        f"{i}\t{t}\n" for i in range(1, n_items + 1, 2)
        for t in (f"genre{i % 4}", f"era{i % 3}", f"mood{i % 5}")))
    plays = "".join(f"{u}\t{i}\t{int(rng.integers(1, 500))}\n" for u in range(1, n_users + 1)
                    for i in sorted(rng.choice(np.arange(1, n_items + 1), 8, replace=False)))
    (root / "plays.dat").write_text("userID\tartistID\tweight\n" + plays)
    spec = root / "bands.toml"
    spec.write_text(SPEC)
    return spec


def test_cpr_runs_when_test_targets_lack_attributes(tmp_path: Path, settings: Settings) -> None:
    import_catalog(_write(tmp_path), settings, progress=False)
    catalog = load_catalog(get_engine(settings.database_url), "bands")
    has = has_attributes(catalog)
    assert has.sum() == 20 and not has[catalog.item("2")]
    test = catalog.interactions.split("test")
    untagged = int((~has[test.items]).sum())
    assert untagged > 0  # the case that crashed
    pairs = conversation_pairs(catalog, "test", None)
    assert len(pairs) == len(test) - untagged and has[pairs[:, 1]].all()
    ctx = build_context(catalog, HybridConfig(factors=8, iterations=5))
    report = cpr_report(catalog, ["graph", "max_entropy"], pairs=None, workers=1,
                        progress=False, context=ctx)
    assert report["pairs"] == len(pairs)
    assert report["pairs_skipped_target_without_attributes"] == untagged
    for name in ("graph", "max_entropy"):
        assert report["policies"][name]["episodes"] == len(pairs)


def test_pairs_keep_the_authors_shuffle_when_every_target_has_attributes(
        tmp_path: Path, settings: Settings) -> None:
    """Filtering after the shuffle: the first N pairs are those of the unfiltered draw."""
    spec = _write(tmp_path)
    tagged = "artistID\ttag\n" + "".join(f"{i}\tgenre{i % 4}\n" for i in range(1, 41))
    (tmp_path / "tagged.dat").write_text(tagged)
    import_catalog(spec, settings, progress=False)
    catalog = load_catalog(get_engine(settings.database_url), "bands")
    inter = catalog.interactions.split("test")
    raw = np.stack([inter.users, inter.items], axis=1).astype(np.int64)
    np.random.RandomState(1).shuffle(raw)
    assert np.array_equal(conversation_pairs(catalog, "test", 50, seed=1), raw[:50])


@pytest.mark.dataset
@pytest.mark.parametrize("name", ["lastfm-2k", "movielens-100k"])
def test_cpr_on_real_spec_split_catalogs(name: str, mirror: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from recsys.catalogs import open_catalog
    from recsys.settings import get_settings

    monkeypatch.setenv("TASTEBUD_MIRROR", str(mirror))
    get_settings.cache_clear()
    catalog = open_catalog(name, progress=False)
    report = cpr_report(catalog, ["graph"], pairs=200, workers=2, progress=False)
    assert report["pairs"] == 200 and report["policies"]["graph"]["episodes"] == 200
    assert report["pairs_skipped_target_without_attributes"] > 0
