"""Planning a turn's tool calls: deterministic from the structured request, or by the LLM.

Both planners call the same tools through ``agent.tools.execute`` on the same candidate bus,
so a turn leaves the same trace either way; both return an ``Outcome`` for the reply writer.
The rule planner is the default with the small local model (which cannot plan reliably);
``ToolCallingPlanner`` lets a capable model on an OpenAI-compatible server plan first.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from agent.llm.base import ChatModel, LLMError, Message
from agent.manager.conversation import Conversation
from agent.manager.reply import Outcome
from agent.tools import ToolContext, execute, openai_tools

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]  # called with each bus step as it happens
MAX_ASK = 2  # questions before the first list: more feels like an interrogation


def _indices(ctx: ToolContext, result: dict[str, Any]) -> list[int]:
    return [ctx.catalog.item_index[c["id"]] for c in result.get("items", [])
            if c.get("id") in ctx.catalog.item_index]


class RulePlanner:
    """filter -> search -> rank from the standing request, with seeds and relaxation."""

    name = "rules"

    def __init__(self, list_size: int = 5) -> None:
        self.list_size = list_size

    def call(self, ctx: ToolContext, emit: Emit, tool: str, args: dict[str, Any]
             ) -> dict[str, Any]:
        result = execute(tool, args, ctx)
        emit(ctx.bus.summary()[-1])
        return result

    def recommend(self, conv: Conversation, ctx: ToolContext, emit: Emit, out: Outcome,
                  n: int | None = None) -> None:
        """Fill ``out.items`` with the best ``n`` items for the standing request."""
        n = n or self.list_size
        c = conv.constraints
        mem = self._remembered(conv, ctx)
        # seeds ("like Alien", every title mentioned or liked) are weights in rank_items'
        # conversation scores, not a candidate pool: their neighbours by ratings and the films
        # people name together in real dialogues both count
        include, soft = self._split(ctx, c.include, conv)
        # every wished value ranks up (so "action comedy" puts films with both first), a
        # "less" value ranks down; only ``include`` filters
        # (set afresh each call: a turn that recommends twice must not count them twice)
        less = {f: list(dict.fromkeys([*c.less.get(f, []), *mem.less.get(f, [])]))
                for f in {*c.less, *mem.less}}
        ctx.boosts = (*self._masks(ctx, c.include), *(-m for m in self._masks(ctx, less)))
        if soft:
            ctx.boosts = (*ctx.boosts, *self._related(ctx, soft))
        if c.less:
            ctx.boosts = (*ctx.boosts, *(-4 * m for m in self._related(ctx, c.less)))
        ctx.boosts = (*ctx.boosts, *self._text_near(ctx))
        ranges = {f: r for f, r in {**mem.ranges, **c.ranges}.items()
                  if f in ctx.catalog.numbers}
        exclude = {f: list(dict.fromkeys([*c.exclude.get(f, []), *mem.exclude.get(f, [])]))
                   for f in {*c.exclude, *mem.exclude}}
        years = mem.ranges.get("year", [None, None])
        cond: dict[str, Any] = {k: v for k, v in (("include", include),
                                                   ("exclude", exclude),
                                                   ("year_min", c.year_min or years[0]),
                                                   ("year_max", c.year_max or years[1]),
                                                   ("ranges", ranges)) if v}
        if mem.items and ctx.state is not None:  # raw edits: those very items stay off
            index = ctx.catalog.item_index
            ctx.state.rejected_items = list(dict.fromkeys(
                [*ctx.state.rejected_items, *(index[i] for i in mem.items if i in index)]))
        if c.audience and c.audience in ctx.catalog.audience:
            cond["audience"] = c.audience  # never relaxed: who is watching is not a taste
        if cond:
            before = None if ctx.bus.items is None else ctx.bus.items.copy()
            r = self.call(ctx, emit, "filter_items", {**cond, "show": 0})
            for drop in _relaxations(cond):
                if r.get("count", 0) > 0:
                    break
                ctx.bus.items = None if before is None else before.copy()
                out.relaxed.append(drop[0])
                r = self.call(ctx, emit, "filter_items", {**drop[1], "show": 0})
            if r.get("count", 0) == 0:
                out.action = "empty"
                return
            out.matches = int(r.get("count", 0))
        wishes = [w.strip() for w in (c.free_text or "").split(";") if w.strip()]
        moods = [q for w in wishes if (q := mood_of(w)) is not None]
        if rest := "; ".join(w for w in wishes if mood_of(w) is None):
            query = _plain(rest)
            self.call(ctx, emit, "search_items", {"query": query, "k": 100, "show": 0})
            # how well each found item fits the wish ranks too (best first, falling to 0):
            # "documentaries about music" puts the music documentaries first, not the most
            # popular documentaries that merely made the cut
            found = ctx.bus.items
            if found is not None and len(found):
                ids = np.asarray(found)
                mask = np.zeros(ctx.catalog.n_items, np.float32)
                mask[ids] = np.linspace(3.0, 0.0, len(ids), dtype=np.float32)
                ctx.boosts = (*ctx.boosts, mask)
            # the genres of what the wish describes rank up too ("darker" -> Thriller, Crime)
            ctx.boosts = (*ctx.boosts, *self._related(ctx, {"": [query]}))
        # a mood ("darker", "more upbeat") ranks: searched as words, it would narrow the list
        # to the few items that carry them, in the title too ("The Dark Tower")
        for quality in moods:
            ctx.boosts = (*ctx.boosts, *self._mood(ctx, quality, out.than))
        r = self.call(ctx, emit, "rank_items", {"n": n})
        out.items = _indices(ctx, r)
        if conv.memory and out.items:
            said = "; ".join(f"{m['text']} (from “{m['context'][:60]}”)" if m["context"] else
                             m["text"] for m in conv.memory)
            out.remembered = f"Remembering: {said}."
        out.personalised = bool(r.get("personalised"))
        out.action = "recommend" if out.items else "empty"
        out.exhausted = not out.items and ctx.bus.items is not None and bool(
            ctx.shown_or_rejected().size)

    def _hard(self, ctx: ToolContext) -> tuple[str, ...]:
        return hard_fields(ctx.catalog, self.hard_fields)

    def _remembered(self, conv: Conversation, ctx: ToolContext) -> Any:
        """The profile's preferences for this request as one rule, minus whatever the
        request itself asks for (a remembered "no Horror" yields to "a scary movie").

        They become one by ``self.aggregator`` (a model, ``profiles.llm_aggregate``) when
        set, else by the newest-wins merge; ``conv.memory`` keeps each one's part of what
        was applied, and who combined them (``aggregated_by``)."""
        from profiles.rules import Rule, merge, part_of

        conv.memory = []
        if ctx.recall is None:
            return Rule()
        from agent.nlu import lexicon_for
        from agent.nlu.situation import situation

        c = conv.constraints
        wanted = {(f, v) for f, vs in c.include.items() for v in vs}
        kept: list[tuple[dict[str, Any], Rule]] = []
        key = situation(conv.context, lexicon_for(ctx.catalog), self._hard(ctx))
        for m in ctx.recall(key):
            rule = Rule.from_json(m.get("rule"))
            for part in (rule.exclude, rule.less):
                for f in list(part):
                    part[f] = [v for v in part[f] if (f, v) not in wanted]
                    if not part[f]:
                        del part[f]
            asked = set(c.ranges) | ({"year"} if c.year_min or c.year_max else set())
            rule.ranges = {f: r for f, r in rule.ranges.items() if f not in asked}
            if not rule.empty:
                kept.append((m, rule))
        kept.sort(key=lambda p: p[0].get("id") or 0)  # oldest first: the newest wins a merge
        applied, by = merge([r for _, r in kept]), "merge"
        if self.aggregator is not None and len(kept) > 1:
            applied, by = self.aggregator.aggregate(
                ctx.catalog, conv.context, [{**m, "rule": r.to_json()} for m, r in kept])
        for m, rule in kept:
            share = part_of(rule, applied)
            if share.empty:  # left out or overridden: not applied, not claimed
                continue
            text = m["text"] if share == rule else share.describe(ctx.catalog)
            conv.memory.append({**m, "text": text, "rule": share.to_json(),
                                "aggregated_by": by})
        conv.memory.sort(key=lambda m: -(m.get("similarity") or 0.0))  # most alike first
        return applied

    # combines the recalled preferences (``profiles.llm_aggregate.LLMAggregate``); None: merge
    aggregator: Any = None
    hard_fields: tuple[str, ...] | None = None  # None: the catalog's genre-like field

    def _split(self, ctx: ToolContext, include: dict[str, list[str]],
               conv: Conversation | None = None
               ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Wished values -> (hard filters, soft wishes). Only a catalog-wide field (genre)
        filters, and only when asked for in this message or when no title says otherwise; a
        sparse tag ("feel-good" is on 4 films) is evidence for ranking."""
        hard_fields = self._hard(ctx)
        titles = bool(ctx.request or any(w > 0 for w in ctx.seeds.values()))
        said = conv.constraints.said if conv is not None else {}
        turn = conv.turn if conv is not None else -1

        def hard_value(f: str, v: str) -> bool:
            # with titles to go by, a genre said in an earlier message is a taste, not a rule;
            # asked for now ("some action movies"), it holds whatever was liked before; a
            # person asked for ("with Jim Carrey") always holds
            if f not in hard_fields:
                return False
            return ctx.catalog.info(f).kind == "people" or not titles or \
                said.get(f"{f}:{v}") == turn

        hard = {f: [v for v in vs if hard_value(f, v)] for f, vs in include.items()}
        soft = {f: [v for v in vs if not hard_value(f, v)] for f, vs in include.items()}
        return ({f: v for f, v in hard.items() if v}, {f: v for f, v in soft.items() if v})

    @staticmethod
    def _text_near(ctx: ToolContext, n: int = 100) -> list[np.ndarray]:
        """Items close in content to what the request is "like", beside the ratings'
        neighbours: by description (embeddings) and by the catalog values they share
        (genres, keywords, tags, people). "Like Amelie" finds whimsical French comedies, not
        the popular hits its raters also rated; either alone drifts (a description shares
        words more than kind: "Toy Story" reads close to "Toy Soldiers")."""
        from recsys.errors import TastebudError

        out = []
        for seed in ctx.request:
            try:
                near = ctx.semantic_index().similar_items(int(seed), n)
            except TastebudError:
                near = None
            if near is not None and len(near.ids):  # cosines of embeddings bunch: spread them
                sc = near.scores.astype(np.float32)
                lo, hi = float(sc.min()), float(sc.max())
                mask = np.zeros(ctx.catalog.n_items, np.float32)
                mask[near.ids] = (sc - lo) / (hi - lo) if hi > lo else 1.0
                out.append(2.0 * mask)
            shared = _content_near(ctx.catalog, int(seed), n)
            if len(shared.ids):  # cosines of shared values: 1 for the closest, as they are
                mask = np.zeros(ctx.catalog.n_items, np.float32)
                mask[shared.ids] = shared.scores / max(float(shared.scores.max()), 1e-9)
                out.append(2.0 * mask)
        return out

    @staticmethod
    def _mood(ctx: ToolContext, quality: str, than: list[int]) -> list[np.ndarray]:
        """Boosts for more of a mood: each item's place between the mood's two poles
        (``_poles``) read off its text's embedding, in standard deviations from ``than`` (the
        list the mood was said of) or, without one, from the catalog's mean.

        Against a list, what has less of the mood than the list on average goes last, and the
        list's genres rank up (what the list is, beside the request's own conditions):
        "anything darker?" after comedies is darker comedies, not the darkest films there
        are. The axis is only as good as the item texts: MiniLM on MovieLens tells a horror
        film from a comedy far better than a darker animated film from a lighter one."""
        from recsys.errors import TastebudError

        try:
            index = ctx.semantic_index()
        except TastebudError:
            return []
        toward, away = _poles(quality)
        q = index.encoder.encode([toward, *([away] if away else [])], progress=False)
        axis = (q[0] - q[1] if away else q[0]).astype(np.float32)
        s = index.embeddings @ axis
        ref = float(s[np.asarray(than, np.int64)].mean()) if than else float(s.mean())
        out = [np.clip((s - ref) / (float(s.std()) or 1.0), -1.0, 2.0).astype(np.float32)]
        if not than:
            return out
        out.append(np.where(s > ref, 0.0, -5.0).astype(np.float32))
        g = _genre_field(ctx)
        if g and g in ctx.catalog.attributes:  # cosine of each item's genres to the list's
            gm, _ = _genre_matrix(ctx.catalog, g)
            share = np.asarray(gm[np.asarray(than, np.int64)].mean(axis=0)).ravel()
            norms = np.sqrt(np.asarray(gm.sum(axis=1)).ravel()) * np.linalg.norm(share)
            out.append((np.asarray(gm @ share).ravel() / np.maximum(norms, 1e-9))
                       .astype(np.float32))
        return out

    @staticmethod
    def _related(ctx: ToolContext, soft: dict[str, list[str]]) -> list[np.ndarray]:
        """Masks of the genres a sparse value stands for, read off the catalog: the genres
        of most items carrying it ("scary" -> Horror), so a tag on 4 films still ranks the
        hundreds it describes."""
        from agent.nlu import lexicon_for

        g = lexicon_for(ctx.catalog).genre_field
        if not g or g not in ctx.catalog.attributes:
            return []
        gm, base = _genre_matrix(ctx.catalog, g)
        genres = ctx.catalog.attributes[g]
        out = []
        for f, values in soft.items():
            if f == g or (f and f not in ctx.catalog.attributes):
                continue
            for v in values:
                # f == "": a free-text wish, described by the items closest to it in text
                items = ctx.catalog.attributes[f].items_with(v) if f else np.zeros(0, np.int64)
                if len(items) < 3:
                    # too few to read genres off: the value's own words may name them
                    # ("romantic comedy" -> Romance, Comedy), else the items whose text
                    # is closest to it do ("scary" -> mostly Horror)
                    named = _genre_words(ctx, g, v) if f else []
                    for j in named:
                        mask = np.zeros(ctx.catalog.n_items, np.float32)
                        mask[genres.items_with(genres.values[j])] = 1.0
                        out.append(mask)
                    if named:
                        continue
                    items = ctx.semantic_index().search(v, 50).ids
                share = np.asarray(gm[np.asarray(items)].mean(axis=0)).ravel()
                for j in np.flatnonzero((share >= 0.5) & (share >= 1.5 * base)):
                    mask = np.zeros(ctx.catalog.n_items, np.float32)
                    mask[genres.items_with(genres.values[j])] = 0.5  # half a wished value
                    out.append(mask)
        return out

    @staticmethod
    def _masks(ctx: ToolContext, soft: dict[str, list[str]]) -> list[np.ndarray]:
        """One (I,) 0/1 mask per wished value: the items carrying it, in its own field or,
        for tags, keywords and people, under the same name in any such field (the tag
        "time travel" is on 20 films, the genome's on 150; the tag "jim carrey" beside the
        cast)."""
        cat = ctx.catalog
        g = _genre_field(ctx)
        # fields naming the same things: people, and tag-like fields that only rank
        kin = [f for f in cat.attributes if f != g and (
            cat.info(f).kind == "people"
            or (cat.info(f).kind in ("keywords", "categorical") and not cat.info(f).hard))]
        out = []
        for f, values in soft.items():
            attr = cat.attributes.get(f)
            if attr is None:
                continue
            for v in values:
                mask = np.zeros(cat.n_items, np.float32)
                mask[attr.items_with(v)] = 1.0
                if f != g:
                    for other in kin:
                        if other != f:
                            mask[_same_name(cat, other, v)] = 1.0
                out.append(mask)
        return out

    def ask(self, conv: Conversation, ctx: ToolContext, emit: Emit, out: Outcome) -> bool:
        """Ask the graph policy's best yes/no question; False when none is worth asking."""
        r = self.call(ctx, emit, "ask_attribute", {})
        if not r.get("field"):
            return False
        out.action, out.question = "ask", (r["field"], r["value"])
        out.facts.values.add(out.question)
        return True

    def should_ask(self, conv: Conversation, ctx: ToolContext) -> bool:
        """Ask before recommending only when nothing at all is known about the person."""
        return (ctx.user is None and conv.constraints.empty and not conv.liked
                and not conv.mentions and not conv.shown and conv.questions < MAX_ASK)


