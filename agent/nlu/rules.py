"""Rule-based extraction over a catalog lexicon: slots that are grounded in the catalog.

``extract(text, lexicon, shown=...)`` returns a ``Parse``: the ``Request`` plus how sure the
rules are of the turn kind, so the hybrid knows what an LLM may still fill.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from agent.nlu.audience import audience
from agent.nlu.durations import durations
from agent.nlu.lexicon import (
    COMMON,
    TITLE_CUES,
    Lexicon,
    Span,
    fuzzy_title,
    normalize,
    wordset,
)
from agent.nlu.numbers import ITEM_NOUNS, NUMBERS, ORDINALS, refs, years
from agent.nlu.request import Request

NEG = wordset("no not nothing without none never avoid except skip exclude minus hate hates "
                "nor dont don't isn't aren't")
# Words that may sit between a negation and what it negates ("no more horror or gore").
NEG_FILLER = wordset("a an any the too or and nor more much very overly of kind kinds sort "
                       "stuff really into with like want fan anything please i im i'm am do "
                       "does really any")  # and the catalog's words for its items ("movies")
SOFT = wordset("less more bit somewhat slightly fewer")
# Comparatives that are soft wishes on their own ("but funnier", "something newer").
COMPARATIVES = wordset("funnier scarier darker lighter newer older shorter longer happier "
                       "sadder weirder calmer smarter simpler gentler sillier")
LIKE = wordset("loved love liked enjoyed great awesome amazing fantastic perfect hilarious "
                 "brilliant excellent good nice favorite favourite masterpiece")
DISLIKE = wordset("hated hate disliked boring terrible awful bad meh worst horrible "
                    "sucked dull overrated")
SEEN_RE = re.compile(r"\b(seen|watched|saw)\b")
CHAT_RE = re.compile(r"^(hi|hello|hey|yo|thanks|thank you|thx|bye|goodbye|good morning|good "
                     r"night|how are you|who are you|what can you do|lol|haha|ok|okay|cool|"
                     r"nice|great|you're|your|i'm bored|what's up|sup|hope you|i hope you|"
                     r"have a (good|great|nice))\b")
WHY_RE = re.compile(r"\b(why|how come|what makes|explain|reason|because of what)\b")
FACT_RE = re.compile(r"\b(who (directed|stars|starred|is in|was in|plays|made|wrote)|"
                     r"when (was|did|is)|what year|how long|cast of|director of|"
                     r"who's in|what is .* about|what's .* about|tell me (more )?about|is .* rated|"
                     r"how old|runtime|is it (any )?(good|worth|scary|funny|sad|long|ok|okay)|"
                     r"is that (one )?(good|worth|scary|funny))\b")
# ITEMS: the catalog's words for its items ("movie|movies|film", "artist|band"): see _cues
REC_RE = (r"\b(recommend|suggest|suggestion|show me|give me|find me|looking for|"
          r"want to watch|wanna watch|in the mood|something|anything|any good|"
          r"ITEMS|watch|what should|ideas|similar|like)\b")
REFINE_RE = re.compile(r"^(no|nah|hmm|actually|but|and|what about|how about|ok but|okay but|"
                       r"instead|only|just|make it|now)\b|\b(instead|rather|something else|"
                       r"other than|different|fewer|any others|more like|another one|"
                       r"others|those|these|them|ones)\b")


_SWAP_N = re.compile(r"^(swap|replace|change|drop|remove|skip|ditch|lose|not)\s+"
                    r"(?:number\s+|no\s+|the\s+)?(\d+|one|two|three|four|five|six|seven|eight|"
                    r"nine|ten)(?:\s+(?:one|please))?$")


@dataclass
class Parse:
    """The rules' request, the tokens they used, and whether the kind is a confident call."""

    request: Request
    kind_sure: bool = True
    used: set[int] = field(default_factory=set)
    words: list[str] = field(default_factory=list)


@dataclass
class _Tok:
    low: str
    raw: str
    sentence_start: bool
    quoted: bool
    title_year: bool = False  # a year in parentheses right after a name


