"""Replies: a template that is always true, and an LLM that words it, checked sentence by sentence.

The template (``wording``) says back the request, what had to give, one line per item on why
it fits, and a question when the choice is wide. The LLM, by ``style``, words the opening
sentence or the whole reply; its text streams one verified sentence at a time: each sentence
is held until ``grounding.check`` passes it. A failing sentence stops the stream; if nothing
was sent yet the model gets one retry told what was wrong, and then the template answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from agent.llm.base import ChatModel, LLMError, Message
from agent.manager.conversation import Conversation
from agent.manager.grounding import Facts, check
from agent.nlu.lexicon import Lexicon
from recsys.catalog import Catalog
from recsys.titles import item_name

log = logging.getLogger(__name__)
REPLY_TOKENS = 48
MAX_SENTENCES = 2  # a chat reply, not an essay; stopping early also saves tokens
_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]]*)\s+")
# "Mr. Smith", "a.k.a. ID4", "Vol. 1", "U.S.": a period that does not end a sentence
_ABBREV = re.compile(r"(?:\b(?:mr|mrs|ms|dr|st|vs|vol|jr|sr|no|pt|ep)|\b[a-z]|\.[a-z])\.$", re.I)
# Actions whose template is the answer: facts verbatim from the catalog, acknowledgements,
# prompts. A small model only adds risk there (measured: invented directors and plots).
LLM_ACTIONS = ("recommend", "explain", "ask")


@dataclass
class Outcome:
    """What the turn's tools decided; the reply says exactly this, nothing more."""

    action: str  # recommend | ask | explain | fact | ack | chat | empty | unknown
    items: list[int] = field(default_factory=list)  # the list now on screen (dense indices)
    target: int | None = None  # the item a why / fact / feedback turn is about
    question: tuple[str, str] | None = None
    explanation: dict[str, Any] | None = None
    fact: dict[str, Any] | None = None
    asked_field: str | None = None  # a fact question about a field ("what genre")
    missing_field: str | None = None  # a fact the catalog does not record ("who directed")
    feedback: list[tuple[int, str]] = field(default_factory=list)
    replaced: list[tuple[int, int]] = field(default_factory=list)  # (old, new)
    unknown_titles: list[str] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    matches: int | None = None  # how many items the hard conditions left (None: no filter)
    personalised: bool = False
    exhausted: bool = False  # items match, but every one was shown or turned down already
    notes: list[str] = field(default_factory=list)  # short true sentences said first
    remembered: str | None = None  # "Remembering: no Horror (...)": said first, always
    reason: dict[str, Any] | None = None  # why items were turned down ({"less", "ranges"})
    # the list a mood said this turn is measured against ("darker" than these; dense indices)
    than: list[int] = field(default_factory=list)
    acts: list[dict[str, Any]] = field(default_factory=list)  # the message's dialogue acts
    facts: Facts = field(default_factory=Facts)


def template(out: Outcome, conv: Conversation, catalog: Catalog) -> str:
    """The reply built from the outcome alone: short, true, and never names other items."""
    parts: list[str] = [*([out.remembered] if out.remembered else []), *out.notes]
    for title in out.unknown_titles:
        parts.append(f"I couldn't find “{title}” in the {catalog.title or catalog.name} "
                     "catalog.")
    if out.unknown_titles and out.action == "unknown":
        parts.append("What did you like about it? Tell me that, or another title you "
                     "liked, and I'll find something close.")
    verbs = {"like": "Noted: you liked {}.", "dislike": "Got it, I'll leave out {} from now on.",
             "seen": "OK, you've already seen {}; I won't suggest it again."}
    for item, kind in out.feedback:
        parts.append(verbs[kind].format(item_name(catalog, item)))
    for old, new in out.replaced:
        parts.append(f"In place of {item_name(catalog, old)}: {item_name(catalog, new)}.")
    if out.missing_field and out.action in ("recommend", "empty"):
        parts.append(f"I don't know {out.missing_field} in this catalog, so I can't go by "
                     "that; here is the same request again.")
    if out.action == "recommend":
        from agent.manager.wording import recommend_text

        parts.append(recommend_text(out, conv, catalog))
    elif out.action == "empty":
        what = conv.constraints.describe() or "that"
        parts.append(f"You've seen everything that matches {what}. Try dropping a condition."
                     if out.exhausted else
                     f"Nothing in the catalog matches {what}. Try dropping a condition.")
    elif out.action == "ask" and out.question:
        fld, value = out.question
        parts.append(_question(fld, value, catalog))
    elif out.action == "explain" and out.target is not None:
        parts.append(_why_text(out, conv, catalog))
    elif out.action == "fact" and out.target is not None:
        parts.append(_fact_text(out, catalog))
    elif out.action == "unknown" and not out.unknown_titles:
        parts.append("I couldn't find that in the catalog.")
    if (out.action == "chat" or (out.action == "unknown" and not out.unknown_titles)
            or (out.action == "ack" and not out.replaced and not parts)):
        parts.append(_prompt_for_taste(catalog))
    return " ".join(parts)


