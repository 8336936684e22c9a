"""The situation a request is made in, apart from what it asks for.

"a comedy to watch with my parents" asks for a comedy *with my parents*: the genre is said
outright and applies as asked; the situation ("with my parents") is what a remembered
preference is keyed to. Embedding the whole request would make every comedy request look
alike and keep the same situation apart across genres, so the memory keys on the request's
words minus what becomes a filter of its own (genre-like values, years and decades, titles)
and the words of asking ("recommend", "movie", "a").
"""

from __future__ import annotations

from agent.nlu.lexicon import Lexicon, wordset
from agent.nlu.rules import REQUEST_WORDS, extract

_ARTICLES = wordset("a an the to for from any some of")


def situation(text: str, lex: Lexicon, hard_fields: tuple[str, ...] = ()) -> str:
    """The situation's words ("" when the request has none of its own); who is watching,
    when the catalog has audiences, as words too ("for children")."""
    parse = extract(text, lex)
    words = parse.words
    hard = {lex.genre_field, *hard_fields} - {None}
    drop: set[int] = set()
    for n in (3, 2, 1):  # the longest value phrase first ("science fiction")
        for i in range(len(words) - n + 1):
            hit = lex.attr_phrases.get(" ".join(words[i:i + n]))
            if hit and hit[0] in hard and not drop & set(range(i, i + n)):
                drop.update(range(i, i + n))
    left = [w for i, w in enumerate(words)
            if i not in drop and w.isalpha() and w not in REQUEST_WORDS
            and w not in lex.filler and w not in _ARTICLES]
    if parse.request.audience:
        left.append(f"for {parse.request.audience}ren" if parse.request.audience == "child"
                    else f"for {parse.request.audience}")
    return " ".join(left)