_NEAR_KEPT = 512  # items whose content neighbours are kept: "like X" asks every turn
_NEAR_LOCK = threading.Lock()


def _content_near(catalog: Any, item: int, n: int) -> Any:
    """The ``n`` items sharing most of ``item``'s catalog values (genres, keywords, tags,
    people), by cosine over idf-weighted values; the last few answers are kept."""
    from recsys.kept import Kept
    from recsys.ranked import Ranked

    kept = catalog.__dict__.get("_content_near")
    if kept is None:
        with _NEAR_LOCK:
            kept = catalog.__dict__.setdefault("_content_near", Kept(_NEAR_KEPT))
    hit = kept.get((int(item), int(n)), lambda: _content_near_now(catalog, item, n))
    return Ranked(hit.ids.copy(), hit.scores.copy())


def _content_near_now(catalog: Any, item: int, n: int) -> Any:
    from recsys.ranked import Ranked

    m, by_value = _content_matrix(catalog), _content_postings(catalog)
    # only items sharing a value with ``item`` can score: read those values' postings
    # instead of a product over every item's row (94 -> a few ms at 1M items)
    row = (m[item] @ by_value).tocsr()
    ids, sims = row.indices.astype(np.int64), row.data.astype(np.float32)
    keep = (ids != item) & (sims > 0)
    ids, sims = ids[keep], sims[keep]
    order = np.lexsort((ids, -sims))[:n]  # best first, ties by index
    return Ranked(ids[order].astype(np.int32), sims[order])