def _why_text(out: Outcome, conv: Conversation, catalog: Catalog) -> str:
    """Why one item: what it shares with the request and the films named, then the
    explainer's own sentence (a known user's history) when it has one."""
    from agent.manager import reasons

    i = out.target
    assert i is not None
    liked = [catalog.item_index[x] for x in conv.liked if x in catalog.item_index]
    text = f"{item_name(catalog, i)}: " \
        f"{reasons.why(catalog, i, conv.constraints, liked, out.personalised)}."
    own = (out.explanation or {}).get("reason")
    return f"{text} {own}" if own else text


def _prompt_for_taste(catalog: Catalog) -> str:
    """What to ask for, in the catalog's terms: decades only where items have years."""
    from agent.nlu import lexicon_for

    w = catalog.words
    one = w.item if w.item != "item" else "one"
    kinds = "a genre, a decade," if lexicon_for(catalog).has_years else "a style, a tag,"
    return (f"Tell me what you're in the mood for ({kinds} or a {one} you liked) and I'll "
            "find something.")


def _question(fld: str, value: str, catalog: Catalog) -> str:
    n = len(catalog.attributes[fld].values) if fld in catalog.attributes else 0
    if n and n <= 64:  # a genre-like field: the value reads as a noun
        return f"To narrow it down: are you in the mood for {value}?"
    return f"To narrow it down: should it be {value} ({fld})?"


def path_reason(out: Outcome, catalog: Catalog) -> str:
    """A sentence from the explain tool's graph paths and MF neighbours."""
    exp = out.explanation or {}
    bits = []
    for path in exp.get("paths", [])[:2]:
        kinds = [n["type"] for n in path]
        if kinds == ["attribute", "item"]:
            bits.append(f"it is {path[0]['value']}, which you asked for")
        elif kinds == ["item", "attribute", "item"]:
            bits.append(f"like {path[0]['title']}, which you liked, it is {path[1]['value']}")
        elif kinds == ["item", "attribute"]:
            bits.append(f"it stands out for {path[1]['value']} ({path[1]['field']})")
        else:
            names = [n.get("title") or n.get("value") for n in path if n["type"] != "user"]
            bits.append(" → ".join(str(x) for x in names if x))
    for nb in exp.get("neighbours", [])[:2]:
        bits.append(f"it is close to {nb['title']}, which you rated highly")
    return "; ".join(bits) + "." if bits else "it ranks high for what you asked."