def _tokenize(text: str) -> list[_Tok]:
    """Tokens with their original case, sentence starts and whether they sit inside quotes."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("’", "'")
    text = text.replace("&", " and ")
    out: list[_Tok] = []
    quoted = False
    start = True
    for m in re.finditer(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[\"“”.!?;,#]|\((?:19|20)\d\d\)", text):
        s = m.group(0)
        if s.startswith("("):  # "Title (2018)": the year of a name, flagged as such
            out.append(_Tok(s[1:-1], s[1:-1], False, quoted, title_year=True))
            start = False
            continue
        if s in "\"“”":
            quoted = not quoted
            continue
        if s in ".!?;":
            start = True
            continue
        if s in ",#":
            # Keep '#' and ',' as tokens: they matter for refs and clause ends.
            out.append(_Tok(s, s, False, quoted))
            continue
        out.append(_Tok(s.lower(), s, start, quoted))
        start = False
    return out


def extract(text: str, lex: Lexicon, *, shown: int | list[str] | None = None) -> Parse:
    """Extract grounded slots from ``text``; ``shown``: the items (or their count) on screen."""
    toks = _tokenize(text)
    words = [t.low for t in toks]
    req = Request()
    used: set[int] = set()
    n_shown = len(shown) if isinstance(shown, list) else shown
    title_at = _titles(toks, lex, req, used)
    _unlike(words, req, title_at)
    _named_years(toks, used)
    norm = normalize(text)
    for phrase in durations(norm, lex, req):
        _use_phrase(words, phrase, used)
    audience(norm, lex, req)
    if lex.has_years:  # a music catalog without years: "80s" is a tag, not a filter
        years(words, req, used)
    refs(words, req, used, n_shown, ITEM_NOUNS | lex.filler)
    soft = _soft(words, used) + _too(words, used, lex)
    _attributes(words, lex, req, used)
    soft += _topics(words, used)
    _feedback(words, req, title_at, {i for i, t in enumerate(toks) if t.sentence_start
                                     and i > 0 and toks[i - 1].low not in ("#", ",")},
              ITEM_NOUNS | lex.filler)
    if soft:
        req.free_text = "; ".join(soft)
    cues = _cues(lex)
    kind, sure = _kind(normalize(text), words, req, cues)
    if m := _SWAP_N.match(normalize(text)):
        # "swap 3", "drop number 2": a list edit of one position
        n = int(m.group(2)) if m.group(2).isdigit() else NUMBERS.get(m.group(2), 0)
        if n:  # beyond the list is still this position: the reply says there is none
            req.refs, kind, sure = [n], "refine", True
    if kind == "recommend" and not req.titles and not req.year_min and not req.year_max \
            and not req.exclude and not req.ranges and not req.audience \
            and (CHAT_RE.search(normalize(text)) or cues.chat_turn.search(normalize(text))) \
            and not cues.rec.search(normalize(text)) \
            and all(f != lex.genre_field for f in req.include):
        # "Hope you're well": a greeting whose words happen to be tags
        req.include, kind, sure = {}, "chitchat", True
    if kind in ("recommend", "refine") and not req.free_text and not req.feedback and (
            req.include or req.exclude or req.audience or req.ranges):
        # words of the wish no rule read ("a cozy animated movie for the holidays"): the
        # search reads them; without this, "cozy" and "holidays" would be lost
        rest = _leftover(words, used, lex)
        if rest:
            # the search reads the whole wish ("dark space horror strong heroine"), not the
            # one word no rule took: meaning lives in the combination
            req.free_text = " ".join(
                w for w in words if w.isalpha() and w not in COMMON and w not in REQUEST_WORDS
                and w not in lex.filler and w not in NEG) or rest
    req.kind = kind
    return Parse(req, sure, used, words)


# Words of the request itself, not of its content: leaving them unexplained is fine (the
# hybrid asks the LLM only about other words); so are the catalog's words for its items.
TASK_WORDS = wordset("""hours hour minutes minute long short recommend recommends recommendation
recommendations recomend suggest suggestion suggestions similar looking watch watching tonight
early late mid between released made only instead rather prefer else maybe actually ones
something anything please mood feel ideally kinda sure want would could should""")
# ... and, for handing unread words to the search, chat words that carry no wish either
REQUEST_WORDS = TASK_WORDS | wordset("""really think thinking another kind type sort stuff
things thing great good cool nice awesome interesting favorite favourite enjoy enjoyed love
loved liked seen watched heard help perhaps some other recently lately today weekend evening
chance wonder interested finding""")


def _leftover(words: list[str], used: set[int], lex: Lexicon) -> str | None:
    """Unread words that the catalog's keywords know (the side data's single-word keywords,
    "holiday", "dragon", which are no phrases of their own), as one search phrase."""
    left = [w for i, w in enumerate(words) if i not in used and w.isalpha() and len(w) > 3
            and w not in COMMON and w not in REQUEST_WORDS and w not in lex.filler
            and w not in NEG and w not in SOFT and w not in LIKE and w not in DISLIKE
            and (w in lex.topic_words or w.rstrip("s") in lex.topic_words)]
    return " ".join(left[:6]) or None


# --------------------------------------------------------------------------- titles


def _titles(toks: list[_Tok], lex: Lexicon, req: Request, used: set[int]) -> dict[int, str]:
    """Titles named in the text; returns token position -> catalog title."""
    title_at: dict[int, str] = {}
    words = [t.low for t in toks]
    n = len(words)
    for size in range(min(lex.max_title_len, n), 0, -1):
        for s in range(0, n - size + 1):
            if any(i in used for i in range(s, s + size)):
                continue
            form = " ".join(words[s:s + size])
            if form not in lex.title_items:
                continue
            year = _year_after(words, s + size)
            item = lex.best_item(form, year)
            if item is None:
                continue
            if year is not None and abs(lex.years[item] - year) > 1:
                # "Jumanji (2017)" names "Jumanji: Welcome to the Jungle"; "Infinity War
                # (2018)" is not "War, The (1994)": a contradicting year is a mismatch
                sub = _subtitled(lex, form, year)
                if sub is not None:
                    item = sub
                elif _runs_on(toks, s, size) or (size == 1 and abs(lex.years[item] - year) > 5):
                    continue
                year = None  # a wrong year on a long title: the known film, no filter
            if not _title_evidence(toks, s, size, form, lex, year is not None):
                continue
            _add_title(req, lex.titles[item])
            title_at[s] = lex.titles[item]
            used.update(range(s, s + size))
            after = _year_after(words, s + size)
            if after is not None:
                # A year right after a title says which film; it is never a year constraint.
                used.update(range(s + size, s + size + (1 if words[s + size] == str(after)
                                                         else 2)))
    _fuzzy_titles(toks, lex, req, used, title_at)
    return title_at


_UNLIKE_CUES = (("unlike",), ("nothing", "like"), ("not", "like"), ("nothing", "similar", "to"),
                ("anything", "but"), ("nothing", "as"), ("opposite", "of"), ("except",))


def _unlike(words: list[str], req: Request, title_at: dict[int, str]) -> None:
    """Titles right after "nothing like" / "unlike" / "not like": to push away, not seed."""
    for s, title in title_at.items():
        if any(tuple(words[max(0, s - len(c)):s]) == c for c in _UNLIKE_CUES):
            if title in req.titles:
                req.titles.remove(title)
            if title not in req.unlike:
                req.unlike.append(title)


def _named_years(toks: list[_Tok], used: set[int]) -> None:
    """"Avengers: Infinity War (2018)" not in the catalog: its year is no filter and its
    words ("War") are no genre; the name is left to ``unknown_titles``."""
    for y, t in enumerate(toks):
        if not t.title_year or y in used:
            continue
        used.add(y)
        j = y - 1
        while j >= 0 and j not in used and (toks[j].raw[:1].isupper() or toks[j].raw.isdigit()
                                            or toks[j].low in _CONNECTORS):
            used.add(j)
            if toks[j].sentence_start:
                break
            j -= 1


def _subtitled(lex: Lexicon, form: str, year: int) -> int | None:
    """The item titled "<form>: <subtitle>" of ``year`` (within a year), if there is one."""
    dated = [i for i in lex.subtitled(form) if abs(lex.years[i] - year) <= 1]
    return dated[0] if len(dated) == 1 else None


def _year_after(words: list[str], i: int) -> int | None:
    if i + 1 < len(words) and words[i] in ("from", "in") and \
            re.fullmatch(r"(19|20)\d\d", words[i + 1]):
        return int(words[i + 1])
    if i < len(words) and re.fullmatch(r"(19|20)\d\d", words[i]):
        return int(words[i])
    return None


def _no_year(title: str) -> str:
    return re.sub(r"\s*\(\d{4}\)\s*$", "", title)


def _title_evidence(toks: list[_Tok], s: int, size: int, form: str, lex: Lexicon,
                    dated: bool) -> bool:
    """Is this span really a title? Common words need quotes, capitals or a year."""
    span = toks[s:s + size]
    quoted = all(t.quoted for t in span)
    if quoted or dated:
        return True
    parts = form.split()
    if size == 1 and s > 0 and toks[s - 1].low in ("the", "a", "an") and not any(
            lex.titles[i].lower().endswith(f", {toks[s - 1].low}") or
            _no_year(lex.titles[i]).lower().endswith(f", {toks[s - 1].low}")
            for i in lex.title_items.get(form, [])):
        return False  # "the Oscar for Best Film": a noun; "The Rock" keeps its article
    common = all(p in COMMON for p in parts)
    capitalised = all(t.raw[0].isupper() or not t.raw[0].isalpha() or t.low in COMMON
                      for t in span) and span[0].raw[0].isupper()
    cue = s > 0 and toks[s - 1].low in TITLE_CUES
    is_attr = form in lex.attr_phrases
    if capitalised and _runs_on(toks, s, size):
        # "Top Gun Maverick", "Dune Part Two": part of a longer name the catalog lacks.
        return False
    if size >= 2 and not common and not is_attr:
        has_attr = any(p in lex.attr_phrases for p in parts)
        # Three or more words in a row rarely match a title by chance.
        mostly_common = sum(p in COMMON for p in parts) * 2 >= len(parts) and size < 3
        # "a superhero movie", "the family", "date night": lowercase ordinary phrases.
        return not (has_attr or mostly_common) or capitalised or cue
    if common:
        # "Up", "Her", "It": capitalised mid-sentence right after a cue ("loved Her").
        return capitalised and not span[0].sentence_start and cue and len(form) > 1
    if is_attr:
        return capitalised and cue and not span[0].sentence_start
    return (capitalised and not span[0].sentence_start) or cue


_NOUNS = ITEM_NOUNS | wordset("shows ones")  # and the catalog's words for its items
_CONNECTORS = wordset("of the a an and in on to for at")


def _runs_on(toks: list[_Tok], s: int, size: int) -> bool:
    """Do capitalised words continue right after (or before) this capitalised span?"""
    def cap(i: int) -> bool:
        t = toks[i]
        return t.raw[:1].isupper() and t.low not in COMMON and t.raw != "I" and not t.quoted

    after = s + size < len(toks) and cap(s + size)
    # "Life of the Party", "Guardians of the Galaxy": connectors inside a longer name
    j = s - 1
    while j > 0 and toks[j].low in _CONNECTORS and not toks[j].sentence_start:
        j -= 1
    before = j >= 0 and j < s and not toks[s].sentence_start and cap(j) and \
        not toks[j].sentence_start
    k = s + size
    while k < len(toks) - 1 and toks[k].low in _CONNECTORS:
        k += 1
    after = after or (k > s + size and cap(k))
    return after or before


def _fuzzy_titles(toks: list[_Tok], lex: Lexicon, req: Request, used: set[int],
                  title_at: dict[int, str]) -> None:
    """Misspelled multi-word titles, tried only where a title is likely (after a cue, quoted)."""
    words = [t.low for t in toks]
    n = len(words)
    starts = [i + 1 for i, t in enumerate(toks[:-1]) if t.low in TITLE_CUES]
    starts += [i + 1 for i in starts if i < len(toks) and toks[i].low == "to"]  # similar to X
    starts += [i for i, t in enumerate(toks) if t.quoted and (i == 0 or not toks[i - 1].quoted)]
    for s in sorted(set(starts)):
        best: tuple[int, float, int] | None = None
        for size in range(2, 7):
            if s + size > n or any(i in used or words[i] in ",#" for i in range(s, s + size)):
                break
            form = " ".join(words[s:s + size])
            if all(w in COMMON for w in form.split()) or any(c.isdigit() for c in form):
                continue
            if all(w in COMMON or w in lex.attr_phrases or w in _NOUNS or w in lex.filler
                   for w in form.split()) and not toks[s].raw[:1].isupper():
                continue  # "scary movies" is a wish, not a misspelt "Scary Movie"
            hit = fuzzy_title(lex, form)
            if hit and (best is None or hit[1] >= best[1]):
                best = (hit[0], hit[1], size)
        if best:
            _add_title(req, lex.titles[best[0]])
            title_at[s] = lex.titles[best[0]]
            used.update(range(s, s + best[2]))


def _add_title(req: Request, title: str) -> None:
    if title not in req.titles:
        req.titles.append(title)


# --------------------------------------------------------------------------- attributes


def _soft(words: list[str], used: set[int]) -> list[str]:
    """Comparative, soft wishes ('less scary', 'a bit more action') kept as free text."""
    out: list[str] = []
    for i, w in enumerate(words):
        if i in used or w not in SOFT:
            continue
        j = i + 1
        while j < len(words) and words[j] in ("more", "less", "of", "a", "bit"):
            j += 1
        if j < len(words) and words[j] not in COMMON and words[j] not in ",#":
            if w == "bit" and (i == 0 or words[i - 1] != "a"):
                continue
            start = i - 1 if w == "bit" else i
            # "not too scary" reads as the same soft wish.
            if start > 0 and words[start - 1] in ("not",) and words[start] == "too":
                start -= 1
            out.append(" ".join(words[start:j + 1]))
            used.update(range(start, j + 1))
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in COMPARATIVES and i not in used and nxt != "than":
            out.append(w)
            used.add(i)
        if w == "too" and i + 2 < len(words) and words[i + 1] in ("much", "many") \
                and i + 2 not in used and words[i + 2] not in COMMON:
            out.append(" ".join(words[i:i + 3]))
            used.update(range(i, i + 3))
    for i, w in enumerate(words):
        if w == "too" and i > 0 and words[i - 1] in ("not", "so") and i + 1 < len(words) \
                and i + 1 not in used and words[i + 1] not in COMMON:
            out.append(" ".join(words[i - 1:i + 2]))
            used.update(range(i - 1, i + 2))
    return out


# a reason for turning an item down: "too long" asks for shorter ones, "too old" for newer
_TOO_RELATIVE = {"long": "shorter", "lengthy": "shorter", "short": "longer", "old": "newer",
                 "dated": "newer", "recent": "older", "new": "older", "modern": "older"}


def _too(words: list[str], used: set[int], lex: Lexicon) -> list[str]:
    """ "number 2 is too violent", "not that one, too long": a reason, read as the opposite
    wish ("less violent", "shorter"), never as asking for it. "not too scary", "so too",
    "me too" and "too much X" (``_soft``) are other things."""
    out = []
    for i, w in enumerate(words):
        if w != "too" or i in used or i + 1 >= len(words) or i + 1 in used:
            continue
        prev = words[i - 1] if i else ""
        nxt = words[i + 1]
        # "nothing too cheesy", "isn't too sad": a negation, not a reason
        if prev in ("not", "nothing", "isn't", "isnt", "aren't", "wasn't", "never", "so", "me",
                    "you"):
            continue
        if nxt in ("much", "many", "bad", "late", "early", "well"):
            continue
        if nxt in _TOO_RELATIVE:
            out.append(_TOO_RELATIVE[nxt])
            used.update((i, i + 1))
            continue
        two = " ".join(words[i + 1:i + 3])
        if len(words) > i + 2 and two in lex.attr_phrases:
            out.append(f"less {two}")
            used.update((i, i + 1, i + 2))
        elif nxt in lex.attr_phrases or (nxt not in COMMON and nxt.isalpha()):
            out.append(f"less {nxt}")
            used.update((i, i + 1))
    return out


_TOPIC_CUES = ("about", "involving", "set in", "on the subject of", "dealing with")
_NOT_TOPIC_BEFORE = wordset("what what's whats how talk talking think know heard tell care "
                            "sure worry forget it that this")


def _topics(words: list[str], used: set[int]) -> list[str]:
    """What a wish is about when no catalog value said it ("documentaries about music",
    "a film set in Paris"): a search query, not a filter."""
    out = []
    for i in range(len(words)):
        cue = next((c for c in _TOPIC_CUES if words[i:i + len(c.split())] == c.split()), None)
        # "About the fault in Cali!": a sentence opening on "about" is no wish's topic
        if cue is None or i in used or i == 0 or words[i - 1] in _NOT_TOPIC_BEFORE:
            continue
        j = i + len(cue.split())
        span = []
        while j < len(words) and j not in used and words[j] not in ",#" \
                and words[j] not in NEG and words[j] != "but" and len(span) < 5:
            span.append(j)
            j += 1
        while span and words[span[-1]] in COMMON:
            span.pop()
        while span and words[span[0]] in COMMON:
            span.pop(0)
        if span and any(words[k] not in COMMON for k in span):
            out.append(" ".join(words[k] for k in span))
            used.update(range(i, span[-1] + 1))
    return out


def _attributes(words: list[str], lex: Lexicon, req: Request, used: set[int]) -> None:
    n = len(words)
    spans: list[Span] = []
    for size in range(min(lex.max_attr_len, n), 0, -1):
        for s in range(0, n - size + 1):
            if any(i in used for i in range(s, s + size)):
                continue
            hit = lex.attr_phrases.get(" ".join(words[s:s + size]))
            if hit:
                spans.append(Span(s, s + size, "attr", hit[0], hit[1]))
                used.update(range(s, s + size))
    spans += _fuzzy_attributes(words, lex, used)
    spans += _fuzzy_people(words, lex, used)
    for sp in sorted(spans, key=lambda x: x.start):
        slot = "exclude" if _negated(words, sp.start, spans, lex.filler) else "include"
        req.add(slot, sp.field, sp.value)


def _fuzzy_attributes(words: list[str], lex: Lexicon, used: set[int]) -> list[Span]:
    """Typos of small-vocabulary values ('documentry', 'thriler'); tags are never fuzzed."""
    from rapidfuzz import fuzz, process

    if lex.genre_field is None:
        return []
    keys = lex.__dict__.get("_fuzzy_genre_keys")
    if keys is None:  # built once per lexicon: ~1 ms a message otherwise
        keys = [p for p, (f, _) in lex.attr_phrases.items()
                if f == lex.genre_field and len(p) >= 5]
        lex.__dict__["_fuzzy_genre_keys"] = keys
    out = []
    for i, w in enumerate(words):
        if i in used or len(w) < 5 or w in COMMON or w in lex.title_items:
            continue
        hit = process.extractOne(w, keys, scorer=fuzz.ratio, score_cutoff=85)
        if hit:
            f, v = lex.attr_phrases[hit[0]]
            out.append(Span(i, i + 1, "attr", f, v, float(hit[1])))
            used.add(i)
    return out


_PEOPLE_CUES = wordset("with starring stars featuring by actor actress director directed")


def _fuzzy_people(words: list[str], lex: Lexicon, used: set[int]) -> list[Span]:
    """Misspelt names after a cue ("with jim carey" -> Jim Carrey): two or three words,
    closer than 88/100 to one name of a people field (cast, director)."""
    from rapidfuzz import fuzz, process

    if not lex.people:
        return []
    names = lex.__dict__.get("_people_keys")
    if names is None:
        names = lex.__dict__["_people_keys"] = list(lex.people)
    out = []
    for i, w in enumerate(words[:-1]):
        if w not in _PEOPLE_CUES:
            continue
        for size in (3, 2):
            span = range(i + 1, i + 1 + size)
            if span.stop > len(words) or any(j in used for j in span):
                continue
            form = " ".join(words[j] for j in span)
            if any(c in form for c in ",#") or all(x in COMMON for x in form.split()):
                continue
            hit = process.extractOne(form, names, scorer=fuzz.ratio, score_cutoff=88)
            if hit and len(hit[0].split()) == size:
                f, v = lex.people[hit[0]]
                out.append(Span(span.start, span.stop, "attr", f, v, float(hit[1])))
                used.update(span)
                break
    return out


def _use_phrase(words: list[str], phrase: str, used: set[int]) -> None:
    """Mark the tokens of ``phrase`` (normalised words) as read."""
    target = phrase.split()
    k = len(target)
    for s in range(len(words) - k + 1):
        if words[s:s + k] == target:
            used.update(range(s, s + k))
            return


def _negated(words: list[str], start: int, spans: list[Span],
             filler: frozenset[str] = frozenset()) -> bool:
    """Is the value at ``start`` under a negation earlier in its clause? ``filler``: the
    catalog's words for its items, which may sit between ("no movies with gore")."""
    covered = {i for sp in spans for i in range(sp.start, sp.end)}
    i = start - 1
    while i >= 0 and start - i <= 6:
        w = words[i]
        if i + 1 < start and words[i + 1] in ("or", "nor") and w not in NEG:
            # "no dragons or magic": an unknown item in the same negated list.
            i -= 1
            continue
        if w in NEG or (w == "but" and i > 0 and words[i - 1] in ("anything", "everything")):
            return True
        if w in ("like", "want") and i > 0 and words[i - 1] in ("dont", "don't", "not", "t"):
            return True
        if w in NEG_FILLER or w in filler or i in covered or w == ",":
            if w == "," and not (i > 0 and (i - 1) in covered):
                return False
            i -= 1
            continue
        return False
    return False


