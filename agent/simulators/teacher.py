"""Teacher rationales with uncertainty filtering: which train scenes an LM simulator learns from.

A teacher chat model (the local Qwen2.5 GGUF, or any OpenAI-compatible endpoint through the
``ChatModel`` protocol) reads a scene (``scene_text``) and answers JSON ``{"reason", "choice"}``,
``samples`` times at ``temperature`` > 0, each sample with the options in another order (so a
position bias spreads over the options instead of agreeing with itself) and another seed.
Teacher uncertainty is the entropy of its choices; a scene is kept when the teacher's strict
majority is the real choice with votes from over half the samples, and kept scenes are ranked
by informativeness: the student's uncertainty (entropy of its softmax over the options, before
training) minus the teacher's, both divided by log N so they share a 0..1 scale.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from agent.simulators.choosers import Chooser
from agent.simulators.scene_text import LABELS, scene_text
from agent.simulators.scenes import Scene, World


def _prompt(name: str) -> str:
    return resources.files("agent.prompts").joinpath(name).read_text(encoding="utf-8")


def choice_entropy(choices: Sequence[int | None], n: int) -> float:
    """Entropy (nats) of the votes; unparsed samples (None) cast no vote; no votes: log n."""
    votes = Counter(c for c in choices if c is not None)
    total = sum(votes.values())
    if not total:
        return math.log(n)
    return float(-sum(v / total * math.log(v / total) for v in votes.values()))


def majority(choices: Sequence[int | None]) -> int | None:
    """The option with strictly the most votes; None on a tie or with no votes."""
    top = Counter(c for c in choices if c is not None).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def score_entropy(scores: np.ndarray) -> float:
    """Entropy (nats) of softmax(scores): how unsure a chooser is between the options."""
    z = np.asarray(scores, dtype=np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    return float(-(p * np.log(np.clip(p, 1e-12, None))).sum())


@dataclass(frozen=True)
class TeacherSample:
    """One teacher answer, its choice as an index into the scene's own option order."""

    choice: int | None  # None: the reply named no option
    reason: str


@dataclass
class Taught:
    """One scene with the teacher's samples and both uncertainties."""

    scene: Scene
    options: tuple[int, ...]
    answer: int  # index of the real choice in ``options``
    prompt: str  # the scene text in ``options``' order (what the student reads)
    samples: list[TeacherSample]
    student_entropy: float | None = None
    seconds: float = 0.0

    @property
    def choices(self) -> list[int | None]:
        return [s.choice for s in self.samples]

    @property
    def teacher_entropy(self) -> float:
        return choice_entropy(self.choices, len(self.options))

    @property
    def majority(self) -> int | None:
        return majority(self.choices)

    @property
    def kept(self) -> bool:
        """The teacher's majority is the real choice, with votes from over half its samples
        (one parsed vote out of three is luck, not agreement)."""
        votes = sum(c == self.answer for c in self.choices)
        return self.majority == self.answer and votes > len(self.samples) / 2

    @property
    def informativeness(self) -> float:
        """Student uncertainty minus teacher uncertainty, each over log N (higher: keep first)."""
        log_n = math.log(len(self.options))
        student = self.student_entropy if self.student_entropy is not None else log_n
        return student / log_n - self.teacher_entropy / log_n

    def record(self) -> dict[str, Any]:
        """The JSONL row: enough to train on without the catalog."""
        right = next(s.reason for s in self.samples if s.choice == self.answer)
        wrong = {LABELS[s.choice]: s.reason for s in self.samples
                 if s.choice is not None and s.choice != self.answer}
        return {"user": self.scene.user, "time": self.scene.time, "chosen": self.scene.chosen,
                "options": list(self.options), "answer": self.answer,
                "label": LABELS[self.answer], "prompt": self.prompt, "reason": right,
                "wrong_reasons": wrong,
                "teacher_choices": [None if c is None else LABELS[c] for c in self.choices],
                "teacher_entropy": round(self.teacher_entropy, 4),
                "student_entropy": (None if self.student_entropy is None
                                    else round(self.student_entropy, 4)),
                "informativeness": round(self.informativeness, 4)}