def warm_catalog(catalog: Any) -> None:
    """Build the per-catalog tables "like X" needs now, not in a person's first turn."""
    _content_postings(catalog)


def _content_postings(catalog: Any) -> Any:
    """The content matrix transposed: (field, value) -> the items holding it, built once."""
    key = "_content_postings"
    if key not in catalog.__dict__:
        catalog.__dict__[key] = _content_matrix(catalog).T.tocsr()
    return catalog.__dict__[key]


def _content_matrix(catalog: Any) -> Any:
    """Items x (field, value), idf-weighted, unit rows; built once per catalog."""
    import scipy.sparse as sp

    key = "_content_matrix"
    if key not in catalog.__dict__:
        blocks = []
        for f, a in catalog.attributes.items():
            info = catalog.info(f)
            if not info.embed or info.kind not in ("categorical", "keywords", "people"):
                continue
            b = (a.matrix > 0).astype(np.float32).tocsc()
            df = np.diff(b.indptr).astype(np.float32)
            idf = np.where(df > 1, np.log(catalog.n_items / np.maximum(df, 1)), 0.0)
            blocks.append(b @ sp.diags(idf.astype(np.float32)))
        m = sp.hstack(blocks).tocsr() if blocks else sp.csr_matrix((catalog.n_items, 1))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        catalog.__dict__[key] = (sp.diags(1 / np.maximum(norms, 1e-9)) @ m).tocsr()
    return catalog.__dict__[key]


