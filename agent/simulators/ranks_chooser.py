"""What a linear reader of the LM's rank text can do: a conditional logit over those ranks.

``scene_text`` shows each option's rank in the list by taste, fans, pop, trend and genre
(``RANKS``). This chooser learns, from the train users' real choices, one weight per rank and
rank value, and picks the option with the highest weighted sum. When it does no better than
MF, the ranks hold nothing beyond MF's rank that a simple reader can use, and a small LM
trained on a few hundred rows should not be expected to find more (a lower bound on what the
text allows, not a proof: the text also shows titles, years and genres). Rank values
are folded so one model serves any list size: rank 1, 2, 3 each get a weight, and the rest
share a weight on the rank's place in the list, 0 (first) to 1 (last).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Self

import numpy as np

from agent.simulators.choosers import Chooser
from agent.simulators.scene_text import RANKS, option_ranks
from agent.simulators.scenes import Scene, World


def rank_features(ranks: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 4 * len(RANKS)) per option: rank==1, ==2, ==3 and (rank-1)/(n-1), per rank."""
    cols = []
    for name in RANKS:
        r = np.asarray(ranks[name], dtype=np.float64)
        n = len(r)
        cols += [r == 1, r == 2, r == 3, (r - 1) / max(n - 1, 1)]
    return np.column_stack(cols).astype(np.float32)


class RanksChooser(Chooser):
    """Conditional logit over ``rank_features``, fit on train scenes at each list size."""

    name = "ranks_logit"

    def __init__(self, sizes: Sequence[int] = (5, 10), l2: float = 1e-3) -> None:
        self.sizes, self.l2 = tuple(sizes), l2
        self.w: np.ndarray | None = None
        self.train_s = 0.0

    def fit(self, world: World, scenes: Sequence[Scene]) -> Self:
        import torch

        self.world = world
        if not scenes:
            raise ValueError("no train scenes to fit the ranks logit on")
        t0 = time.perf_counter()
        blocks = []
        for n in self.sizes:
            xs, ys = [], []
            for s in scenes:
                opts, ans = s.options(n)
                xs.append(rank_features(option_ranks(world, s, opts)))
                ys.append(ans)
            blocks.append((torch.from_numpy(np.stack(xs)), torch.tensor(ys)))
        w = torch.zeros(4 * len(RANKS), requires_grad=True)
        opt = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")

        def loss() -> torch.Tensor:
            opt.zero_grad()
            total = sum(torch.nn.functional.cross_entropy(x @ w, y) for x, y in blocks)
            total = total / len(blocks) + self.l2 * w.pow(2).sum()
            total.backward()
            return total

        opt.step(loss)
        self.w = w.detach().numpy().astype(np.float64)
        self.train_s = time.perf_counter() - t0
        return self

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        if self.w is None:
            raise RuntimeError("the ranks logit is not trained; call fit() first")
        return rank_features(option_ranks(self.world, scene, options)) @ self.w