# --------------------------------------------------------------------------- feedback and kind


def _feedback(words: list[str], req: Request, title_at: dict[int, str],
              starts: set[int] | frozenset[int] = frozenset(),
              nouns: frozenset[str] = ITEM_NOUNS) -> None:
    """Sentiment about shown items (by position) or named titles, clause by clause
    (a clause ends at a comma, "but", or a sentence end)."""
    clauses: list[list[str]] = [[]]
    clause_titles: list[list[str]] = [[]]
    for i, w in enumerate(words):
        if w in (",", "but", "while", "whereas") or (i in starts and i > 0):
            if w not in (",", "but", "while", "whereas"):
                clauses.append([w])
                clause_titles.append([title_at[i]] if i in title_at else [])
                continue
            clauses.append([])
            clause_titles.append([])
        else:
            clauses[-1].append(w)
            if i in title_at:
                clause_titles[-1].append(title_at[i])
    refs = iter(req.refs)
    ref_by_clause: list[list[int]] = []
    for c in clauses:
        k = sum(1 for j, w in enumerate(c) if _is_ref_word(c, j, nouns))
        ref_by_clause.append([r for _, r in zip(range(k), refs, strict=False)])
    for c, crefs, ctitles in zip(clauses, ref_by_clause, clause_titles, strict=True):
        label = _sentiment(c, bool(crefs or ctitles))
        if label is None:
            continue
        for r in crefs:
            req.feedback.setdefault(str(r), label)
        for t in ctitles if not crefs else ():
            req.feedback.setdefault(t, label)
        pointed = any(w in ("it", "this", "that") for w in c) or _STANDALONE.search(" ".join(c))
        if not crefs and not ctitles and pointed and not req.titles:
            req.feedback.setdefault("0", label)