def _fact_text(out: Outcome, catalog: Catalog) -> str:
    fact = out.fact or {}
    title = item_name(catalog, out.target) if out.target is not None else fact.get("title", "")
    attrs: dict[str, list[str]] = fact.get("attributes", {})
    numbers: dict[str, dict[str, Any]] = fact.get("numbers", {})
    notes: dict[str, str] = fact.get("notes", {})
    year = f" is from {fact['year']}" if fact.get("year") and str(fact["year"]) not in title \
        else ""
    asked = out.asked_field
    if asked is not None and not out.missing_field:
        answer = _one_fact(title, asked, attrs, numbers, notes, catalog)
        if answer:
            return answer
    fields = [asked] if asked in attrs else list(attrs)
    def line(f: str) -> str:
        info = catalog.info(f)
        cap = 3 if info.kind == "people" else 6
        return (f"{info.label} {', '.join(attrs[f][:cap])}" if info.label else
                f"{f}: {', '.join(attrs[f][:cap])}")

    bits = [line(f) for f in fields if attrs.get(f) and catalog.info(f).kind != "keywords"]
    bits += [f"{f} {_number(n)}" for f, n in numbers.items()]
    head = f"{title}{year}."
    if out.missing_field:
        head += f" The catalog doesn't record the {out.missing_field}; here is what it has."
    text = head + (" " + "; ".join(bits) + "." if bits else "")
    if notes and not out.missing_field:
        text += " " + next(iter(notes.values()))
    return text


def _number(n: dict[str, Any]) -> str:
    v = n.get("value")
    return f"{v:g} {n.get('unit') or ''}".strip() if isinstance(v, int | float) else str(v)


def _names(values: list[str], k: int = 3) -> str:
    vals = values[:k]
    return vals[0] if len(vals) == 1 else ", ".join(vals[:-1]) + " and " + vals[-1]


def _one_fact(title: str, fld: str, attrs: dict[str, list[str]],
              numbers: dict[str, dict[str, Any]], notes: dict[str, str],
              catalog: Catalog) -> str | None:
    """One sentence answering a question about one field, or None when the item lacks it."""
    info = catalog.info(fld)
    if fld in numbers:
        return f"{title} runs {_number(numbers[fld])}." if info.unit else \
            f"{title}: {fld} {_number(numbers[fld])}."
    if fld in notes:
        return f"{title}: {notes[fld]}"
    values = attrs.get(fld)
    if not values:
        return f"The catalog doesn't record the {info.label or fld} of {title}."
    if info.kind == "people":
        label = info.label or fld
        return f"{title}: {label} {_names(values, 4 if 'star' in label else 3)}."
    said = f"{info.label} " if info.label else f"{fld}: "
    return f"{title}: {said}{', '.join(values[:6])}."


# ------------------------------------------------------------------------------ LLM wording


@cache
def system_prompt() -> str:
    return (resources.files("agent") / "prompts" / "reply.md").read_text(encoding="utf-8")


def facts_json(out: Outcome, conv: Conversation, catalog: Catalog) -> dict[str, Any]:
    """The tool results the model may use, as compact JSON."""
    def card(i: int) -> dict[str, Any]:
        return {"title": item_name(catalog, i),
                **{f: v[:3] for f, v in catalog.item_attributes(i).items()}}

    data: dict[str, Any] = {"action": out.action, "template": None}
    if out.items:
        data["items"] = [card(i) for i in out.items[:3]]
    if out.target is not None:
        data["about"] = card(out.target)
    if out.explanation:
        data["reason"] = out.explanation.get("reason") or path_reason(out, catalog)
    if out.question:
        data["question"] = _question(*out.question, catalog)
    if out.unknown_titles:
        data["not_found"] = out.unknown_titles
    if out.missing_field:
        data["not_recorded"] = out.missing_field
    if conv.constraints.describe():
        data["request"] = conv.constraints.describe()
    if conv.memory:  # the person's learned preferences applied to this list (CIPHER)
        data["remembering"] = "; ".join(m["text"] for m in conv.memory)
    # a template ending in ":" invites the model to write the list out; the cards show it
    draft = template(out, conv, catalog).rstrip()
    data["template"] = draft[:-1] + "." if draft.endswith(":") else draft
    return data


