"""Three-way merge of conversation states: a turn's changes on top of the changes made while
it ran.

A turn takes seconds. Meanwhile the page may send a like or a list edit, or a second tab may
finish a turn of its own, each stored at once. Writing the turn's state over the stored one
would undo those. Instead the turn's result (``ours``) and the stored state (``theirs``) are
merged against the state both started from (``base``):

- verdict lists (liked, disliked, seen, accepted, rejected) and the lists that only grow
  (ever_shown, mentions) take both sides' additions and removals; an item the other side
  judged keeps that judgement (a click on the page is the person's latest word on it);
- the list on screen is the turn's new list if it made one, else theirs; either way without
  the items the other side turned down;
- the history keeps both sides' new lines, theirs first (stored first); turns add up;
- any other field (the standing request, a pending question) is ours if the turn changed it,
  else theirs.
"""

from __future__ import annotations

from typing import Any

from agent.manager.conversation import Conversation

_VERDICTS = ("liked", "disliked", "seen")
_SETS = (*_VERDICTS, "accepted", "rejected", "ever_shown")
_OPPOSITE = {"liked": "disliked", "disliked": "liked"}


def _key(x: Any) -> Any:
    return tuple(x) if isinstance(x, list) else x


def _merge_set(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    b, t = {_key(x) for x in base}, {_key(x) for x in theirs}
    gone = b - t
    out = [x for x in ours if _key(x) not in gone]
    have = {_key(x) for x in out}
    return out + [x for x in theirs if _key(x) not in b and _key(x) not in have]


def _appended(base: list[Any], after: list[Any]) -> list[Any]:
    """What ``after`` added to ``base``, for lists trimmed at the front (the history)."""
    for k in range(min(len(base), len(after)), -1, -1):
        if after[:k] == base[len(base) - k:]:
            return after[k:]
    return after


def merge(base: Conversation, ours: Conversation, theirs: Conversation,
          history_keep: int = 8) -> Conversation:
    """``ours`` (a turn's result from ``base``) with the changes ``theirs`` made to ``base``."""
    if theirs.to_json() == base.to_json():
        return ours
    b, o, t = base.to_json(), ours.to_json(), theirs.to_json()
    out = dict(o)
    for name in o:
        if name in _SETS:
            out[name] = _merge_set(b[name], o[name], t[name])
        elif name not in ("shown", "history", "turn", "mentions", "focus") and o[name] == b[name]:
            out[name] = t[name]
    # the other side's judgements win on the items it judged
    for name in ("liked", "disliked"):
        judged = set(t[name]) - set(b[name])
        other = _OPPOSITE[name]
        out[other] = [i for i in out[other] if i not in judged]
    turned_down = (set(t["disliked"]) | set(t["seen"])) - set(b["disliked"]) - set(b["seen"])
    shown = o["shown"] if o["shown"] != b["shown"] else t["shown"]
    out["shown"] = [i for i in shown if i not in turned_down]
    focus = o["focus"] if o["focus"] != b["focus"] else t["focus"]
    out["focus"] = None if focus in turned_down else focus
    seen_ids = {m[0] for m in o["mentions"]}
    out["mentions"] = [*o["mentions"], *(m for m in t["mentions"]
                                         if m not in b["mentions"] and m[0] not in seen_ids)]
    lines = _appended(b["history"], t["history"]) + _appended(b["history"], o["history"])
    out["history"] = (b["history"] + lines)[-history_keep:]
    out["turn"] = t["turn"] + o["turn"] - b["turn"]
    return Conversation.from_json(out)
