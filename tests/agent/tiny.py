"""A hand-made seven-item catalog whose every conversation can be worked out on paper.

    item  id  attributes (tag)     liked in train by
    0     10  a b                  user 0, user 2
    1     11  a c                  user 1
    2     12  a b d                (user 0 in test)
    3     13  b e                  user 1
    4     14  c                    user 0
    5     15  a                    user 2
    6     16  e                    user 1
users 0 and 1 are friends.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.catalog import Catalog, Interactions, ItemAttributes

TAGS = ["a", "b", "c", "d", "e"]
ITEM_TAGS = [["a", "b"], ["a", "c"], ["a", "b", "d"], ["b", "e"], ["c"], ["a"], ["e"]]
LIKES = [(0, 0, "train"), (0, 4, "train"), (1, 1, "train"), (1, 3, "train"),
         (2, 0, "train"), (2, 5, "train"), (1, 6, "train"), (0, 2, "test")]


def hand_catalog() -> Catalog:
    rows = [i for i, tags in enumerate(ITEM_TAGS) for _ in tags]
    cols = [TAGS.index(t) for tags in ITEM_TAGS for t in tags]
    tag_m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                          shape=(len(ITEM_TAGS), len(TAGS)))
    u, i, split = zip(*LIKES, strict=True)
    n = len(ITEM_TAGS)
    return Catalog(
        name="hand", fingerprint="hand", item_ids=[str(10 + k) for k in range(n)],
        titles=[f"Artist {10 + k}" for k in range(n)], years=np.zeros(n, np.int32),
        texts=[None] * n, attributes={"tag": ItemAttributes("tag", TAGS, tag_m)},
        user_ids=["u0", "u1", "u2"],
        interactions=Interactions(np.array(u), np.array(i), 3, n, splits=np.array(split)),
        user_links={"friend": np.array([[0, 1]], dtype=np.int32)})
