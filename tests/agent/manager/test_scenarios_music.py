"""../shared/SCENARIOS.md 29 and 30 on the music catalog (HetRec Last.fm 2K by its spec): a
catalog without years, whose tags are the only attributes. No LLM; the hashing encoder keeps
the module's set-up to a minute (the scenarios rest on tags and ratings, not on meaning).
Each runs through the manager and again through the web socket, as the demo's scenarios do."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.manager import Manager
from tests.agent.manager.test_scenarios import Chat, SocketChat, serve
from tests.conftest import mirror_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    from recsys.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("music"), mirror=mirror_path(),
                        embedding_model="hashing-64")
    yield Manager.open("lastfm-2k", settings, progress=False)


@pytest.fixture(scope="module")
def music_client(music: Manager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve(music, tmp_path_factory.mktemp("music-app"))


@pytest.fixture(params=["manager", "socket"])
def chat_factory(request: pytest.FixtureRequest, music: Manager
                 ) -> Iterator[Callable[[], Chat]]:
    if request.param == "manager":
        yield lambda: Chat(music)
        return
    client = request.getfixturevalue("music_client")
    with contextlib.ExitStack() as stack:
        yield lambda: SocketChat(music, client, stack)


def _tags(m: Manager, item_id: str) -> list[str]:
    cat = m.catalog
    return cat.item_attributes(cat.item_index[item_id]).get("tag", [])


def test_29_80s_synth_pop_nothing_like_madonna(music: Manager,
                                                chat_factory: Callable[[], Chat]) -> None:
    chat = chat_factory()
    out = chat.say("some 80s synth pop, nothing like Madonna")
    c = chat.conv.constraints
    assert c.year_min is None and c.year_max is None  # a catalog without years
    madonna = music.catalog.item_ids[music.catalog.titles.index("Madonna")]
    assert madonna in c.unlike and madonna not in c.seeds
    ids = [card["id"] for card in out["items"]]
    assert len(ids) == 5 and madonna not in ids
    synth = sum(any("synth" in t for t in _tags(music, i)) for i in ids)
    assert synth >= 4, [(card["title"], _tags(music, card["id"])[:5]) for card in out["items"]]


def test_30_90s_grunge(music: Manager, chat_factory: Callable[[], Chat]) -> None:
    chat = chat_factory()
    out = chat.say("90s grunge please")
    titles = [card["title"] for card in out["items"]]
    assert chat.conv.constraints.year_min is None
    assert {"Nirvana", "Pearl Jam", "Alice in Chains"} & set(titles[:3]), titles
    assert not {"Madonna", "The Beatles", "U2"} & set(titles), titles
    assert all("grunge" in _tags(music, card["id"]) for card in out["items"])