def _is_ref_word(c: list[str], j: int, nouns: frozenset[str] = ITEM_NOUNS) -> bool:
    w = c[j]
    nxt = c[j + 1] if j + 1 < len(c) else ""
    prev = c[j - 1] if j > 0 else ""
    if w in ("#", "number", "option", "num") and (nxt.isdigit() or nxt in NUMBERS):
        return True
    if w in ORDINALS and (nxt in nouns or prev == "the" or nxt == ""):
        return w != "top" or nxt in nouns
    return w == "last" and (nxt in nouns or (prev == "the" and nxt == ""))


NOT_SEEN = re.compile(r"\b(haven't|havent|have not|never|not|didn't|didnt|did not|hasn't|"
                       r"not yet|yet to)\b(\s+\w+){0,2}?\s+(seen|watched|saw|see|watch)\b")
# Reactions that need no pronoun to be about what is on screen.
_STANDALONE = re.compile(r"^(meh|nah|not for me|no thanks|not this one|pass)\b")


def _sentiment(c: list[str], about_item: bool = False) -> str | None:
    text = " ".join(c)
    if SEEN_RE.search(text) and NOT_SEEN.search(text):
        return None  # "haven't seen that one": still recommendable, not a verdict
    if SEEN_RE.search(text) and _positive(c) and re.search(
            r"\b(loved|liked|enjoyed|great|awesome|amazing|hilarious|favorite|favourite)\b",
            text) and not re.search(r"\b(not|didn't|didnt|don't|dont|wasn't|wasnt)\b", text):
        return "like"  # "I have seen it and loved it": the verdict wins over "seen"
    if SEEN_RE.search(text) and re.search(r"\b(already|seen it|seen that|seen this|"
                                          r"watched (it|that|this)|saw (it|that|this)|"
                                          r"have seen|i've seen|ive seen)\b", text):
        return "seen"
    negated = re.search(r"\b(not|didn't|didnt|don't|dont|wasn't|wasnt|no)\b", text)
    if re.search(r"\bnot (this|that) one\b|\bno thanks\b|\bnot for me\b|\bpass\b", text):
        return "dislike"
    if c and c[0] == "meh":
        return "dislike"
    if any(w in DISLIKE for w in c):
        return "dislike" if not negated else "like"
    if _positive(c) and (about_item or re.search(
            r"\b(it|was|is|this|that|that's|thats|it's|its|loved|liked|enjoyed|great|awesome|"
            r"amazing)\b", text)):
        return "dislike" if negated else "like"
    return None


