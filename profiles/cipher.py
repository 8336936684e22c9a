"""CIPHER (Gao et al. 2024): learn a person's latent preferences from their edits, remember
each with the context it was learned in, and apply those of the most similar past contexts.

- ``learn``: from an edit (a list as shown and as left, or one item turned down) and the
  request it answered, infer a rule in the catalog's fields (``profiles.rules.infer``), and
  store it as a preference statement with its context, evidence and the context's embedding.
- ``recall``: for a new request, the preferences of the ``k`` most similar past contexts of
  this person (cosine of context embeddings, at least ``min_similarity``), merged newest-wins
  (``combined``) or reconciled by a model (``profiles.llm_aggregate``, in the planner).

A preference learned with the kids does not reach a request alone unless the two requests
read alike; and whatever is recalled yields to what the request itself asks for (the manager
drops a remembered "no Horror" when the message asks for a scary film).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from profiles.rules import Rule, from_reason, infer, merge

if TYPE_CHECKING:
    from profiles.models import Preference
    from profiles.store import ProfileStore
    from recsys.catalog import Catalog
    from recsys.embeddings import Encoder

log = logging.getLogger(__name__)
Infer = Callable[["Catalog", list[int], list[int]], Rule | None]
K = 5
MIN_SIMILARITY = 0.5  # cosine of MiniLM context embeddings; see benchmarks/edit_cost.py


@dataclass(frozen=True)
class Remembered:
    """One recalled preference: what it says, where it was learned, how alike that was."""

    id: int
    text: str
    context: str
    similarity: float
    rule: Rule
    learned_at: str | None = None  # ISO time (an aggregating model weighs newer ones)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "context": self.context,
                "similarity": round(self.similarity, 3), "rule": self.rule.to_json(),
                "learned_at": self.learned_at}


class Cipher:
    """The learner and its memory over one profile store and one text encoder."""

    def __init__(self, store: ProfileStore, encoder: Encoder, *, k: int = K,
                 min_similarity: float = MIN_SIMILARITY, contextual: bool = True,
                 infer: Infer = infer) -> None:
        """``contextual=False`` applies every preference learned, whatever the context (the
        context-agnostic baseline); ``infer`` reads an edit (``rules.removed_items``: the raw
        edit, the ICL-edit baseline)."""
        self.store, self.encoder = store, encoder
        self.k, self.min_similarity, self.contextual = k, min_similarity, contextual
        self.infer = infer

    def _embed(self, text: str) -> np.ndarray:
        v = np.asarray(self.encoder.encode([text or "(no request)"], progress=False)[0],
                       dtype=np.float32)
        return v / (float(np.linalg.norm(v)) or 1.0)

    def learn(self, user_id: int, catalog: Catalog, context: str, shown: list[str],
              kept: list[str], *, key: str | None = None,
              about: dict[str, Any] | None = None,
              reason: dict[str, Any] | None = None,
              infer: Infer | None = None) -> Preference | None:
        """Infer and store the preference behind an edit; None when nothing explains it.

        ``context``: the request the list answered (shown to the person); ``key``: what
        retrieval compares (default the context; the server passes its situation words,
        ``agent.nlu.situation``); ``about``: kept with the evidence (which list it was);
        ``reason``: what the person said when turning items down (the turn's ``reason``:
        {"less", "ranges"}), which wins over the attributes' reading; ``infer``: this edit's
        reader instead of the learner's own (the server's LLM reader)."""
        index = catalog.item_index
        s = [index[i] for i in shown if i in index]
        k = [index[i] for i in kept if i in index]
        # what the person said ("too long") replaces a guess from the attributes
        said = from_reason(catalog, reason, [i for i in s if i not in set(k)])
        by, reader = "reason", infer or self.infer
        if said is not None:
            rule: Rule | None = said
        elif hasattr(reader, "read"):  # a model's reading (profiles.llm_infer), checked
            rule, by = reader.read(catalog, s, k, context)
        else:
            rule, by = reader(catalog, s, k), "rules"
        if rule is None:
            return None
        removed = [i for i in shown if i not in set(kept)]
        context = (context or "").strip()[:2000]
        return self.store.add_preference(
            user_id, rule.describe(catalog)[:500], source="edit", context=context or None,
            catalog=catalog.name, rule=rule.to_json(),
            evidence={"shown": list(shown), "kept": list(kept), "removed": removed,
                      "encoder": self.encoder.name, "key": key, "inferred_by": by,
                      **({"reason": reason} if said is not None else {}), **(about or {})},
            context_vector=self._embed(context if key is None else key).tolist())

    def recall(self, user_id: int, catalog: Catalog, context: str) -> list[Remembered]:
        """The preferences to apply to a request in ``context`` (compared as ``learn``'s
        key), most similar first."""
        rows = [(p, v) for p, v in self.store.learned(user_id, catalog.name)
                if (p.evidence or {}).get("encoder") == self.encoder.name]
        if not rows:
            return []
        q = self._embed(context)
        sims = [float(np.dot(q, np.asarray(v, np.float32))) for _, v in rows]
        ranked = sorted(range(len(rows)), key=lambda i: -sims[i])
        if self.contextual:
            ranked = [i for i in ranked if sims[i] >= self.min_similarity][:self.k]
        out = []
        for i in ranked:
            p = rows[i][0]
            out.append(Remembered(p.id, p.text, p.context or "", sims[i],
                                  Rule.from_json(p.rule),
                                  p.created_at.isoformat(timespec="seconds")))
        return out


def combined(remembered: list[Remembered]) -> Rule:
    """The recalled rules as one (newest wins on a conflict)."""
    return merge([r.rule for r in sorted(remembered, key=lambda r: r.id)])
