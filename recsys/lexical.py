"""BM25 over item texts: the exact words a wish shares with an item ("space", "horror").

Dense embeddings read meaning but blur rare, decisive words; BM25 keeps them. The semantic
index fuses both by reciprocal rank (hybrid retrieval), so "dark space horror with a strong
heroine" finds Alien, whose text says space five times but nothing dark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(re.findall(r"\S+", """
a an the and or but of in on at to for from by with without about as is it its this that
these those be been are was were i me my we you your he she his her they them their what
which who whom when where why how all any some no not very so too just more most less
movie movies film films something anything like want looking please one ones
"""))


def terms(text: str) -> list[str]:
    """Lowercase words without stopwords, with a naive plural strip ("aliens" -> "alien")."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or len(w) < 2:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


@dataclass
class LexicalIndex:
    """Documents x terms BM25 weights (rows: dense item indices)."""

    vocab: dict[str, int]
    weights: sp.csc_matrix  # (n_docs, n_terms) float32, BM25 term weight per document

    @classmethod
    def build(cls, texts: list[str], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, t in enumerate(texts):
            for w in terms(t):
                rows.append(i)
                cols.append(vocab.setdefault(w, len(vocab)))
        n = len(texts)
        tf = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                           shape=(n, len(vocab)))
        tf.sum_duplicates()
        length = np.asarray(tf.sum(axis=1)).ravel()
        norm = k1 * (1 - b + b * length / max(length.mean(), 1e-9))
        df = np.diff(tf.tocsc().indptr)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        coo = tf.tocoo()
        data = coo.data * (k1 + 1) / (coo.data + norm[coo.row]) * idf[coo.col]
        w = sp.csc_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=tf.shape)
        return cls(vocab, w)

    def scores(self, query: str) -> np.ndarray:
        """(n_docs,) BM25 score of every document for ``query`` (0 where no word matches)."""
        cols = sorted({self.vocab[w] for w in terms(query) if w in self.vocab})
        if not cols:
            return np.zeros(self.weights.shape[0], np.float32)
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel().astype(np.float32)

    def save(self, path: str) -> None:
        words = np.array(sorted(self.vocab, key=self.vocab.__getitem__))
        sp.save_npz(path, self.weights.tocsr(), compressed=True)
        np.save(path + ".vocab.npy", words)

    @classmethod
    def load(cls, path: str) -> LexicalIndex:
        weights = sp.load_npz(path).tocsc().astype(np.float32)
        words = np.load(path + ".vocab.npy", allow_pickle=False)
        return cls({str(w): j for j, w in enumerate(words)}, weights)


def fuse(dense_ids: np.ndarray, lexical: np.ndarray, k: int, *, pool: int = 500,
         c: float = 60.0, candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reciprocal-rank fusion of a dense ranking (ids, best first) and lexical scores over all
    documents: score = 1/(c + dense rank) + 1/(c + lexical rank), ``pool`` deep each."""
    score: dict[int, float] = {}
    for r, i in enumerate(dense_ids[:pool]):
        score[int(i)] = 1.0 / (c + r + 1)
    lex = lexical if candidates is None else lexical[candidates]
    ids_all = np.arange(len(lexical)) if candidates is None else candidates
    hit = np.flatnonzero(lex > 0)
    if len(hit):
        order = hit[np.lexsort((hit, -lex[hit]))][:pool]
        for r, j in enumerate(order):
            i = int(ids_all[j])
            score[i] = score.get(i, 0.0) + 1.0 / (c + r + 1)
    if not score:
        return np.empty(0, np.int32), np.empty(0, np.float32)
    ids = np.fromiter(score, np.int64, len(score))
    vals = np.fromiter(score.values(), np.float64, len(score))
    best = np.lexsort((ids, -vals))[:k]
    return ids[best].astype(np.int32), vals[best].astype(np.float32)