def facts_text(out: Outcome, conv: Conversation, catalog: Catalog,
               draft: str | None = None) -> str:
    """The facts as short lines (a small model reads plain lines faster than JSON)."""
    data = facts_json(out, conv, catalog)
    if draft is not None:
        data["template"] = draft
    lines = []
    if data.get("items"):
        lines.append("Items: " + "; ".join(
            f"{c['title']}, "
            + ", ".join(next(iter(v for k, v in c.items() if k != 'title'), []))
            for c in data["items"]))
    for key, label in (("about", "About"), ("reason", "Reason"), ("request", "Request"),
                       ("remembering", "Remembering"),
                       ("question", "Question"), ("not_found", "Not found"),
                       ("not_recorded", "Not recorded")):
        value = data.get(key)
        if isinstance(value, dict):
            value = value["title"]
        elif isinstance(value, list):
            value = ", ".join(value)
        if value:
            lines.append(f"{label}: {value}")
    lines.append(f"Template: {data['template']}")
    return "\n".join(lines)


def messages(user_text: str, out: Outcome, conv: Conversation, catalog: Catalog,
             draft: str | None = None, task: str = "Reply (improve the draft; keep it true):"
             ) -> list[Message]:
    return [Message.system(system_prompt()),
            Message.user(f"User: {user_text}\nFACTS:\n"
                         f"{facts_text(out, conv, catalog, draft)}\n{task}")]


@dataclass
class Written:
    """The reply as sent, and how it came about (for the trace)."""

    text: str = ""
    source: str = "template"  # llm | llm-retry | template | llm+stop
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # model failures, shown to the user
    tokens: int = 0
    llm_s: float = 0.0


STYLES = ("template", "opening", "full")


def write(user_text: str, out: Outcome, conv: Conversation, catalog: Catalog, lex: Lexicon,
          llm: ChatModel | None, written: Written, style: str = "template") -> Iterator[str]:
    """Yield the reply in small deltas; ``written`` records what was sent and why.

    ``style`` says what the model words (``benchmarks/replies.py`` measured the choice):
    "template" nothing; "opening" the first sentence of a recommend turn, the item lines and
    the question staying the template's (and whole explain / ask replies); "full" the whole
    reply in at most two sentences (the first wave's way).

    What the profile made of the list (``out.remembered``) opens the reply whoever writes
    the rest: the person must see why the list leaves things out.
    """
    if llm is None or style == "template" or out.action not in LLM_ACTIONS:
        text = template(out, conv, catalog)
        yield from _deltas(text)
        written.text = text
        return
    lead = out.remembered
    if lead:
        yield from _deltas(lead + " ")
    out.remembered = None  # said: not again in a template fallback
    try:
        if style == "opening" and out.action == "recommend":
            yield from _opening(user_text, out, conv, catalog, lex, llm, written)
        else:
            yield from _write(user_text, out, conv, catalog, lex, llm, written)
    finally:
        out.remembered = lead
    if lead:
        written.text = f"{lead} {written.text}".strip()


def _opening(user_text: str, out: Outcome, conv: Conversation, catalog: Catalog,
             lex: Lexicon, llm: ChatModel, written: Written) -> Iterator[str]:
    """The model words one opening sentence; the item lines follow from the template."""
    draft = template(out, conv, catalog)
    head, _, rest = draft.partition("\n")
    msgs = messages(user_text, out, conv, catalog, draft=head,
                    task="Write ONE short, friendly sentence that introduces the list and "
                         "says back what was asked (no titles: the list follows).")
    out.facts.text = msgs[-1].content
    said = yield from _generate(msgs, out, catalog, lex, llm, written, max_sentences=1)
    if said is None:
        written.source = "template"
        said = head
        yield from _deltas(head)
    tail = "\n" + rest if rest else ""
    yield from _deltas(tail)
    written.text = (said + tail).strip()