SUBJECT = wordset("i we really didn't didnt don't dont not do did kinda totally also even "
                  "still just too")
COPULA = wordset("was is looks looked sounds seems seemed pretty so really very")


def _positive(c: list[str]) -> bool:
    """A liking word used as sentiment ("I like it"), not as comparison ("movies like X")."""
    for j, w in enumerate(c):
        prev = c[j - 1] if j > 0 else ""
        if w == "like":
            if prev in SUBJECT:
                return True
        elif w in ("good", "nice"):
            if prev in COPULA:
                return True
        elif w in LIKE:
            return True
    return False


# Said to the other side of a conversation, not a request: thanks, plans, questions back.
_CHAT_TURN = (r"\b(thank|thanks|thx|check (it|that|them|those|these|this) out|"
              r"i will (watch|check|see|look)|i'll (have to )?(watch|check|see|look)|"
              r"will (definitely )?(do that|watch|check)|what kind of ITEMS "
              r"do you|do you like|what about you|and you\b|have a (good|great|nice))")
_OPEN = (r"^(whatever|anything|everything|any|anything really|i'?m open( to)?"
         r"( anything| any( ITEMS| option)?)?|surprise me)\b")
_ASKS = (r"\b(recommend|suggest|suggestions?|looking for|something|anything|any "
         r"(good )?(ITEMS|ideas)|what should|can you|could you|give me|"
         r"show me|ITEMS like|similar|what else|anything else|what "
         r"other|others like|more like)\b")
