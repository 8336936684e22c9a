"""A catalog lexicon: attribute values with aliases, and titles, for grounded matching.

Built once per catalog (``Lexicon.build(catalog)``, cached by fingerprint with ``lexicon_for``).
Matching works on normalised word tokens; every match is a ``Span`` over token positions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from recsys.catalog import Catalog


def wordset(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words`` as a set (readable word lists)."""
    return frozenset(words.split())


# Tags that are ordinary words of chat ("good", "love") would fire on nearly every message.
# The catalog's own words join them: its words for its items ("movie", ``[words] item``,
# ``items``, ``filler``) and its talk about them ("plot", ``[words] stop``).
STOP_TAGS = wordset("""
good bad love great best worst boring original long short fun entertaining interesting
overrated underrated seen beautiful cool awesome excellent amazing nice stupid pretty
masterpiece favorite favourite recommend different same recommended again better
""")
# Common words: a title made only of these needs quotes, capitals or a year to count.
COMMON = wordset("""
a an the and or but of in on at to for from by with without about like as is it its it's
i me my we you your he she her him his they them their this that these those what which
who whom whose when where why how all any some no not none nothing one two three first last
up down out off over under again more most less least very so too just only also even still
be been being am are was were do does did done have has had get got go going gone come came
make made take taken see seen saw say said know think want need give show tell find let
good bad big little old new young great best better day night time year years life love
man men woman women boy girl people home world way back here there now then always never
something anything everything nobody somebody everyone maybe yes yeah ok okay please thanks
thank hi hello hey movie movies film films another other same such own right left well much
many few long short high low heat speed signs taken seven alone home fun friends again
before after during while until since because if than then once free fast fury rush
""")
TITLE_CUES = wordset("""like than as watched seen saw loved liked hated enjoyed about similar
watching rewatch rewatched finished adore adored directed starring is in
suggested recommended picked chose
""")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<body>.+?), (?P<art>the|a|an|les|la|le|el|il|die|das|der|los|las|l')$", re.I)
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalize(text: str) -> str:
    """Lowercase, strip accents, '&' -> 'and', punctuation -> spaces, single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ").replace("’", "'")
    return " ".join(_WORD.findall(text))


def tokens(text: str) -> list[str]:
    """Normalised word tokens of ``text``."""
    return normalize(text).split()


def _variants(phrase: str) -> set[str]:
    """A phrase and its naive singular/plural forms (on the last word): English, any domain
    ("thriller" -> "thrillers"; a single word also "comedy" -> "comedies", as a longer
    phrase so made up would outbid the words it holds: "best comedies" is no tag "best
    comedy" but a wish for Comedy). Synonyms come from the spec."""
    base = normalize(phrase)
    out = {base}
    if not base:
        return out
    if base.endswith("ies") and len(base) > 4:
        out.add(base[:-3] + "y")
    elif base.endswith("s") and not base.endswith("ss") and len(base) > 3:
        out.add(base[:-1])
    elif base[-1].isalpha():
        out.add(base + ("es" if base.endswith(("x", "ch", "sh")) else "s"))
        if len(base) > 3 and base[-1] == "y" and base[-2] not in "aeiou" and " " not in base:
            out.add(base[:-1] + "ies")
    return out


def title_forms(title: str) -> tuple[list[str], int | None]:
    """Normalised ways to say a catalog title (with and without article), and its year."""
    m = _YEAR_SUFFIX.search(title)
    year = int(m.group(1)) if m else None
    body = _YEAR_SUFFIX.sub("", title).strip()
    alts = [a for a in _PAREN.findall(body)]
    main = _PAREN.sub(" ", body).strip()
    forms: set[str] = set()
    names = [main] + [re.sub(r"^(a\.k\.a\.|aka)\s+", "", a, flags=re.I) for a in alts]
    # "Avengers: Infinity War - Part I" is what people call "Avengers: Infinity War"
    names += [n.split(" - ")[0] for n in names if " - " in n and len(n.split(" - ")[0].split()) > 1]
    for name in names:
        am = _TRAILING_ARTICLE.match(name.strip())
        if am:
            forms.add(normalize(f"{am.group('art')} {am.group('body')}"))
            forms.add(normalize(am.group("body")))
        else:
            forms.add(normalize(name))
            low = name.lower()
            for art in ("the ", "a ", "an "):
                if low.startswith(art) and len(low) > len(art) + 2:
                    forms.add(normalize(name[len(art):]))
    return [f for f in forms if f], year


@dataclass(frozen=True)
class Span:
    """A match over tokens ``[start, end)``: an attribute value or an item (title)."""

    start: int
    end: int
    kind: str  # "attr" or "title"
    field: str  # attribute field, or "" for titles
    value: str  # attribute value, or the catalog title
    score: float = 100.0


@dataclass
class Lexicon:
    """Phrases of one catalog: attribute phrases and title forms, normalised."""

    catalog_name: str
    fields: dict[str, list[str]]
    attr_phrases: dict[str, tuple[str, str]] = field(default_factory=dict)  # phrase -> (f, v)
    title_items: dict[str, list[int]] = field(default_factory=dict)  # form -> item indices
    titles: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    popularity: np.ndarray | None = None
    genre_field: str | None = None
    duration_field: str | None = None  # a number field in minutes (runtime), if any
    audiences: tuple[str, ...] = ()  # the catalog's audience rules ("child")
    people: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (field, value)
    has_years: bool = True  # decades and years mean something in this catalog
    # the catalog's words for its items ("movie", "film"): its item, items and filler words
    filler: frozenset[str] = frozenset()
    topic_words: frozenset[str] = frozenset()  # one-word keywords on >= 5 items (searchable)
    max_attr_len: int = 1
    max_title_len: int = 1

    @classmethod
    def build(cls, catalog: Catalog) -> Lexicon:
        """Index every attribute value (plus aliases) and every title form of ``catalog``."""
        fields = {name: list(a.values) for name, a in catalog.attributes.items()}
        lex = cls(catalog.name, fields, titles=list(catalog.titles),
                  years=[int(y) for y in catalog.years])
        # The genre-like field (named so, else the smallest) wins a phrase that is also a
        # tag; then categorical fields, keywords, people, each in the spec's order (its own
        # files before side data: MovieLens "tag" before the joined genome tags)
        declared = list(catalog.fields)
        rank = {"categorical": 0, "keywords": 1, "people": 2}
        order = sorted(fields, key=lambda f: (f.lower() not in ("genre", "genres"),
                                              len(fields[f]) > 64, rank.get(
                                                  catalog.info(f).kind, 3),
                                              declared.index(f) if f in declared else 99,
                                              len(fields[f])))
        lex.genre_field = order[0] if order and len(fields[order[0]]) <= 64 else None
        words = catalog.words
        filler = frozenset(normalize(w) for w in (words.item, words.items, *words.filler)) - {""}
        stop = STOP_TAGS | filler | {normalize(w) for w in words.stop}
        # a tag that is a person's name ("jim carrey") names the person: the people field
        # has every film of theirs, the tag the few someone tagged so
        # (the tag wins where it marks more films than the person is in: "stephen king" tags
        # the adaptations, while his cast credits are a few cameos)
        names: dict[str, int] = {}  # name -> most films in one people field
        people_field: dict[str, tuple[str, str]] = {}  # name -> the field with those films
        for f in catalog.fields_of_kind("people"):
            if f in catalog.attributes:
                a = catalog.attributes[f]
                films = np.diff(a.by_value.indptr)
                for j, v in enumerate(a.values):
                    key = normalize(v)
                    if films[j] >= 2 and " " in v and films[j] > names.get(key, 0):
                        names[key], people_field[key] = int(films[j]), (f, v)
        has_years = catalog.words.years and bool((catalog.years > 0).any())
        for fname in order:
            attr = catalog.attributes[fname]
            kind = catalog.info(fname).kind
            small = fname == lex.genre_field
            # Values used by more items first: "thought-provoking" and "thought provoking"
            # are both tags; the phrase should name the one people use most.
            weight = np.asarray((attr.matrix > 0).sum(axis=0)).ravel()
            ranked = sorted(range(len(attr.values)), key=lambda j: -weight[j])
            # side data is noisy: a keyword or a person on one or two items is not worth a
            # phrase ("fan", "country"), nor is "heist movie" beside "heist"
            least = {"keywords": 3, "people": 2}.get(kind, 1) if catalog.info(fname).side else 1
            side_kw = kind == "keywords" and catalog.info(fname).side
            aliases = {v.casefold(): a for v, a in catalog.aliases.get(fname, {}).items()}
            exact: dict[str, str] = {}
            for j in ranked:
                key = normalize(attr.values[j])
                if (least > 1 and weight[j] < least) or (
                        kind == "keywords" and (filler & set(key.split())
                                                or names.get(key, 0) >= weight[j])):
                    continue
                # joined keywords add phrases, not words: a single word ("fan", "date",
                # "star") is chat far more often than a wish, and the catalog's own tags
                # already hold the useful ones ("zombies"); nor may they swallow a genre
                # ("classic noir" is Film-Noir plus "classic")
                if side_kw and (" " not in key or any(
                        lex.attr_phrases.get(w, ("",))[0] == lex.genre_field
                        for w in key.split())):
                    continue
                if key and (small or _useful_tag(key, stop, decades=not has_years)):
                    exact.setdefault(key, attr.values[j])
            for key, value in exact.items():
                if kind == "people" and key in people_field:
                    # Tom Hanks directed two films and starred in dozens: "with tom hanks"
                    lex.attr_phrases.setdefault(key, people_field[key])
                lex.attr_phrases.setdefault(key, (fname, value))
            # Plurals and aliases second, so a value that exists ("vampires") beats a variant.
            for key, value in exact.items():
                phrases = _variants(key)
                for alias in aliases.get(value.casefold(), ()):
                    phrases |= _variants(alias) if " " not in alias else {normalize(alias)}
                for p in phrases:
                    lex.attr_phrases.setdefault(p, (fname, value))
        lex.duration_field = next((f for f in catalog.numbers if (catalog.info(f).unit or "")
                                   .lower() in ("minutes", "minute", "min")), None)
        lex.audiences = tuple(catalog.audience)
        # a person in several fields is read in the one with most of their films: Tom Hanks
        # directed two and starred in dozens ("movies with tom hanks" means the cast)
        films_in: dict[str, int] = {}
        for f in catalog.fields_of_kind("people"):
            a = catalog.attributes[f]
            counts = np.diff(a.by_value.indptr)
            for j, v in enumerate(a.values):
                key = normalize(v)
                if counts[j] >= 2 and " " in key and counts[j] > films_in.get(key, 0):
                    lex.people[key], films_in[key] = (f, v), int(counts[j])
        lex.has_years = has_years
        lex.filler = filler
        topics = set()
        for f in catalog.fields_of_kind("keywords"):
            a = catalog.attributes[f]
            counts = np.diff(a.by_value.indptr)
            topics |= {normalize(v) for j, v in enumerate(a.values)
                       if counts[j] >= 5 and " " not in normalize(v)}
        lex.topic_words = frozenset(t for t in topics if t and t not in stop)
        n = catalog.n_items
        counts = np.bincount(catalog.interactions.items, minlength=n) if n else np.zeros(0)
        lex.popularity = counts.astype(np.float64)
        forms: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(catalog.titles):
            for f in title_forms(t)[0]:
                forms[f].append(i)
        lex.title_items = dict(forms)
        lex.max_attr_len = max((len(p.split()) for p in lex.attr_phrases), default=1)
        lex.max_title_len = min(12, max((len(p.split()) for p in forms), default=1))
        return lex

    def items_pattern(self) -> str:
        """A regex of the catalog's words for its items ("movies|movie|films|film"), for cue
        patterns that name them ("movies like X"); one that never matches when none."""
        words = sorted(self.filler, key=lambda w: (-len(w), w))
        return "(?:" + "|".join(map(re.escape, words)) + ")" if words else "(?!)"

    def best_item(self, form: str, year: int | None = None) -> int | None:
        """The item a title form names: the one of ``year`` if given, else the most rated."""
        items = self.title_items.get(form)
        if not items:
            return None
        if year is not None:
            dated = [i for i in items if self.years[i] == year]
            if dated:
                items = dated
        pop = self.popularity
        return max(items, key=lambda i: (pop[i] if pop is not None else 0, -i))

    def subtitled(self, form: str) -> list[int]:
        """Items titled "<form>: <subtitle>" ("Jumanji: Welcome to the Jungle" for "jumanji")."""
        heads = self.__dict__.get("_heads")
        if heads is None:  # built on first use, once per lexicon
            heads = {}
            for i, t in enumerate(self.titles):
                if ":" in t:
                    heads.setdefault(normalize(t.split(":", 1)[0]), []).append(i)
            self.__dict__["_heads"] = heads
        return list(heads.get(form, []))

    def ground_value(self, fname: str, value: str) -> str | None:
        """Map a free string to a catalog value of ``fname`` (exact, alias, or None)."""
        if fname not in self.fields:
            return None
        if value in self.fields[fname]:
            return value
        hit = self.attr_phrases.get(normalize(value))
        if hit and hit[0] == fname:
            return hit[1]
        low = {v.lower(): v for v in self.fields[fname]}
        return low.get(value.lower())

    def ground_title(self, text: str) -> str | None:
        """Map a free title string to a catalog title (exact forms, then close fuzzy match)."""
        if text in self.titles:
            return text
        m = _YEAR_SUFFIX.search(text)
        year = int(m.group(1)) if m else None
        form = normalize(_YEAR_SUFFIX.sub("", text))
        for f in [form, *title_forms(text)[0]]:
            i = self.best_item(f, year)
            if i is not None:
                return self.titles[i]
        hit = fuzzy_title(self, form)
        return self.titles[hit[0]] if hit else None


def _useful_tag(key: str, stop: frozenset[str] = STOP_TAGS, decades: bool = False) -> bool:
    """Tags worth matching as phrases: not chat words (``stop``), not decades where years
    handle those (``decades``: the catalog has no years, so "80s" may well be a tag)."""
    from recsys.describe import clean_tag

    if key in stop or len(key) < 3 or key in COMMON or not clean_tag(key):
        return False  # "not seen", "dvd", "in netflix queue": about the tagger, not a wish
    if decades and re.fullmatch(r"\d0s|\d{2}0s", key):
        return True
    return not re.fullmatch(r"\d+s?|\d+ s|\d{2,4}'?s", key)


def fuzzy_title(lex: Lexicon, form: str, cutoff: float = 92.0) -> tuple[int, float] | None:
    """A close title for a multi-word span (typos), or None; short spans are never fuzzed."""
    from rapidfuzz import fuzz, process

    if len(form) < 8 or len(form.split()) < 2:
        return None
    hit = process.extractOne(form, _title_keys(lex), scorer=fuzz.ratio, score_cutoff=cutoff)
    if hit is None:
        return None
    key, score, _ = hit
    # A typo should not change the number of words much (avoids prefix look-alikes).
    if abs(len(key.split()) - len(form.split())) > 0:
        return None
    item = lex.best_item(key)
    return (item, float(score)) if item is not None else None


def _title_keys(lex: Lexicon) -> list[str]:
    keys = lex.__dict__.get("_keys")
    if keys is None:
        keys = [k for k in lex.title_items if len(k.split()) >= 2]
        lex.__dict__["_keys"] = keys
    return keys


_LEXICONS: dict[tuple[str, str], Lexicon] = {}


def lexicon_for(catalog: Catalog) -> Lexicon:
    """The lexicon of ``catalog``, built once per (name, fingerprint)."""
    key = (catalog.name, catalog.fingerprint)
    if key not in _LEXICONS:
        _LEXICONS[key] = Lexicon.build(catalog)
    return _LEXICONS[key]
