"""The page as a person uses it, in Debian's Chromium driven by Playwright: sign up, ask, see
streamed text and cards, like, "why?", edit the list, reload and find the session again."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.ui.conftest import REPLY

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} not found; install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the browser test)")
        pytest.skip(reason)
    pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_app(make_app: Callable[..., FastAPI]) -> Iterator[tuple[str, FastAPI]]:
    """The app (tiny catalog, scripted LLM) served by uvicorn on a free loopback port."""
    yield from _serve(make_app())


def _serve(app: FastAPI) -> Iterator[tuple[str, FastAPI]]:
    import httpx
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws_max_size=16_384))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield url, app
    server.should_exit = True
    thread.join(10)


def _signed_up(pw: Any, chromium: str, url: str, name: str) -> tuple[Any, Any]:
    """Chromium at 1280x900 on the page, signed up as ``name``: (browser, page)."""
    browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.get_by_test_id("name").fill(name)
    page.get_by_test_id("signup").click()
    return browser, page


def _wait(cond: Callable[[], Any], timeout: float = 5.0) -> Any:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if v := cond():
            return v
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def rich_app(make_app: Callable[..., FastAPI]) -> Iterator[tuple[str, FastAPI]]:
    """The app over a catalog that knows people, runtimes, plots and tags, replies worded by
    the template (the default): what the screenshots show."""
    from tests.ui.conftest import rich_movie_catalog

    yield from _serve(make_app(catalog=rich_movie_catalog(), reply_style="template"))


def test_cards_show_what_the_catalog_knows(chromium: str, rich_app: tuple[str, FastAPI],
                                           tmp_path: Path) -> None:
    """Display titles, details, the telling keywords (never the tagger's junk), one line per
    item on why; at 1280 and 390 px (the screenshots)."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = rich_app
    shots = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _signed_up(pw, chromium, url, "Fan")
        page.get_by_test_id("text").fill("a drama please")
        page.get_by_test_id("send").click()
        cards = page.locator("#list .card")
        expect(cards).to_have_count(5, timeout=20_000)  # the first turn warms the tools
        text = page.locator("#list").inner_text()
        assert ", The" not in text  # "The Silent Harbor (1957)", not "Silent Harbor, The"
        assert all(t.startswith(f"{k + 1}. The ") for k, t in
                   enumerate(cards.locator("h3").all_inner_texts()))
        assert "directed by" in text and "starring" in text and "minutes" in text
        assert "known for" in text and "netflix" not in text and "bechdel" not in text
        expect(cards.first.locator(".about")).to_contain_text("A story of")
        reply = page.locator("#log li.assistant").last
        expect(reply).to_contain_text("1. ")
        assert reply.inner_text().count("\n") >= 5  # the opening, then a line per item
        like = cards.first.locator("[data-action=like]")
        assert like.get_attribute("aria-label").startswith("like: ")
        page.screenshot(path=str(shots / "tastebud-cards-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.get_by_test_id("send")).to_be_visible()
        page.screenshot(path=str(shots / "tastebud-cards-390.png"), full_page=True)
        browser.close()
    assert (shots / "tastebud-cards-1280.png").stat().st_size > 10_000


def test_a_message_sent_while_the_page_still_boots_is_not_lost(
        chromium: str, live_app: tuple[str, FastAPI]) -> None:
    """Send clicked right after sign-up, while the page is still loading its catalogs (slowed
    here, as on a loaded machine): the message waits for the chat socket, then goes. Before,
    the socket opened by the click was replaced by the page's own and the message vanished."""
    from playwright.sync_api import expect, sync_playwright

    url, _ = live_app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.add_init_script("""{ const f = window.fetch; window.fetch = (u, o) =>
            String(u).includes("/api/catalogs")
                ? new Promise((r) => setTimeout(r, 3000)).then(() => f(u, o)) : f(u, o); }""")
        page.goto(url)
        page.get_by_test_id("name").fill("Ada")
        page.get_by_test_id("signup").click()
        expect(page.locator("#who")).to_have_text("signed in as Ada")  # the catalogs: 3 s
        expect(page.get_by_test_id("send")).to_be_disabled()
        page.get_by_test_id("text").fill("some comedy please")
        page.get_by_test_id("text").press("Enter")  # Send is not ready yet: the text stays
        expect(page.get_by_test_id("text")).to_have_value("some comedy please")
        page.get_by_test_id("send").click()  # enabled once the chat socket is ready
        expect(page.locator("#log li.user")).to_have_text(["some comedy please"])
        expect(page.locator("#list .card")).to_have_count(5, timeout=20_000)
        expect(page.locator("#log li.assistant")).to_have_text(REPLY)
        browser.close()


def test_a_person_chats_rates_edits_and_comes_back(chromium: str, live_app: tuple[str, FastAPI],
                                                  tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, app = live_app
    store = app.state.services.store
    shots = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: "Content Security Policy" in m.text
                and errors.append(m.text))  # the page must run under its own CSP
        page.goto(url)
        page.get_by_test_id("name").fill("Ada")
        page.get_by_test_id("signup").click()
        expect(page.locator("#who")).to_have_text("signed in as Ada")
        expect(page.locator("#sessions li")).to_have_count(1)  # the new chat's session
        # the new chat greets in the catalog's own terms
        expect(page.get_by_test_id("greeting")).to_contain_text("Tell me what you're in the mood")
        page.get_by_test_id("account").locator("summary").click()  # the token, to keep
        expect(page.get_by_test_id("token-out")).to_have_text(
            page.evaluate("localStorage.getItem('tastebud.token')"))
        # count the page's updates of the reply: streamed text arrives in pieces
        page.evaluate("""() => { window.updates = 0; new MutationObserver(
            () => window.updates++).observe(document.querySelector('#log'),
            {subtree: true, childList: true, characterData: true}); }""")
        # the first sign of work: the typing indicator, timed from the click in the page
        page.evaluate("""() => { window.sent = null; window.typing = null;
            document.querySelector('[data-testid=send]').addEventListener('click',
                () => { window.sent = performance.now(); }, {capture: true});
            new MutationObserver(() => { if (window.typing === null
                && document.querySelector('[data-testid=typing]'))
                window.typing = performance.now(); }).observe(document.querySelector('#log'),
                {subtree: true, childList: true}); }""")
        page.get_by_test_id("text").fill("some comedy please")
        page.get_by_test_id("send").click()
        expect(page.locator("#log li.assistant")).to_have_text(REPLY)
        waited = page.evaluate("window.typing - window.sent")
        assert 0 <= waited < 300, f"typing indicator after {waited} ms"
        expect(page.get_by_test_id("typing")).to_have_count(0)  # gone once the words came
        assert page.evaluate("window.updates") >= 4
        cards = page.locator("#list .card")
        expect(cards).to_have_count(5)
        expect(cards.first).to_contain_text("Comedy")
        first_id = cards.first.get_attribute("data-id")
        second_id = cards.nth(1).get_attribute("data-id")

        cards.first.locator("[data-action=like]").click()
        expect(cards.first.locator("[data-action=like]")).to_have_class("on")
        cards.first.locator("[data-action=why]").click()
        why = cards.first.get_by_test_id("why")
        expect(why).not_to_have_text("…")
        assert why.inner_text().strip()
        page.screenshot(path=str(shots / "tastebud-chat.png"), full_page=True)

        cards.nth(1).locator("[data-action=remove]").click()
        expect(cards).to_have_count(4)
        user = store.authenticate(page.evaluate("localStorage.getItem('tastebud.token')"))
        (session,) = store.list_sessions(user.id)
        _wait(lambda: store.list_edits_for(user.id, session_id=session.id))
        fb = store.feedback_for(user.id, session_id=session.id)
        assert [(f.item_id, f.kind) for f in fb] == [(first_id, "like")]

        page.reload()
        expect(page.locator("#sessions li")).to_contain_text(["some comedy please"])
        expect(page.locator("#log li.user")).to_have_text("some comedy please")
        expect(page.locator("#log li.assistant")).to_contain_text(REPLY)
        # the reply's films stay with it in the history (the panel holds the current list)
        expect(page.locator("#log li.assistant ol.past li")).to_have_count(5)
        expect(cards).to_have_count(4)
        assert second_id not in [c.get_attribute("data-id") for c in cards.all()]
        expect(cards.first.locator("[data-action=like]")).to_have_class("on")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        expect(page.get_by_test_id("send")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        expect(cards.first).to_be_visible()
        # the input sits at the bottom of the screen, under the list and the chat
        box = page.get_by_test_id("text").bounding_box()
        assert box and box["y"] + box["height"] > 844 - 90, box
        assert cards.first.bounding_box()["y"] < box["y"]
        page.screenshot(path=str(shots / "tastebud-phone.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert (shots / "tastebud-chat.png").stat().st_size > 10_000


def test_two_tabs_on_one_chat_show_the_same_conversation(chromium: str,
                                                         live_app: tuple[str, FastAPI]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, _ = live_app
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        one = context.new_page()
        one.goto(url)
        one.get_by_test_id("name").fill("Ada")
        one.get_by_test_id("signup").click()
        one.get_by_test_id("text").fill("some comedy please")
        one.get_by_test_id("send").click()
        # the app's first turn warms its models: allow for a loaded CI machine
        expect(one.locator("#list .card")).to_have_count(5, timeout=20_000)
        two = context.new_page()  # same browser storage: the same account and chat
        two.goto(url)
        expect(two.locator("#log li.user")).to_have_text(["some comedy please"])
        one.get_by_test_id("text").fill("anything else?")
        one.get_by_test_id("send").click()
        expect(two.locator("#log li.user")).to_have_text(["some comedy please",
                                                          "anything else?"])
        first = two.locator("#list .card").first.get_attribute("data-id")
        two.locator("#list .card").first.locator("[data-action=remove]").click()
        expect(one.locator("#list .card")).to_have_count(4)
        assert first not in [c.get_attribute("data-id") for c in one.locator("#list .card").all()]
        browser.close()


def test_the_taste_panel_shows_what_an_edit_taught_and_forgets_on_delete(
        chromium: str, live_app: tuple[str, FastAPI], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    kids, again = ("any movies from the 90s for movie night with my kids",
                   "any movies from the 2000s for a movie night with the kids")
    url, _ = live_app
    shots = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser, page = _signed_up(pw, chromium, url, "Ada")
        page.get_by_test_id("text").fill(kids)
        page.get_by_test_id("send").click()
        cards = page.locator("#list .card")
        expect(cards).to_have_count(5)
        horror = cards.filter(has_text="Horror")
        n = horror.count()
        assert n >= 2
        for k in range(n):  # one click at a time, as a person does it
            horror.first.locator("[data-action=remove]").click()
            expect(cards).to_have_count(5 - k - 1)
        prefs = page.locator("#prefs li")
        expect(prefs).to_have_count(1)
        expect(prefs.first).to_contain_text("no Horror")
        expect(prefs.first).to_contain_text(f"when you asked “{kids}”")
        page.get_by_test_id("new-chat").click()
        page.get_by_test_id("text").fill(again)
        page.get_by_test_id("send").click()
        expect(page.locator("#log li.assistant").last).to_contain_text("Remembering: no Horror")
        expect(cards).to_have_count(5)
        assert cards.filter(has_text="Horror").count() == 0
        page.screenshot(path=str(shots / "tastebud-taste.png"), full_page=True)
        prefs.first.locator("[data-action=delete]").click()
        expect(prefs).to_have_count(0)
        page.get_by_test_id("new-chat").click()
        page.get_by_test_id("text").fill(again)
        page.get_by_test_id("send").click()
        expect(page.locator("#log li.assistant")).to_have_count(1)
        expect(page.locator("#log li.assistant").last).not_to_contain_text("Remembering")
        browser.close()


def test_a_simulated_dialogue_replays_read_only(chromium: str,
                                                live_app: tuple[str, FastAPI]) -> None:
    """``/?replay=ID`` shows a stored simulated dialogue's messages and lists, and no input."""
    from playwright.sync_api import expect, sync_playwright

    from tests.ui.test_simulations_api import stored

    url, app = live_app
    sid = stored(app)
    with sync_playwright() as pw:
        browser, page = _signed_up(pw, chromium, url, "Viewer")
        expect(page.locator("#who")).to_have_text("signed in as Viewer")
        expect(page.get_by_test_id("simulations")).to_be_visible()
        page.goto(f"{url}/?replay={sid}")
        expect(page.locator("#log li.user")).to_have_text(["I'd like a comedy",
                                                           "I'll take number 2"])
        expect(page.locator("#log li.assistant")).to_contain_text(["Here are some comedies."])
        expect(page.get_by_test_id("replay-note")).to_contain_text("read-only")
        expect(page.locator("#list .card")).to_have_count(2)
        expect(page.get_by_test_id("text")).to_have_count(0)
        expect(page.get_by_test_id("send")).to_have_count(0)
        browser.close()