_MORE_LIKE = (r"\b(more like|something|another|recommend|similar|"
              r"show me|give me|instead|what else|ITEMS like|"
              r"ones like|things like|stuff like)\b")
_MORE_Q = re.compile(r"\b(what else|anything else|any others?|any more|think of more|"
                     r"something else|more like (that|this|those|these|them))\b")
_LIKE_STATEMENT = re.compile(r"^(i|we)( \w+)? (like|love|loved|liked|enjoyed|adore)\b")
_HEARD = re.compile(r"\b(heard|hear) (it|that|this|that one|it's|its|is)\b|^no,? i have(n't| not)\b"
                    r"|^(no,? )?i (haven't|havent|have not|never)\b")


@dataclass(frozen=True)
class _Cues:
    """The cue patterns, with the catalog's words for its items where they name them
    ("movies like X" on MovieLens is "artists like X" on Last.fm)."""

    rec: re.Pattern[str]
    chat_turn: re.Pattern[str]
    open: re.Pattern[str]
    asks: re.Pattern[str]
    more_like: re.Pattern[str]


def _cues(lex: Lexicon) -> _Cues:
    cues = lex.__dict__.get("_cues")
    if cues is None:  # built once per lexicon
        items = lex.items_pattern()
        cues = lex.__dict__["_cues"] = _Cues(*(
            re.compile(p.replace("ITEMS", items))
            for p in (REC_RE, _CHAT_TURN, _OPEN, _ASKS, _MORE_LIKE)))
    return cues