def _genre_field(ctx: ToolContext) -> str | None:
    from agent.nlu import lexicon_for

    return lexicon_for(ctx.catalog).genre_field


def _same_name(catalog: Any, fld: str, value: str) -> np.ndarray:
    """Items whose ``fld`` holds ``value`` under any casing and punctuation."""
    from agent.nlu.lexicon import normalize

    key = f"_by_norm_{fld}"
    index = catalog.__dict__.get(key)
    if index is None:  # built once per field
        index = {}
        for v in catalog.attributes[fld].values:
            index.setdefault(normalize(v), v)
        catalog.__dict__[key] = index
    hit = index.get(normalize(value))
    return catalog.attributes[fld].items_with(hit) if hit else np.zeros(0, np.int32)


def hard_fields(catalog: Any, override: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The fields whose wished values filter: the genre-like field, and what the spec calls
    filterable (people, ratings)."""
    from agent.nlu import lexicon_for

    if override is not None:
        return override
    g = lexicon_for(catalog).genre_field
    return (*((g,) if g else ()), *(f for f in catalog.attributes if catalog.info(f).hard))


def _relaxations(cond: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Ever looser conditions: the years first, then lengths, then each included value,
    last said first; never the audience."""
    out = []
    cur = {k: (dict(v) if isinstance(v, dict) else v) for k, v in cond.items()}
    if "year_min" in cur or "year_max" in cur:
        cur.pop("year_min", None), cur.pop("year_max", None)
        out.append(("the years", dict(cur)))
    if "ranges" in cur:
        cur.pop("ranges")
        out.append(("the length", dict(cur)))
    inc = {f: list(v) for f, v in cur.get("include", {}).items()}
    for fld in reversed(list(inc)):
        for value in reversed(inc[fld]):
            inc[fld].remove(value)
            cur["include"] = {f: list(v) for f, v in inc.items() if v}
            if not cur["include"]:
                cur.pop("include")
            out.append((value, {k: v for k, v in cur.items()}))
    return out


def _genre_matrix(catalog: Any, field: str) -> tuple[Any, np.ndarray]:
    """(items x genres) 0/1 by row and each genre's share of items; built once per catalog
    (a turn reads it several times)."""
    key = f"_genre_matrix_{field}"
    if key not in catalog.__dict__:
        gm = (catalog.attributes[field].matrix > 0).astype(np.float32).tocsr()
        catalog.__dict__[key] = (gm, np.asarray(gm.mean(axis=0)).ravel())
    return catalog.__dict__[key]


# comparatives ask for more of a quality: search for the quality itself
_BASE = {"darker": "dark", "lighter": "light-hearted", "funnier": "funny", "scarier": "scary",
         "sadder": "sad", "happier": "happy", "weirder": "weird", "calmer": "calm",
         "smarter": "smart", "simpler": "simple", "gentler": "gentle", "sillier": "silly"}


# a mood as two poles an item's text lies between: "darker" is nearer "dark, bleak, grim" and
# further from "light-hearted, cheerful" (one word alone reads like a title word: "dark"
# is closest to "Darkon" and "Dark Shadows"); a mood not here has its own word as one pole
_DARK, _LIGHT = "dark, bleak, grim", "light-hearted, cheerful"
_HAPPY, _SAD = "happy, upbeat, cheerful", "sad, bleak"
_SCARY, _GENTLE = "scary, frightening", "gentle, calm"
_POLES = {"dark": (_DARK, _LIGHT), "light-hearted": (_LIGHT, _DARK),
          "happy": (_HAPPY, _SAD), "upbeat": (_HAPPY, _SAD), "cheerful": (_HAPPY, _SAD),
          "sad": (_SAD, _HAPPY), "scary": (_SCARY, _GENTLE), "gentle": (_GENTLE, _SCARY),
          "calm": (_GENTLE, _SCARY), "funny": ("funny, hilarious", "serious"),
          "serious": ("serious", "funny, hilarious")}
_DEGREE = frozenset({"a", "bit", "little", "lot", "slightly", "somewhat", "even", "much", "way",
                     "tad"})


def _poles(quality: str) -> tuple[str, str | None]:
    return _POLES.get(quality, (quality, None))


def mood_of(wish: str) -> str | None:
    """The quality a comparative wish asks more of: "darker" -> "dark", "a bit lighter" ->
    "light-hearted", "more upbeat" -> "upbeat"; None for any other wish. Said after a list,
    it is relative to that list (``Outcome.than``)."""
    from agent.nlu.lexicon import COMMON

    words = [w for w in wish.casefold().replace("?", " ").split() if w not in _DEGREE]
    if len(words) == 1 and words[0] in _BASE:
        return _BASE[words[0]]
    if len(words) == 2 and words[0] == "more" and words[1].isalpha() \
            and words[1] not in COMMON:
        return _BASE.get(words[1], words[1])
    return None


def _plain(text: str) -> str:
    """The wish as a search query: "darker" -> "dark"."""
    return " ".join(_BASE.get(w.lower(), w) for w in text.replace(";", " ").split())


def _genre_words(ctx: ToolContext, genre_field: str, value: str) -> list[int]:
    """Indices of the genre values named by the words of a phrase."""
    from agent.nlu import lexicon_for
    from agent.nlu.lexicon import normalize

    lex = lexicon_for(ctx.catalog)
    index = ctx.catalog.attributes[genre_field].value_index
    out = []
    for w in normalize(value).split():
        hit = lex.attr_phrases.get(w)
        if hit and hit[0] == genre_field and index.get(hit[1]) is not None:
            out.append(index[hit[1]])
    return out


class ToolCallingPlanner(RulePlanner):
    """The model plans: it sees the tools and the request, calls them, we execute (bounded)."""

    name = "llm"

    def __init__(self, llm: ChatModel, list_size: int = 5, max_steps: int = 6) -> None:
        super().__init__(list_size)
        self.llm, self.max_steps = llm, max_steps

    def plan(self, conv: Conversation, ctx: ToolContext, emit: Emit, out: Outcome,
             user_text: str) -> bool:
        """Let the model call tools; False if it failed (the caller then plans by rules)."""
        state = {"request": conv.constraints.describe() or None,
                 "on_screen": [{"n": k + 1, "id": i, "title": ctx.catalog.titles[
                     ctx.catalog.item_index[i]]} for k, i in enumerate(conv.shown)],
                 "liked": conv.liked, "excluded": conv.excluded,
                 "list_size": self.list_size}
        self._remembered(conv, ctx)  # what the person taught before, told to the model
        if conv.memory:
            state["remembered"] = ("The person's remembered preferences for this request: "
                                   + "; ".join(m["text"] for m in conv.memory))
        msgs = [Message.system(
            "You choose recommender tool calls for a chat. Call filter_items for hard "
            "conditions, search_items for soft wishes, similar_items for 'like <title>', "
            "rank_items last to order the list; explain for 'why', lookup_item for facts, "
            "ask_attribute when the request is too vague. Respect the remembered preferences "
            "in STATE (filter_items exclude) unless the request asks otherwise. Reply with no "
            "tool call when done."),
            Message.user(f"STATE: {json.dumps(state)}\nUSER: {user_text}")]
        tools = openai_tools()
        last: dict[str, dict[str, Any]] = {}
        for _ in range(self.max_steps):
            try:
                res = self.llm.generate(msgs, tools=tools, max_tokens=256, temperature=0.0)
            except LLMError as e:
                log.warning("planner LLM failed: %s", e)
                return bool(last)
            if not res.tool_calls:
                break
            msgs.append(Message.assistant(res.text, res.tool_calls))
            for call in res.tool_calls:
                result = self.call(ctx, emit, call.name, call.arguments)
                if "error" not in result:
                    last[call.name] = result
                msgs.append(Message.tool(call.id, json.dumps(result)[:4000], name=call.name))
        return self._outcome(ctx, out, last)

    def _outcome(self, ctx: ToolContext, out: Outcome, last: dict[str, dict[str, Any]]) -> bool:
        cat = ctx.catalog
        if "explain" in last:
            r = last["explain"]
            out.action, out.target, out.explanation = "explain", cat.item_index[r["id"]], r
        elif "lookup_item" in last:
            r = last["lookup_item"]
            out.action, out.target, out.fact = "fact", cat.item_index[r["id"]], r
        elif "ask_attribute" in last and last["ask_attribute"].get("field"):
            r = last["ask_attribute"]
            out.action, out.question = "ask", (r["field"], r["value"])
            out.facts.values.add(out.question)
        elif ctx.bus.items is not None:
            if "rank_items" not in last:  # the model forgot: order what it found
                r = self.call(ctx, lambda s: None, "rank_items", {"n": self.list_size})
                last["rank_items"] = r
            out.items = [int(i) for i in np.asarray(ctx.bus.items)[:self.list_size]]
            out.personalised = bool(last["rank_items"].get("personalised"))
            out.action = "recommend" if out.items else "empty"
        else:
            return False
        return True