def _generate(msgs: list[Message], out: Outcome, catalog: Catalog, lex: Lexicon,
              llm: ChatModel, written: Written, max_sentences: int = MAX_SENTENCES
              ) -> Iterator[str]:
    """Stream verified sentences; returns the text sent, or None when nothing passed (after
    one retry told what was wrong). A bad sentence after good ones ends the reply there."""
    import time

    sent: list[str] = []
    for attempt in range(2):
        t0 = time.perf_counter()
        bad: list[str] = []
        try:
            for sentence in _sentences(llm.stream(msgs, max_tokens=REPLY_TOKENS,
                                                  temperature=0.2), written):
                bad = check(sentence, out.facts, catalog, lex)
                if not sent and not bad:
                    bad = _says_which(sentence, out, catalog)
                if not bad:
                    bad = _artefacts(sentence)
                if bad:
                    break
                sent.append(sentence)
                yield from _deltas(sentence)
                if len(sent) >= max_sentences:
                    break
        except LLMError as e:  # the model's failure becomes an observation, not a crash
            bad = [f"model error: {e}"]
            written.errors.append(str(e))
            log.warning("reply LLM failed: %s", e)
        written.llm_s += time.perf_counter() - t0
        written.problems += bad
        if sent:
            written.source = ("llm" if attempt == 0 else "llm-retry") if not bad \
                else "llm+stop"
            return "".join(sent)  # exactly as streamed
        if not bad:
            bad = ["the reply was empty"]
        msgs = [*msgs, Message.user("Problems: " + "; ".join(bad) + ". Write it again using "
                                    "only FACTS, or copy the template.")]
    return None


_ARTEFACT = re.compile(r"^\s*(?:draft|items?|facts?|reply|user|request|about|reason)\s*:"
                       r"|\[[^\]]*\]|\{|\bpicks? for\b.*-\d{4}|\b1 \w+ picks\b", re.I)


def _artefacts(sentence: str) -> list[str]:
    """Prompt scaffolding copied into the reply ("Draft: ...", "[Action, Crime]")."""
    if _ARTEFACT.search(sentence):
        return ["the reply copies the prompt's labels or brackets; write plain sentences"]
    if not re.search(r"[.!?…][\"')\]]*\s*$", sentence.strip()):
        return ["the sentence is cut off; end it"]
    return []


def _write(user_text: str, out: Outcome, conv: Conversation, catalog: Catalog, lex: Lexicon,
           llm: ChatModel, written: Written) -> Iterator[str]:
    fallback = template(out, conv, catalog)
    msgs = messages(user_text, out, conv, catalog)
    out.facts.text = msgs[-1].content  # the user's words and the facts: names may come from it
    said = yield from _generate(msgs, out, catalog, lex, llm, written)
    if said is not None:
        if out.question and out.question[1].lower() not in said.lower():
            # the user must be asked the policy's question to answer yes or no
            ask = " " + _question(*out.question, catalog)
            said += ask
            yield from _deltas(ask)
        written.text = said.strip()
        return
    written.source = "template"
    written.text = fallback
    yield from _deltas(fallback)


def _says_which(first: str, out: Outcome, catalog: Catalog) -> list[str]:
    """A "why" must say which item it explains in its first sentence."""
    from agent.nlu.lexicon import normalize, title_forms

    if out.action == "explain" and out.target is not None:
        text = normalize(first)
        if not any(f and f in text for f in title_forms(catalog.titles[out.target])[0]):
            return [f"the first sentence must name {catalog.titles[out.target]}"]
    return []


def _sentences(tokens: Iterator[str], written: Written) -> Iterator[str]:
    """Whole sentences (with their trailing space) from a token stream; a newline ends all.

    A reply is prose: a line break means the model started a list the cards already show.
    """
    buf = ""
    for tok in tokens:
        written.tokens += 1
        buf += tok
        if "\n" in buf:
            head = buf.split("\n", 1)[0]
            if head.strip():
                yield head
            return
        start = 0
        for m in _SENTENCE_END.finditer(buf):
            cut = buf[:m.end()]
            body = cut.rstrip()
            if _ABBREV.search(body.rstrip("\"')]")) or cut.count("(") > cut.count(")"):
                continue
            yield buf[start:m.end()]
            start = m.end()
        buf = buf[start:]
    if buf.strip():
        yield buf


def _deltas(text: str) -> Iterator[str]:
    """Word-sized pieces, so a client renders text as it arrives."""
    yield from re.findall(r"\s*\S+\s*", text)
