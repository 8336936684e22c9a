"""Dialogue acts: what one message does to the conversation, read from its understood request.

A message may carry several acts ("I've seen Heat, something darker?" is SEEN + REFINE).
``read_acts`` turns the structured request (``agent.nlu``) and the conversation into acts; the
manager applies each act's one effect (``ACTS``) to the state, then answers the turn's main act
(the first in ``RESPONSE_ORDER`` present).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from agent.manager.conversation import Conversation
from agent.nlu.lexicon import normalize
from agent.nlu.request import Request
from agent.nlu.rules import NOT_SEEN


class Act(StrEnum):
    ANSWER_YES = "answer_yes"
    ANSWER_NO = "answer_no"
    NO_SUCH_POSITION = "no_such_position"
    LIKE = "like"
    DISLIKE = "dislike"
    SEEN = "seen"
    NOT_SEEN = "not_seen"
    LIST_EDIT = "list_edit"
    NEGATE_SEED = "negate_seed"
    REQUEST = "request"
    REFINE = "refine"
    RELAX = "relax"
    MORE = "more"
    WHY = "why"
    FACT = "fact"
    CHITCHAT = "chitchat"
    THANKS_BYE = "thanks_bye"


# One documented effect per act (README "The dialogue manager" quotes this table).
ACTS: dict[Act, str] = {
    Act.ANSWER_YES: "the pending question's value joins the request (include); then recommend",
    Act.ANSWER_NO: "the pending question's value is excluded; ask again or recommend",
    Act.NO_SUCH_POSITION: "a list position that does not exist is said; nothing changes",
    Act.LIKE: "the item is liked: a positive seed from now on, never suggested again",
    Act.DISLIKE: "the item is turned down: a negative seed, replaced in place if on screen",
    Act.SEEN: "the item is seen: never suggested again, a half-weight seed, replaced if shown",
    Act.NOT_SEEN: "nothing is marked: the item stays on the list and recommendable",
    Act.LIST_EDIT: "the positions named are turned down and replaced in place (swap 3)",
    Act.NEGATE_SEED: "the title pushes the ranking away from itself (nothing like X)",
    Act.REQUEST: "a new wish (a value or a title) replaces the standing request",
    Act.REFINE: "periods, exclusions and nuances add to the standing request; items on "
                "screen that still fit a narrowing stay",
    Act.RELAX: "a condition of the standing request is dropped (any year, forget horror)",
    Act.MORE: "more of the same request, without what was shown",
    Act.WHY: "explain one item from its graph paths and the person's evidence",
    Act.FACT: "answer a fact about one item from the catalog (or say it is not recorded)",
    Act.CHITCHAT: "a short reply; a newcomer may be asked one question",
    Act.THANKS_BYE: "a short thanks or goodbye back; nothing changes",
}

# The act a turn answers: the first of these present (state effects of all acts apply first).
RESPONSE_ORDER: tuple[Act, ...] = (
    Act.NO_SUCH_POSITION, Act.ANSWER_YES, Act.ANSWER_NO, Act.LIST_EDIT, Act.WHY, Act.FACT,
    Act.REQUEST, Act.RELAX, Act.REFINE, Act.MORE, Act.DISLIKE, Act.SEEN, Act.LIKE, Act.NOT_SEEN,
    Act.NEGATE_SEED, Act.THANKS_BYE, Act.CHITCHAT)

YES = {"yes", "yeah", "yep", "sure", "ok", "okay", "definitely", "absolutely", "y",
       "sounds good", "why not", "of course", "please", "yes please", "totally"}
NO = {"no", "nope", "nah", "not really", "n", "no thanks", "not at all", "rather not",
      "not today", "no way"}
_SWAP = re.compile(r"\b(swap|replace|change|different|instead|another|not|no|drop|remove|skip|"
                   r"ditch|lose|too\s+\w+)\b", re.I)  # "not number 3", "2 is too long": an edit
# "more like number 4, but no horror": number 4 is a seed, the "no" is about horror
_MORE_LIKE = re.compile(r"\b(like|similar to|closer to)\s+(number\s+|no\.?\s*|#)?"
                        r"(\d+|one|two|three|four|five|that|this|it)\b", re.I)
_MORE = re.compile(r"\b(else|more|other|another|options|next|again|different)\b", re.I)
# "also", "too", "but ...": a new value adds to the standing request instead of replacing it
_KEEP = re.compile(r"\b(also|too|as well|but|and|still|same)\b", re.I)


# "any year is fine", "forget the 90s", "it doesn't have to be a comedy", "drop horror"
RELAX = re.compile(r"\b(?:any (?P<any>year|decade|era|genre|kind)s?\b(?: is fine| will do)?|"
                   r"(?:forget|never ?mind|ignore) (?:about )?(?:the )?(?P<what>[\w -]+?)"
                   r"(?: part| bit| condition| filter)?$|drop (?:the )?(?P<part>[\w -]+?) "
                   r"(?:part|bit|condition|filter)$|(?:it )?(?:doesn't|does not|don't|do not) "
                   r"(?:have to|need to) be (?:a |an )?(?P<be>[\w -]+?)(?: movie| film)?$|"
                   r"(?:i )?(?:don't|do not) (?:care|mind) about (?:the )?(?P<care>[\w -]+?)$)",
                   re.I)
_BYE = re.compile(r"\b(thanks|thank you|thx|cheers|bye|goodbye|good night|see you|that's all|"
                  r"that is all|i'm done|im done)\b")


@dataclass(frozen=True)
class DialogueAct:
    """One act; ``item`` is a dense item index where the act is about one item."""

    act: Act
    item: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"act": str(self.act), **({"item": self.item} if self.item is not None else {})}


def read_acts(req: Request, text: str, conv: Conversation,
              item_of: Callable[[str | int], int | None],
              title_item: Callable[[str], int | None]) -> list[DialogueAct]:
    """The acts of one message, in the order their effects apply.

    Args:
        req: the understood request (its titles already grounded in the catalog).
        text: the message as typed.
        conv: the conversation before this message.
        item_of: a list position ("2"), "0" (the focus) or a title -> dense item, or None.
        title_item: a catalog title -> dense item, or None.
    """
    norm = normalize(text).strip()
    if conv.pending and (norm in YES or norm in NO):
        return [DialogueAct(Act.ANSWER_YES if norm in YES else Act.ANSWER_NO)]
    missing = [r for r in req.refs if r > len(conv.shown) or (r < 1 and r != -1)]
    if missing and req.kind in ("refine", "feedback", "why", "fact"):
        return [DialogueAct(Act.NO_SUCH_POSITION)]
    acts: list[DialogueAct] = []
    for key, kind in req.feedback.items():
        item = item_of(key)
        if item is not None:
            acts.append(DialogueAct(Act(kind), item))
    if req.kind == "refine" and req.refs and _SWAP.search(text) and conv.shown \
            and not _MORE_LIKE.search(text):
        acts += [DialogueAct(Act.LIST_EDIT, i) for r in req.refs
                 if (i := item_of(r)) is not None]
    acts += [DialogueAct(Act.NEGATE_SEED, i) for t in req.unlike
             if (i := title_item(t)) is not None]
    if not conv.constraints.empty and not req.refs and not req.feedback and RELAX.search(norm):
        acts.append(DialogueAct(Act.RELAX))
        return acts
    if req.kind in ("why", "fact"):
        acts.append(DialogueAct(Act(req.kind)))
    elif req.kind in ("recommend", "refine") or (req.kind == "chitchat" and _has_slots(req)):
        fresh = req.kind == "recommend" and bool(req.include or wished_titles(req)
                                                 or req.audience) \
            and not _KEEP.search(text)
        acts.append(DialogueAct(Act.REQUEST if fresh else Act.REFINE))
    elif req.kind == "chitchat" and conv.shown and NOT_SEEN.search(text) \
            and not req.feedback:
        acts.append(DialogueAct(Act.NOT_SEEN, item_of(0)))
    elif req.kind == "chitchat" and conv.shown and _MORE.search(text) and not acts:
        acts.append(DialogueAct(Act.MORE))
    if not acts:
        acts.append(DialogueAct(Act.THANKS_BYE if _BYE.search(norm) else Act.CHITCHAT))
    return acts


def wished_titles(req: Request) -> list[str]:
    """Titles the request is "like": not those only judged seen or disliked in it."""
    return [t for t in req.titles if req.feedback.get(t) not in ("seen", "dislike")]


def _has_slots(req: Request) -> bool:
    return bool(req.include or req.exclude or req.year_min or req.year_max or req.titles
                or req.free_text or req.unlike or req.ranges or req.audience)


def main_act(acts: list[DialogueAct]) -> Act:
    """The act this turn answers."""
    present = {a.act for a in acts}
    return next(a for a in RESPONSE_ORDER if a in present)