@dataclass
class Teacher:
    """Asks ``llm`` for ``samples`` rationales and choices per scene (see the module doc)."""

    llm: Any  # a ChatModel
    samples: int = 3
    temperature: float = 0.8
    max_tokens: int = 80
    history: int = 6
    seed: int = 0
    failures: int = field(default=0, init=False)

    def ask(self, world: World, scene: Scene, options: Sequence[int]) -> list[TeacherSample]:
        """``samples`` answers, the first on ``options`` as given, the rest reshuffled."""
        from agent.llm.base import LLMError, Message

        n = len(options)
        schema = {"type": "object", "required": ["reason", "choice"],
                  "properties": {"reason": {"type": "string"},
                                 "choice": {"type": "string", "enum": list(LABELS[:n])}}}
        rng = np.random.default_rng([self.seed, scene.user, scene.time & 0x7FFFFFFF, n])
        out = []
        for k in range(self.samples):
            order = np.arange(n) if k == 0 else rng.permutation(n)
            shown = [options[i] for i in order]
            msgs = [Message.system(_prompt("teacher.md")),
                    Message.user(scene_text(world, scene, shown, history=self.history))]
            base_seed = getattr(self.llm, "seed", None)
            if base_seed is not None:  # local backends send one fixed seed per request
                self.llm.seed = base_seed + k
            try:
                res = self.llm.generate(msgs, schema=schema, max_tokens=self.max_tokens,
                                        temperature=self.temperature)
                value = res.json if res.json is not None else json.loads(res.text)
                label, reason = str(value["choice"]).strip().upper(), str(value["reason"])
            except (LLMError, ValueError, KeyError, TypeError):
                self.failures += 1
                out.append(TeacherSample(None, ""))
                continue
            finally:
                if base_seed is not None:
                    self.llm.seed = base_seed
            shown_k = LABELS.find(label[:1]) if label else -1
            out.append(TeacherSample(int(order[shown_k]) if 0 <= shown_k < n else None,
                                     reason.strip()))
        return out

    def teach(self, world: World, scenes: Sequence[Scene], n: int, *,
              student: Chooser | None = None, progress: bool | None = None) -> list[Taught]:
        """Every scene at list size ``n`` with the teacher's samples and the student's entropy."""
        from tqdm.auto import tqdm

        from recsys.models.base import show_progress

        out = []
        bar = tqdm(scenes, desc=f"teacher rationales x{self.samples}", unit="scene",
                   disable=not show_progress(progress), leave=False)
        for s in bar:
            opts, ans = s.options(n)
            t0 = time.perf_counter()
            samples = self.ask(world, s, opts)
            spent = time.perf_counter() - t0
            ent = score_entropy(student.scores(s, opts)) if student is not None else None
            out.append(Taught(s, opts, ans, scene_text(world, s, opts, history=self.history),
                              samples, ent, spent))
            bar.set_postfix(kept=sum(t.kept for t in out))
        return out


def write_kept(taught: Sequence[Taught], folder: Path, *, teacher: str,
               student: str | None, extra: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """``kept.jsonl`` (kept scenes, most informative first) and ``card.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = sorted((t for t in taught if t.kept), key=lambda t: -t.informativeness)
    path = folder / "kept.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for t in kept:
            f.write(json.dumps(t.record(), ensure_ascii=False) + "\n")
    seconds = sum(t.seconds for t in taught)
    samples = sum(len(t.samples) for t in taught)
    card = {"seen": len(taught), "kept": len(kept),
            "kept_share": round(len(kept) / max(1, len(taught)), 4),
            "unparsed_samples": sum(c is None for t in taught for c in t.choices),
            "samples_per_scene": samples / max(1, len(taught)),
            "teacher": teacher, "student_for_uncertainty": student,
            "teacher_accuracy_majority": round(
                float(np.mean([t.majority == t.answer for t in taught])) if taught else 0.0, 4),
            "mean_teacher_entropy": round(
                float(np.mean([t.teacher_entropy for t in taught])) if taught else 0.0, 4),
            "teacher_seconds": round(seconds, 1),
            "seconds_per_scene": round(seconds / max(1, len(taught)), 2),
            "date": datetime.now(UTC).isoformat(timespec="seconds"), **(extra or {})}
    card_path = folder / "card.json"
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path, card_path


def read_kept(path: Path) -> list[dict[str, Any]]:
    """The rows ``write_kept`` wrote, in its order."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
