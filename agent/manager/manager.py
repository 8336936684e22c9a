"""The dialogue manager: understand -> update state -> plan tools -> ask or recommend -> reply.

    manager = Manager.open("movielens-small")          # loads (or trains) what it needs
    conv = manager.start(user_id=None)                 # a new user
    for event in manager.turn(conv, "some 90s sci-fi, no horror"):
        ...                                            # text deltas, tool steps, item cards

A turn never raises for the model's mistakes: tool errors are observations, LLM failures fall
back to rules (understanding) and templates (replies). Bad input from the caller (an unknown
user, an empty message) is a clear ``TastebudError``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.llm.base import ChatModel
from agent.manager.acts import RELAX, Act, DialogueAct, main_act, read_acts, wished_titles
from agent.manager.conversation import Constraints, Conversation
from agent.manager.events import Event
from agent.manager.planner import RulePlanner, ToolCallingPlanner, mood_of
from agent.manager.reasons import lower_value as reasons_lower
from agent.manager.reply import LLM_ACTIONS, Outcome, Written, write
from agent.manager.steps import label
from agent.nlu import Request, lexicon_for, understand
from agent.nlu.lexicon import normalize
from agent.nlu.unknown import unknown_titles
from agent.state import DialogueState
from agent.tools import ToolContext, execute
from agent.tools.items import resolve_item
from recsys.catalog import Catalog
from recsys.errors import TastebudError, UnknownUserError
from recsys.session import conversation_seeds
from recsys.settings import Settings

log = logging.getLogger(__name__)
MAX_MESSAGE = 2000  # characters; longer input is a caller error, not a prompt
_LESS = re.compile(r"^(?:less|fewer|not so|not as|not too|nothing too)\s+(.+)$", re.I)
# What a fact question asks for, and how to find that field in any catalog: by its kind and
# the words of its name or label (a catalog without it gets "the catalog doesn't record").
_ASKS: list[tuple[str, str, str, tuple[str, ...]]] = [
    # (name said back, question pattern, field kind, words in the field's name or label)
    ("director", r"\b(direct(ed|or|s)?|who made)\b", "people", ("direct",)),
    ("cast", r"\b(who('s| is| was| are)? in (it|that|this)|who stars?|starring|actors?|"
             r"actress(es)?|cast|who plays)\b", "people", ("cast", "star", "actor")),
    ("running time", r"\b(how long|runtime|running time|length|how many (minutes|hours))\b",
     "number", ("runtime", "length", "duration", "minutes")),
    ("plot", r"\b(what('s| is| was) (it|that|this|that one|the \w+|\w+) about|plot|"
             r"what happens|synopsis|story line|storyline)\b", "text", ()),
    ("rating", r"\b(rated|age rating|certificat\w*|mpaa|suitable for|appropriate for|"
               r"ok for (kids|children))\b", "categorical", ("certif", "rating", "rated")),
    ("language", r"\b(language|in english|subtitles?)\b", "categorical", ("language",)),
]


class EmptyMessageError(TastebudError):
    """The message was empty or too long."""


class Manager:
    """Runs turns of conversations over one catalog with shared, preloaded resources."""

    def __init__(self, ctx: ToolContext, *, llm: ChatModel | None = None,
                 planner: str = "auto", list_size: int = 5, llm_nlu: bool = True,
                 reply_style: str | None = None, aggregator: Any = None) -> None:
        """``aggregator``: what combines the preferences recalled for a request
        (``profiles.llm_aggregate.LLMAggregate``); by default the chat model when the
        settings say ``profile_aggregate="llm"``, else the newest-wins merge."""
        from agent.manager.reply import STYLES

        self.base = ctx
        self.catalog: Catalog = ctx.catalog
        self.llm = llm
        self.lex = lexicon_for(ctx.catalog)
        self.list_size = list_size
        self.llm_nlu = llm_nlu
        self.reply_style = reply_style or ctx.settings.llm.reply_style
        if self.reply_style not in STYLES:
            raise TastebudError(f"unknown reply style '{self.reply_style}'; use "
                                + ", ".join(STYLES))
        if planner == "auto":  # small local models cannot plan reliably; servers usually can
            planner = "llm" if llm is not None and "openai" in type(llm).__name__.lower() \
                else "rules"
        if planner not in ("rules", "llm"):
            raise TastebudError(f"unknown planner '{planner}'; use rules, llm or auto")
        self.rules = RulePlanner(list_size)
        self.tool_planner = ToolCallingPlanner(llm, list_size) \
            if planner == "llm" and llm is not None else None
        if aggregator is None and llm is not None and \
                getattr(ctx.settings, "profile_aggregate", "merge") == "llm":
            from profiles.llm_aggregate import LLMAggregate

            aggregator = LLMAggregate(llm)
        self.aggregator = aggregator

    @property
    def aggregator(self) -> Any:
        """What combines recalled preferences (None: the merge); set on both planners."""
        return self.rules.aggregator

    @aggregator.setter
    def aggregator(self, value: Any) -> None:
        self.rules.aggregator = value
        if self.tool_planner is not None:
            self.tool_planner.aggregator = value

    @classmethod
    def open(cls, catalog: str | None = None, settings: Settings | None = None, *,
             llm: ChatModel | None = None, progress: bool | None = None,
             **kw: Any) -> Manager:
        """A manager over a stored catalog, training its models first if they are missing."""
        from recsys.catalogs import open_catalog
        from recsys.serving import (
            dialogues_spec,
            dialogues_stale,
            train,
            train_dialogues,
            untrained,
        )
        from recsys.settings import get_settings

        settings = settings or get_settings()
        cat = open_catalog(catalog, settings, progress=progress)
        # missing, or trained before the catalog was imported again: train now (with
        # progress), rather than refuse to start until someone retrains by hand
        todo = untrained(cat, settings)
        if todo:
            log.info("training %s for catalog %s@%s", ", ".join(todo), cat.name, cat.fingerprint)
            train(cat, settings, todo, progress=progress)
        if dialogues_stale(cat, settings) and dialogues_spec(cat, settings) is not None:
            train_dialogues(cat, settings, progress=progress)
        ctx = ToolContext(catalog=cat, settings=settings).warm()
        from agent.manager.planner import _content_matrix

        _content_matrix(cat)  # what "like X" compares, built now, not in a person's turn
        return cls(ctx, llm=llm, **kw)

    def warm(self) -> Manager:
        """Load the LLM and cache both prompt prefixes (understanding and reply) now.

        The first call with a long few-shot prompt evaluates ~1k tokens (seconds on 2 cores);
        a server or chat does it once at start, not in a person's first turn. The rule path's
        per-catalog tables (content neighbours' postings, rating counts) are built here too:
        at 1M items they cost a second, once.
        """
        from agent.manager.planner import warm_catalog
        from agent.manager.reasons import warm_ratings

        warm_catalog(self.catalog)
        warm_ratings(self.catalog)
        if self.llm is None:
            return self
        from agent.llm.base import LLMError
        from agent.nlu import llm_extract

        try:
            if self.llm_nlu:
                llm_extract("something fun for tonight", self.lex, self.llm)
            conv = self.start(None)
            self.respond(conv, "a comedy please")
        except LLMError as e:  # a broken model shows up in the first turn's fallback too
            log.warning("LLM warm-up failed: %s", e)
        return self

    # ------------------------------------------------------------------ conversations

    def start(self, user_id: str | None = None) -> Conversation:
        """A new conversation; ``user_id`` must be a catalog user (None: a new user)."""
        if user_id is not None and user_id not in self.catalog.user_index:
            raise UnknownUserError(f"user '{user_id}' is not in catalog "
                                   f"'{self.catalog.name}'; leave the user out to start as "
                                   "a new user")
        return Conversation(self.catalog.name, user_id=user_id)

    def respond(self, conv: Conversation, text: str) -> dict[str, Any]:
        """Run a turn and collect it: {"text", "items", "question", "trace", "kind", ...}."""
        out: dict[str, Any] = {"text": "", "items": None, "question": None, "tools": [],
                               "errors": [], "first_text_ms": None, "text_chunks": 0}
        t0 = time.perf_counter()
        for ev in self.turn(conv, text):
            if ev.type == "text":
                if out["first_text_ms"] is None:  # what a person waits for: the first words
                    out["first_text_ms"] = round((time.perf_counter() - t0) * 1e3, 1)
                out["text_chunks"] += 1
                out["text"] += ev.data["delta"]
            elif ev.type == "items":
                out["items"] = ev.data["items"]
            elif ev.type == "question":
                out["question"] = ev.data
            elif ev.type == "tool":
                out["tools"].append(ev.data)
            elif ev.type == "error":
                out["errors"].append(ev.data)
            elif ev.type == "done":
                out.update(ev.data)
        return out

    def _state(self, conv: Conversation, user: int | None) -> DialogueState:
        """The tools' view of the conversation: items shown and turned down, answers."""
        cat = self.catalog
        state = DialogueState.start(-1 if user is None else user, cat.n_items)
        state.recommended = [cat.item_index[i] for i in conv.ever_shown]
        state.rejected_items = [cat.item_index[i] for i in conv.excluded]
        inc = [(f, v) for f, vs in conv.constraints.include.items() for v in vs]
        state.accepted = list(dict.fromkeys([*conv.accepted, *inc]))
        state.rejected = list(conv.rejected)
        return state

    def _context(self, conv: Conversation) -> ToolContext:
        """A per-turn tool context over the shared resources, with this conversation's state."""
        cat, b = self.catalog, self.base
        user = cat.user_index.get(conv.user_id) if conv.user_id is not None else None
        return ToolContext(catalog=cat, settings=b.settings, engine=b.db(), user=user,
                           state=self._state(conv, user), recommender=b.model(),
                           popularity=b.popular(),
                           semantic=b.semantic_index(), policy_context=b.policy(),
                           model_name=b.model_name, session=b.session_ranker(),
                           liked=tuple(cat.item_index[i] for i in conv.liked),
                           seeds=self._seeds(conv), request=self._request(conv))

    def _request(self, conv: Conversation) -> tuple[int, ...]:
        """What the standing request is "like" (dense indices)."""
        index = self.catalog.item_index
        return tuple(index[i] for i in conv.constraints.seeds if i in index)

    def _seeds(self, conv: Conversation) -> dict[int, float]:
        """Signed ranking seeds from the whole conversation: every title named or judged
        (older turns weigh less), the standing request's "like X" counting once more."""
        cat = self.catalog
        index = cat.item_index
        # a turned-down item is never shown again; as a seed it pushes only gently ("swap 2"
        # on Toy Story 3 must not push away every Pixar film)
        events = [(index[i], -0.5, 0) for i in conv.disliked if i in index]
        events += [(index[i], 1.0, 0) for i in conv.liked if i in index]
        events += [(index[m[0]], float(m[1]), int(m[2])) for m in conv.mentions
                   if m[0] in index]
        decay = self.base.session_ranker().weights.decay
        if conv.constraints.seeds:
            # a new "like X" request: what was said before it counts half
            since = conv.constraints.since
            events = [(i, w * (0.5 if at < since else 1.0), at) for i, w, at in events]
        seeds = conversation_seeds(events, conv.turn, decay)
        return seeds

    def situation(self, text: str) -> str:
        """The situation words of a request, what remembered preferences are keyed to
        (``agent.nlu.situation``)."""
        from agent.manager.planner import hard_fields
        from agent.nlu.situation import situation

        return situation(text, self.lex, hard_fields(self.catalog, self.rules.hard_fields))

    def rule_of(self, text: str) -> dict[str, Any] | None:
        """What a preference statement says in this catalog's fields ("no horror, nothing
        before 1990" -> exclusions and a year bound); None when nothing applicable."""
        from agent.nlu import extract
        from profiles.rules import Rule

        req = extract(text, self.lex).request
        rule = Rule(exclude={f: list(vs) for f, vs in req.exclude.items()},
                    ranges={k: list(v) for k, v in req.ranges.items()})
        if req.year_min or req.year_max:
            rule.ranges["year"] = [req.year_min, req.year_max]
        return None if rule.empty else rule.to_json()

    def ranking(self, conv: Conversation, n: int = 50) -> list[str]:
        """The ``n`` items a recommend turn would show now (catalog ids), without changing
        the conversation: what offline evaluation scores."""
        ctx = self._context(conv)
        out = Outcome(action="recommend")
        self.rules.recommend(conv, ctx, lambda step: None, out, n=n)
        return [self.catalog.item_ids[i] for i in out.items]

    # ------------------------------------------------------------------ the turn

    def turn(self, conv: Conversation, text: str,
             recall: Callable[[str], list[dict[str, Any]]] | None = None,
             live: Callable[[Event], None] | None = None) -> Iterator[Event]:
        """One turn: events in order, ending with ``done`` (or ``error`` for a caller error).

        ``recall``: the person's remembered preferences for a request's words (the web server
        passes its CIPHER memory); what it returns is applied to this turn's list.
        ``live``: where ``status`` and ``tool`` events go the moment they happen (the web
        socket shows each step as it runs); without it they are yielded before the text.
        """
        t0 = time.perf_counter()
        text = (text or "").strip()
        if not text or len(text) > MAX_MESSAGE:
            yield Event("error", {"message": "the message is empty" if not text else
                                  f"the message is longer than {MAX_MESSAGE} characters; "
                                  "shorten it", "recoverable": True})
            return
        steps: list[dict[str, Any]] = []
        pending: list[Event] = []

        def send(ev: Event) -> None:
            if live is not None:
                live(ev)
            else:
                pending.append(ev)

        send(Event("status", {"text": "Reading your message…"}))
        conv.turn += 1
        cat = self.catalog
        shown_titles = [cat.titles[cat.item_index[i]] for i in conv.shown]
        nlu_llm = self.llm if self.llm_nlu else None
        req = understand(text, self.lex, llm=nlu_llm, shown=shown_titles or None)
        unknown = unknown_titles(text, req, self.lex)
        self._note_mentions(conv, req)
        ctx = self._context(conv)
        ctx.recall = recall
        conv.memory = []

        def emit(step: dict[str, Any]) -> None:
            steps.append(step)
            send(Event("tool", {**step, "label": label(step, conv, cat)}))

        out = Outcome(action="chat", unknown_titles=unknown)
        t_plan = time.perf_counter()
        self._update_and_plan(conv, text, req, ctx, emit, out)
        tools_ms = (time.perf_counter() - t_plan) * 1e3
        yield from pending
        pending.clear()
        if out.action in LLM_ACTIONS and self.llm is not None and self.reply_style != "template":
            yield Event("status", {"text": "Writing…"})

        if out.action in ("recommend", "ack") and out.items:
            conv.shown = [cat.item_ids[i] for i in out.items]
            conv.ever_shown = list(dict.fromkeys([*conv.ever_shown, *conv.shown]))
        if out.target is not None:
            conv.focus = cat.item_ids[out.target]
        elif out.action == "recommend" and out.items:
            conv.focus = cat.item_ids[out.items[0]]
        if out.question:
            conv.pending, conv.questions = out.question, conv.questions + 1
        out.facts.add_items(cat, out.items)
        if out.target is not None:
            out.facts.add_items(cat, [out.target])
        out.facts.add_items(cat, [cat.item_index[i] for i in conv.constraints.seeds])
        # the reasons may name what the person liked ("like Heat, ...")
        out.facts.add_items(cat, [cat.item_index[i] for i in conv.liked if i in cat.item_index])
        out.facts.quoted.update(out.unknown_titles)
        for f, vs in [*conv.constraints.include.items(), *conv.constraints.exclude.items()]:
            out.facts.values.update((f, v) for v in vs)
        for y in (conv.constraints.year_min, conv.constraints.year_max):
            if y:
                out.facts.years.add(int(y))

        written = Written()
        reported = 0
        for delta in write(text, out, conv, cat, self.lex, self.llm, written,
                           self.reply_style):
            for message in written.errors[reported:]:  # before the fallback text it explains
                yield _model_error(message)
            reported = len(written.errors)
            yield Event("text", {"delta": delta})
        for message in written.errors[reported:]:
            yield _model_error(message)
        if out.items and out.action in ("recommend", "ack"):
            yield Event("items", {"items": [self.card(i, k + 1) for k, i
                                            in enumerate(out.items)]})
        if out.question:
            yield Event("question", {"field": out.question[0], "value": out.question[1]})
        conv.remember("user", text)
        conv.remember("assistant", written.text)
        yield Event("done", {
            "turn": conv.turn, "kind": req.kind, "action": out.action,
            "acts": [{**a, **({"item": cat.item_ids[a["item"]]} if "item" in a else {})}
                     for a in out.acts],
            "request": req.to_json(), "text": written.text, "reply_source": written.source,
            "memory": conv.memory, "reason": out.reason,
            "problems": written.problems, "trace": steps,
            "grounded_items": [cat.item_ids[i] for i in out.facts.items],
            "tools_ms": round(tools_ms, 2), "llm_tokens": written.tokens,
            "llm_s": round(written.llm_s, 3),
            "ms": round((time.perf_counter() - t0) * 1e3, 1),
        })

    def card(self, item: int, position: int) -> dict[str, Any]:
        """An item card: position on the list, id, title, year, a few values per field, and
        what a person reads first: ``details`` (genre, people, length, rating) and ``about``
        (the start of the overview)."""
        from recsys.describe import about, details
        from recsys.titles import display_title

        cat = self.catalog
        return {"position": position, "id": cat.item_ids[item],
                "title": display_title(cat.titles[item]), "catalog_title": cat.titles[item],
                "year": cat.year(item),
                "attributes": {f: v[:5] for f, v in cat.item_attributes(item).items()},
                "details": details(cat, item), "about": about(cat, item)}

    def explain(self, conv: Conversation, item_id: str) -> dict[str, Any]:
        """The explain tool's result for one item of this conversation (the UI's "why?"),
        with a ``reason`` sentence built from its paths when the explainer gave none."""
        from agent.manager.reply import path_reason

        res = execute("explain", {"item": item_id}, self._context(conv))
        if "error" not in res and not res.get("reason"):
            text = path_reason(Outcome(action="explain", explanation=res), self.catalog)
            res["reason"] = text[:1].upper() + text[1:]
        return res

    # ------------------------------------------------------------------ state update + plan

    def _item_of(self, conv: Conversation, key: str | int) -> int | None:
        """A dense item index from a list position ("2"), "0" (the focus) or a title."""
        cat = self.catalog
        s = str(key)
        if s.lstrip("-").isdigit():
            k = int(s)
            if k == 0:
                ref = conv.focus or (conv.shown[0] if conv.shown else None)
                return cat.item_index[ref] if ref else None
            if k == -1 and conv.shown:
                return cat.item_index[conv.shown[-1]]
            if 1 <= k <= len(conv.shown):
                return cat.item_index[conv.shown[k - 1]]
            return None
        title = self.lex.ground_title(s)
        return resolve_item(cat, title) if title is not None else None

    def _relative(self, conv: Conversation, req: Request, wish: str, out: Outcome) -> bool:
        """ "older" / "newer" against the years on screen; "shorter" / "longer" need a
        runtime the catalog may not have (then the reply says so). True when handled."""
        cat = self.catalog
        word = normalize(wish).split()[-1] if wish.strip() else ""
        # "number 2 is too long": shorter than number 2, not than the list
        about = [conv.shown[r - 1] for r in req.refs if 1 <= r <= len(conv.shown)]
        base = about or conv.shown or conv.ever_shown
        if word in ("older", "earlier", "newer", "recent", "later", "shorter", "longer"):
            if word in ("shorter", "longer"):
                fld = self.lex.duration_field
                if fld is None:
                    out.missing_field = "running times"
                    return True
                # shorter than the list on screen (its median), else than the catalog's
                known = [v for i in base
                         if (v := cat.number(fld, cat.item_index[i])) is not None]
                if not known:
                    arr = cat.numbers[fld]
                    known = arr[~np.isnan(arr)].tolist()
                if not known:
                    out.missing_field = "running times"
                    return True
                mid = float(min(known) if about and word == "shorter" else
                            max(known) if about else np.median(known))
                req.ranges[fld] = [None, mid - 1] if word == "shorter" else [mid + 1, None]
                return True
            years = sorted(y for i in base if (y := cat.year(cat.item_index[i])))
            if not years:  # nothing on screen yet: older / newer than the catalog's middle
                years = sorted(int(y) for y in cat.years if y)
            if not years:
                return False
            mid = years[len(years) // 2] if not about else \
                (years[0] if word in ("older", "earlier") else years[-1])
            if word in ("older", "earlier"):
                req.year_max, req.year_min = mid - 1, None
            else:
                req.year_min, req.year_max = mid + 1, None
            return True
        return False

    def _note_mentions(self, conv: Conversation, req: Request) -> None:
        """Every title named this turn is a seed: pushed away when negated ("nothing like
        X") or judged badly, drawn towards otherwise; "seen" without a verdict counts half."""
        cat = self.catalog
        judged = {}
        for key, kind in req.feedback.items():
            if not str(key).lstrip("-").isdigit():
                judged[key] = kind
        for t in [*req.titles, *req.unlike]:
            try:
                iid = cat.item_ids[resolve_item(cat, t)]
            except TastebudError:
                continue
            kind = judged.get(t)
            polarity = -1.0 if t in req.unlike or kind == "dislike" else \
                0.5 if kind == "seen" else 1.0
            conv.mention(iid, polarity)

    def _target(self, conv: Conversation, req: Request) -> int | None:
        for r in req.refs:
            i = self._item_of(conv, r)
            if i is not None:
                return i
        if req.titles:
            return self._item_of(conv, req.titles[0])
        return self._item_of(conv, 0)

    def _update_and_plan(self, conv: Conversation, text: str, req: Request, ctx: ToolContext,
                         emit: Any, out: Outcome) -> None:
        """understand -> **acts -> state update -> decide/plan** (the reply comes after)."""
        acts = read_acts(req, text, conv, lambda key: self._item_of(conv, key),
                         self._title_item)
        out.acts = [a.to_json() for a in acts]
        answer, conv.pending = conv.pending, None
        change = self._apply(conv, acts, req, text, out, answer)
        turned_down = any(a.act in (Act.LIST_EDIT, Act.DISLIKE) for a in acts)
        ranges = {f: list(r) for f, r in req.ranges.items()}
        if req.year_min is not None or req.year_max is not None:  # "too old": newer
            ranges["year"] = [req.year_min, req.year_max]
        if turned_down and (change.less or ranges):
            # "number 2 is too long": why it went, which the profile learns and the reply
            # says back (the replacement already fits it)
            out.reason = {"less": {f: list(v) for f, v in change.less.items()},
                          "ranges": ranges}
            said = [reasons_lower(v) for vs in change.less.values() for v in vs]
            bits = ([f"less {' and '.join(said)}"] if said else []) + [
                _range_words(self.catalog, f, r) for f, r in ranges.items()]
            out.notes.append(f"Noted, from now on: {', '.join(bits)}.")
        ctx.state = self._state(conv, ctx.user)
        ctx.seeds, ctx.request = self._seeds(conv), self._request(conv)
        for i in ctx.request:  # counted once, by its own nearest items
            if ctx.seeds.get(i, 0) > 0:
                ctx.seeds[i] = 0.0
        self._answer(main_act(acts), conv, req, text, ctx, emit, out, change)

    # ------------------------------------------------------------------ acts: state effects

    def _apply(self, conv: Conversation, acts: list[DialogueAct], req: Request, text: str,
               out: Outcome, answer: tuple[str, str] | None) -> _Change:
        """Each act's one effect on the conversation (``acts.ACTS``), in order."""
        cat, c = self.catalog, conv.constraints
        change = _Change()
        for a in acts:
            if a.act in (Act.ANSWER_YES, Act.ANSWER_NO) and answer:
                fld, value = answer
                yes = a.act == Act.ANSWER_YES
                (conv.accepted if yes else conv.rejected).append(answer)
                (c.include if yes else c.exclude).setdefault(fld, []).append(value)
                if yes:
                    c.said[f"{fld}:{value}"] = conv.turn
            elif a.act in (Act.LIKE, Act.DISLIKE, Act.SEEN, Act.LIST_EDIT) and a.item is not None:
                kind = "dislike" if a.act == Act.LIST_EDIT else str(a.act)
                iid = cat.item_ids[a.item]
                bucket = {"like": conv.liked, "dislike": conv.disliked, "seen": conv.seen}[kind]
                if a.act == Act.LIST_EDIT and iid in bucket:
                    continue
                conv.judge(iid, kind)  # a like and a dislike of one item exclude each other
                out.feedback.append((a.item, kind))
                out.facts.add_items(cat, [a.item])
                if kind == "like":
                    out.target = a.item
            elif a.act == Act.NEGATE_SEED and a.item is not None:
                if cat.item_ids[a.item] not in c.unlike:
                    c.unlike.append(cat.item_ids[a.item])
            elif a.act in (Act.REQUEST, Act.REFINE):
                self._update_request(conv, req, text, out, a.act, change,
                                     edits=any(b.act == Act.LIST_EDIT for b in acts))
            elif a.act == Act.RELAX:
                self._relax(conv, text, out)
        return change

    def _relax(self, conv: Conversation, text: str, out: Outcome) -> None:
        """Drop what the message lets go of: the years, the genre, or a named value."""
        c = conv.constraints
        m = RELAX.search(normalize(text))
        what = next((g for g in (m.groupdict().values() if m else ()) if g), "") or ""
        what = what.strip()
        dropped: list[str] = []
        if what in ("year", "years", "decade", "era") or re.fullmatch(
                r"(19|20)?\d0'?s|\d{4}|old|new|recent", what):
            if c.year_min is not None or c.year_max is not None:
                c.year_min = c.year_max = None
                dropped.append("the years")
        elif what in ("genre", "kind", "type"):
            g = self.lex.genre_field
            if g and (c.include.get(g) or c.exclude.get(g)):
                dropped += c.include.pop(g, []) + c.exclude.pop(g, [])
        else:
            hit = self.lex.attr_phrases.get(normalize(what))
            fld, value = hit if hit else ("", "")
            if any(value in b.get(fld, []) for b in (c.include, c.exclude, c.less)):
                c.drop(fld, value)
                if value in c.less.get(fld, []):
                    c.less[fld].remove(value)
                dropped.append(value)
        out.notes.append(f"OK, I dropped {', '.join(dropped)}." if dropped else
                         "There was nothing like that to drop; the request stays as it was.")

    def _update_request(self, conv: Conversation, req: Request, text: str, out: Outcome,
                        act: Act, change: _Change, *, edits: bool = False) -> None:
        """REQUEST replaces the standing request, REFINE adds to it; soft wishes are sorted
        into relative ones ("older"), "less X" and free text first."""
        cat, c = self.catalog, conv.constraints
        seeds = [cat.item_ids[resolve_item(cat, t)] for t in wished_titles(req)]
        wishes = [w.strip() for w in (req.free_text or "").split(";") if w.strip()]
        kept = []
        for wish in wishes:
            if self._relative(conv, req, wish, out):
                continue
            if mood_of(wish) is not None:  # "darker": than the list on screen (or number 2)
                about = [conv.shown[r - 1] for r in req.refs if 1 <= r <= len(conv.shown)]
                out.than = [cat.item_index[i] for i in about or conv.shown]
            if m := _LESS.match(wish):
                # Semantic search cannot negate ("less horror" finds horror): a catalog value
                # is ranked down (not excluded: "less" is not "no"); anything else is dropped
                hit = self.lex.attr_phrases.get(normalize(m.group(1)))
                if hit:
                    change.less.setdefault(hit[0], []).append(hit[1])
                continue
            kept.append(wish)
        req.free_text = "; ".join(kept) or None
        if req.refs and not edits:
            seeds += [cat.item_ids[i] for r in req.refs
                      if (i := self._item_of(conv, r)) is not None]  # "more like number 4"
        change.seeds = seeds
        change.slots = bool(req.include or req.exclude or req.year_min or req.year_max
                            or req.titles or req.free_text or req.unlike or change.less
                            or req.ranges or req.audience)
        only_exclusions = bool(req.exclude) and not (req.include or req.year_min or req.year_max
                                                     or seeds or req.free_text or req.ranges
                                                     or req.audience)
        if act == Act.REQUEST and change.slots and not (only_exclusions and not c.empty):
            c.replace_with(req, seeds)
            c.since, c.said = conv.turn, {}
            conv.context = text
        else:
            c.refine_with(req, seeds)
            if change.slots and not edits:  # "swap 3" or "anything else?" adds no situation
                conv.context = f"{conv.context}; {text}" if conv.context else text
        for fld, values in req.include.items():
            c.said.update({f"{fld}:{v}": conv.turn for v in values})
        for fld, values in change.less.items():
            c.less.setdefault(fld, [])
            c.less[fld] += [v for v in values if v not in c.less[fld]]
        for t in req.unlike:
            iid = cat.item_ids[resolve_item(cat, t)]
            if iid not in c.unlike:
                c.unlike.append(iid)
        change.narrowing = act == Act.REFINE and bool(conv.shown) and not (
            req.include or seeds or change.less or req.free_text or req.unlike) and bool(
            req.exclude or req.year_min or req.year_max or req.ranges or req.audience)

    # ------------------------------------------------------------------ acts: the answer

    def _answer(self, main: Act, conv: Conversation, req: Request, text: str,
                ctx: ToolContext, emit: Any, out: Outcome, change: _Change) -> None:
        """Answer the turn's main act: ask, recommend, replace, explain, state a fact, ack."""
        cat = self.catalog
        if main == Act.NO_SUCH_POSITION:
            n = len(conv.shown)
            bad = next(r for r in req.refs if r > n or (r < 1 and r != -1))
            out.notes.append(f"There is no number {bad}: " + (
                f"the list has {n} item{'s' if n != 1 else ''}." if n
                else "there is no list on screen yet."))
            out.action, out.items = "ack", [cat.item_index[i] for i in conv.shown]
            return
        if main in (Act.ANSWER_YES, Act.ANSWER_NO):
            if main == Act.ANSWER_NO and self.rules.should_ask(conv, ctx) and self.rules.ask(
                    conv, ctx, emit, out):
                return
            self.rules.recommend(conv, ctx, emit, out)
            return
        edits = main in (Act.LIST_EDIT, Act.DISLIKE, Act.SEEN) or (
            main == Act.REFINE and not change.slots)
        if edits and self._replace_turned_down(conv, req, ctx, emit, out):
            return
        if main in (Act.LIKE, Act.DISLIKE, Act.SEEN, Act.LIST_EDIT):
            out.action = "ack"
            return
        if main in (Act.WHY, Act.FACT):
            self._about_item(main, conv, req, text, ctx, emit, out)
            return
        if main == Act.NOT_SEEN:
            out.action = "ack"  # "haven't seen that one either": it stays on the list
            out.notes.append("Noted: you haven't seen it, so it stays on the list.")
            out.items = [cat.item_index[i] for i in conv.shown]
            return
        unknown = out.unknown_titles
        if main == Act.THANKS_BYE:
            out.action = "ack"
            thing = cat.words.item if cat.words.item != "item" else "pick"
            out.notes.append(f"You're welcome, enjoy the {thing}!" if re.search(
                r"\b(thank|thx|cheers)", text, re.I) else f"Bye, enjoy the {thing}!")
            return
        if main in (Act.CHITCHAT, Act.NEGATE_SEED):
            out.action = "unknown" if unknown else "chat"
            if not unknown and self.rules.should_ask(conv, ctx) and conv.turn > 1:
                self.rules.ask(conv, ctx, emit, out)
            return
        # REQUEST / RELAX / REFINE / MORE: plan the tools
        if unknown and not change.slots:
            out.action = "unknown"
            return
        if self.rules.should_ask(conv, ctx) and self.rules.ask(conv, ctx, emit, out):
            return
        if self.tool_planner is not None and self.tool_planner.plan(conv, ctx, emit, out, text):
            return
        ctx.bus.new_turn()
        c = conv.constraints
        keep = [cat.item_index[i] for i in conv.shown if self._fits(cat.item_index[i], c)] \
            if change.narrowing else []
        if keep:
            # "no romance" after a list: what still fits stays, only the rest is replaced
            self.rules.recommend(conv, ctx, emit, out, n=max(1, self.list_size - len(keep)))
            out.items = [*keep, *[i for i in out.items if i not in keep]][:self.list_size]
            out.action = "recommend"
            out.notes.append(f"I kept {len(keep)} that still fit{'s' if len(keep) == 1 else ''}.")
            return
        self.rules.recommend(conv, ctx, emit, out)

    def _replace_turned_down(self, conv: Conversation, req: Request, ctx: ToolContext,
                             emit: Any, out: Outcome) -> bool:
        """Items turned down from the list on screen are replaced in place ("swap 3")."""
        cat = self.catalog
        gone = [i for i, k in out.feedback if k in ("dislike", "seen")
                and cat.item_ids[i] in conv.shown]
        # a reason ("too old") narrows what replaces the item; other conditions ask anew
        said = out.reason is None and (req.free_text or req.year_min or req.year_max)
        if not gone or req.include or req.exclude or said:
            return False
        sub = Outcome(action="recommend")
        self.rules.recommend(conv, ctx, emit, sub, n=len(gone))
        new = [cat.item_index[i] for i in conv.shown]
        for old, rep in zip(gone, sub.items, strict=False):
            new[new.index(old)] = rep
            out.replaced.append((old, rep))
        # what was turned down and not replaced leaves the list (it is in conv.excluded)
        out.action = "ack"
        out.items = [i for i in new if cat.item_ids[i] not in conv.excluded]
        out.personalised = sub.personalised
        return True

    def _about_item(self, main: Act, conv: Conversation, req: Request, text: str,
                    ctx: ToolContext, emit: Any, out: Outcome) -> None:
        """WHY: the explain tool's paths; FACT: the catalog's record of the item."""
        cat = self.catalog
        target = self._target(conv, req)
        if target is None:
            out.action = "unknown" if out.unknown_titles else "chat"
            return
        out.target = target
        if main == Act.WHY:
            res = execute("explain", {"item": cat.item_ids[target]}, ctx)
            emit(ctx.bus.summary()[-1])
            out.action, out.explanation = "explain", res
            for p in res.get("paths", []):
                for node in p:
                    if node["type"] == "item":
                        out.facts.add_items(cat, [cat.item_index[node["id"]]])
                    elif node["type"] == "attribute":
                        out.facts.values.add((node["field"], node["value"]))
            out.facts.add_items(cat, [cat.item_index[nb["id"]]
                                      for nb in res.get("neighbours", [])])
            return
        res = execute("lookup_item", {"item": cat.item_ids[target]}, ctx)
        emit(ctx.bus.summary()[-1])
        out.action, out.fact = "fact", res
        out.facts.values.update((f, v) for f, vs in res.get("attributes", {}).items()
                                for v in vs)
        words = set(normalize(text).split())
        out.asked_field = next((f for f in cat.attributes
                                if f.lower() in words or f"{f.lower()}s" in words), None)
        if "when" in words or "year" in words:
            out.asked_field = None
        for name, pattern, kind, hints in _ASKS:
            if not re.search(pattern, text, re.I):
                continue
            fld = _field_for(cat, kind, hints)
            if fld is None:
                out.missing_field = name
            else:
                out.asked_field = fld
            break

    def _title_item(self, title: str) -> int | None:
        try:
            return resolve_item(self.catalog, title)
        except TastebudError:
            return None

    def _fits(self, item: int, c: Constraints) -> bool:
        """Does an item meet the standing request's hard conditions (values, years, lengths,
        audience)?"""
        cat = self.catalog
        attrs = cat.item_attributes(item)
        for f, values in c.include.items():
            hard = f == self.lex.genre_field or cat.info(f).hard
            if hard and not set(values) & set(attrs.get(f, [])):
                return False
        for f, (lo, hi) in c.ranges.items():
            v = cat.number(f, item)
            if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
                return False
        if c.audience and c.audience in cat.audience:
            from recsys.audience import suitable

            if not suitable(cat, c.audience)[item]:
                return False
        for f, values in c.exclude.items():
            if set(values) & set(attrs.get(f, [])):
                return False
        y = cat.year(item)
        if c.year_min is not None and (y is None or y < c.year_min):
            return False
        return not (c.year_max is not None and (y is None or y > c.year_max))


def _range_words(cat: Catalog, fld: str, r: list[float | None]) -> str:
    """ "under 127 minutes", "from 1990 on" """
    lo, hi = r
    unit = cat.info(fld).unit or ""
    if fld == "year":
        return f"nothing before {int(lo)}" if lo is not None else f"nothing after {int(hi or 0)}"
    if hi is not None and lo is None:
        return f"under {hi + 1:g} {unit}".strip()
    if lo is not None and hi is None:
        return f"over {lo - 1:g} {unit}".strip()
    return f"{fld} {lo:g}-{hi:g}"


@dataclass
class _Change:
    """What the REQUEST / REFINE act changed, for deciding the answer."""

    seeds: list[str] = field(default_factory=list)
    less: dict[str, list[str]] = field(default_factory=dict)
    slots: bool = False  # the message said something about what to recommend
    narrowing: bool = False  # only exclusions or a period: what still fits may stay


def _field_for(cat: Catalog, kind: str, hints: tuple[str, ...]) -> str | None:
    """The catalog field of ``kind`` whose name or label has one of ``hints`` (for text,
    the first free-text field)."""
    names = [*cat.attributes, *cat.numbers, *cat.notes]
    for f in names:
        info = cat.info(f)
        said = f"{f} {info.label or ''} {info.unit or ''}".lower()
        if info.kind == kind and (not hints or any(h in said for h in hints)):
            return f
    return None


def _model_error(message: str) -> Event:
    """The model failed mid-turn: say so; the turn goes on (verified text or the template)."""
    return Event("error", {"code": "llm_failed", "recoverable": True, "final": False,
                           "message": f"The language model failed ({message}); the answer "
                                      "continues without it. You can keep chatting."})