def _kind(norm: str, words: list[str], req: Request, cues: _Cues) -> tuple[str, bool]:
    """Turn kind by cue words; the bool says whether the rules are confident."""
    has_slots = bool(req.include or req.exclude or req.year_min or req.year_max or req.titles
                     or req.ranges or req.audience)
    asks = cues.asks.search(norm)
    if _MORE_Q.search(norm) and not (has_slots or req.refs or req.feedback):
        return "refine", True  # "can you think of more?": more of the same
    if not asks and not req.include and not req.exclude and not req.year_min \
            and not req.year_max and not req.ranges and not req.audience:
        if cues.chat_turn.search(norm) and not req.titles:
            return "chitchat", True
        if _MORE_Q.search(norm) and not req.titles:
            return "refine", True
        if cues.open.match(norm) and len(words) <= 6:
            return "recommend", True  # "whatever", "I'm open to anything": no wish yet
        if _HEARD.search(norm) or NOT_SEEN.search(norm):
            return "feedback", True  # "I haven't seen it but heard it is good"
        if _LIKE_STATEMENT.match(norm):
            return "feedback", True  # "I also like Up (2009)": taste, not a request
    if WHY_RE.search(norm):
        return "why", True
    # "When I was younger I loved X" is a memory, not "when was X made?"
    clause = re.match(r"when (i|we|my|our|you|me|he|she|they)\b", norm) is not None
    if FACT_RE.search(norm) or (norm.startswith(("who ", "when ", "what year", "is ", "was ",
                                                 "what genre", "which genre", "what kind",
                                                 "what tags", "how is", "what about"))
                                and (req.titles or req.refs) and not clause):
        return "fact", True
    rec_cue = bool(cues.rec.search(norm)) or "more" in words
    if req.feedback and not cues.more_like.search(norm):
        return "feedback", True
    # "no, ..." rejects the last list; "no musicals" is a fresh constraint.
    rejects = len(words) > 1 and words[0] in ("no", "nah") and words[1] == ","
    refine_cue = bool(REFINE_RE.search(norm)) and not (words[:1] == ["no"] and not rejects)
    if req.refs or refine_cue or rejects or (req.free_text and not has_slots):
        return "refine", has_slots or bool(req.refs) or bool(req.free_text)
    if has_slots or rec_cue:
        return "recommend", has_slots or bool(cues.rec.search(norm))
    if CHAT_RE.search(norm) or not norm:
        return "chitchat", True
    return "chitchat", False
