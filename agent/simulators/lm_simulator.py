"""A small LM user simulator: SmolLM2-135M-Instruct fine-tuned with ``trl``, SFT then DPO.

It reads a scene as ``scene_text`` writes it (history, lettered options with catalog facts)
and answers ``Choice: <letter>`` then ``Reason: <sentence>``. Training rows are the teacher's
kept scenes (``teacher.py``: real choice + the teacher's rationale) and, optionally, ``plain``
train scenes with the real choice and no rationale (cheap: no teacher call). SFT teaches the
format and the choices; DPO then prefers the real choice (with the rationale) over a wrong
option, the teacher's own wrong pick where it made one. As a ``Chooser`` it scores options by
the log-probability of each option's letter right after ``Choice:`` (one forward pass, no
sampling). The base model is the packaged GGUF (de-quantised by transformers through ``gguf``)
or any Hugging Face checkpoint directory; ``save`` writes one, with a ``card.json``.

What the text holds bounds what it can learn. With the five within-list ranks alone, a
logit over them picks as MF does (``scene_text``'s doc), and MF's pick is what it learned. A ``fit``
simulator (``order="fit"``) also reads the trained choice model: options listed by it, each
with its fit rank, so the LM starts from the choice model's ranking and learns from real
choices when to depart from it. Its train rows take their fit ranks from choice models that
never saw the row's user (``choice_model.out_of_fold``), so it learns how far to trust the
ranking for a new user, not for one the choice model has memorised.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Self

import numpy as np

from agent.simulators.choosers import Chooser
from agent.simulators.scene_text import LABELS, RANKS, fit_ranks, scene_text, taste_order
from agent.simulators.scenes import Scene, World

log = logging.getLogger(__name__)
ANSWER_PREFIX = "Choice:"  # the scorer reads the next token's distribution after this
ORDERS = ("taste", "fit")
PRIOR_FILE = "prior.pt"  # the choice model a "fit" simulator reads, saved beside its weights


def system_prompt() -> str:
    return resources.files("agent.prompts").joinpath("simulate_choice.md").read_text(
        encoding="utf-8").strip()


def completion(label: str, reason: str | None) -> str:
    """What the simulator says: the choice first (so scoring needs no generation), the why."""
    return f"{ANSWER_PREFIX} {label}" + (f"\nReason: {reason.strip()}" if reason else "")


def shown_order(world: World, scene: Scene, options: Sequence[int], order: str | None,
                prior: Chooser | None = None) -> np.ndarray:
    """Indices of ``options`` in the order the simulator reads them: ``"taste"`` lists the
    best MF match first, as a recommender shows a list (a small LM then starts from "the
    first" and learns when the other facts overrule it; listing at random, 160 SFT rows left
    SmolLM2-135M at chance); ``"fit"`` lists the ``prior`` chooser's favourite first; None
    keeps the given order."""
    if order is None:
        return np.arange(len(options))
    if order == "taste":
        return taste_order(world, scene, options)
    if order == "fit":
        if prior is None:
            raise ValueError("order 'fit' needs the prior chooser whose scores rank the options")
        return np.argsort(fit_ranks(prior.scores(scene, options)), kind="stable")
    raise ValueError(f"unknown option order '{order}'; valid: {', '.join(ORDERS)}, None")


def render(world: World, scene: Scene, options: Sequence[int], *, order: str | None,
           prior: Chooser | None = None, facts: Sequence[str] = tuple(RANKS),
           history: int = 6) -> tuple[str, np.ndarray]:
    """The scene's text with ``options`` in reading order, and that order (``perm[k]`` = the
    caller's index of the option read k-th). With a ``prior`` each option also shows its
    ``fit`` rank (``scene_text``)."""
    # the prior scores the options once: ranks from a second call in another order could
    # differ in a near-tie by rounding, and show "fit 2" above "fit 1"
    ranks = None if prior is None else fit_ranks(prior.scores(scene, options))
    if order == "fit" and ranks is not None:
        perm = np.argsort(ranks, kind="stable")
    else:
        perm = shown_order(world, scene, options, order, prior)
    shown = [options[k] for k in perm]
    fit = None if ranks is None else ranks[perm]
    return scene_text(world, scene, shown, history=history, fit=fit, facts=facts), perm


def plain_rows(world: World, scenes: Sequence[Scene], sizes: Sequence[int] = (5, 10), *,
               history: int = 6, rival: Chooser | None = None,
               order: str | None = "taste",
               prior_of: Callable[[Scene], Chooser] | None = None,
               facts: Sequence[str] = tuple(RANKS)) -> list[dict[str, Any]]:
    """Rows with the real choice and no rationale, list sizes cycling through ``sizes``,
    options in ``order`` (``shown_order``); ``prior_of(scene)`` is the chooser whose ranks the
    row shows as ``fit`` (for train rows, one that never saw the scene's user:
    ``choice_model.out_of_fold``).

    With a ``rival`` chooser each row also names the wrong option the rival likes best (its
    ``rival`` label): DPO's hardest rejected answer, the mistake a good scorer would make.
    """
    rows = []
    for i, s in enumerate(scenes):
        given, real = s.options(sizes[i % len(sizes)])
        prior = None if prior_of is None else prior_of(s)
        text, perm = render(world, s, given, order=order, prior=prior, facts=facts,
                            history=history)
        opts = [given[k] for k in perm]
        ans = int(np.flatnonzero(perm == real)[0])
        row = {"prompt": text, "answer": ans, "label": LABELS[ans], "options": list(opts),
               "reason": None, "wrong_reasons": {}}
        if rival is not None:
            sc = np.asarray(rival.scores(s, opts), dtype=np.float64)
            sc[ans] = -np.inf
            row["rival"] = LABELS[int(np.argmax(sc))]
        rows.append(row)
    return rows


def _chat(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt()}, {"role": "user", "content": prompt}]


def sft_examples(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """trl prompt-completion rows (conversational): loss on the answer only."""
    return [{"prompt": _chat(r["prompt"]),
             "completion": [{"role": "assistant",
                             "content": completion(r["label"], r.get("reason"))}]}
            for r in rows]


def dpo_pairs(rows: Sequence[dict[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """trl preference rows: chosen = the real choice (with its rationale), rejected = a wrong
    option: the teacher's wrong pick when it made one, else the rival chooser's favourite
    wrong option (``plain_rows``), else a seeded draw; the rejected answer
    reuses the chosen rationale unless the teacher wrote one for that pick, so the pair differs
    in the choice, not in length or style."""
    rng = np.random.default_rng(seed)
    out = []
    for r in rows:
        n = len(r["options"])
        wrong = {k: v for k, v in (r.get("wrong_reasons") or {}).items()
                 if k != r["label"] and k in LABELS[:n]}
        if wrong:
            bad = sorted(wrong)[int(rng.integers(len(wrong)))]
        elif r.get("rival") and r["rival"] in LABELS[:n] and r["rival"] != r["label"]:
            bad = r["rival"]
        else:
            bad = LABELS[int(rng.choice([k for k in range(n) if k != r["answer"]]))]
        reason = r.get("reason")
        out.append({"prompt": _chat(r["prompt"]),
                    "chosen": [{"role": "assistant", "content": completion(r["label"], reason)}],
                    "rejected": [{"role": "assistant",
                                  "content": completion(bad, wrong.get(bad, reason))}]})
    return out


class LMSimulator(Chooser):
    """The fine-tuned small LM as a chooser (see the module doc).

    Args:
        model: a registered GGUF name (``smollm2-135m``), a ``.gguf`` path or a checkpoint dir.
        sft_epochs, dpo_epochs: passes over the rows (0 skips that stage).
        lr_sft, lr_dpo, beta: learning rates and DPO's beta.
        batch: rows per optimiser step.
        order: how the options are listed to the model (``shown_order``).
        facts: which within-list ranks each option shows (``scene_text``).
        prior: a trained chooser (the choice model) whose rank each option shows as "fit";
            ``order="fit"`` lists its favourite first. Saved with the checkpoint.
        train_layers: fine-tune only the top this many decoder layers (and the final norm);
            None trains every weight. The backward pass then stops there: about half the
            time per row on a CPU with half the layers frozen.
        n_threads: torch CPU threads (default all cores).
    """

    name = "lm_simulator"

    def __init__(self, model: str | os.PathLike[str] = "smollm2-135m", *, history: int = 6,
                 sft_epochs: int = 2, dpo_epochs: int = 1, lr_sft: float = 1e-4,
                 lr_dpo: float = 5e-6, beta: float = 0.1, batch: int = 4,
                 max_length: int = 768, train_layers: int | None = None,
                 order: str | None = "taste", facts: Sequence[str] = tuple(RANKS),
                 prior: Chooser | None = None,
                 n_threads: int | None = None, seed: int = 0,
                 progress: bool | None = None) -> None:
        self.model_name = str(model)
        self.history, self.seed, self.progress = history, seed, progress
        self.sft_epochs, self.dpo_epochs = sft_epochs, dpo_epochs
        self.lr_sft, self.lr_dpo, self.beta = lr_sft, lr_dpo, beta
        self.batch, self.max_length = batch, max_length
        self.train_layers, self.order = train_layers, order
        self.facts, self.prior = tuple(facts), prior
        if order == "fit" and prior is None:
            raise ValueError("order 'fit' needs a prior chooser (the trained choice model)")
        self.n_threads = n_threads or os.cpu_count() or 1
        self.model: Any = None
        self.tokenizer: Any = None
        self.train_s: dict[str, float] = {}
        self.rows: dict[str, int] = {}

    @classmethod
    def from_checkpoint(cls, folder: str | os.PathLike[str], **kw: Any) -> LMSimulator:
        """A saved simulator (``save``): its weights, read the way it was trained (history)."""
        card_path = Path(folder) / "card.json"
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        kw.setdefault("history", int(card.get("history", 6)))
        kw.setdefault("order", card.get("order"))
        kw.setdefault("facts", tuple(card.get("facts", RANKS)))
        if "prior" not in kw and (Path(folder) / PRIOR_FILE).is_file():
            from agent.simulators.choice_model import ChoiceModel

            kw["prior"] = ChoiceModel.load(Path(folder) / PRIOR_FILE)
        return cls(folder, **kw)

    @property
    def world(self) -> World:
        return self._world

    @world.setter
    def world(self, world: World) -> None:
        # the prior reads its features from the same world
        self._world = world
        if self.prior is not None:
            self.prior.world = world

    # ------------------------------------------------------------------ model

    def load(self) -> Self:
        """Tokenizer and weights of the base (or saved) model, float32 on CPU."""
        if self.model is not None:
            return self
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from agent.llm.gguf import MODELS, resolve_model

        torch.set_num_threads(self.n_threads)
        path = Path(self.model_name).expanduser()
        kw: dict[str, Any] = {}
        if self.model_name in MODELS or path.suffix == ".gguf":
            gguf = resolve_model(self.model_name)
            path, kw = gguf.parent, {"gguf_file": gguf.name}
        elif not (path / "config.json").is_file():
            raise FileNotFoundError(f"{self.model_name} is neither a checkpoint directory with "
                                    f"config.json nor a .gguf file nor one of {sorted(MODELS)}")
        tok = AutoTokenizer.from_pretrained(path, **kw)
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self.tokenizer = tok
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kw)
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None and all(p.dtype == torch.float32 for p in model.parameters()):
            # GGUF weights arrive de-quantised to float32 yet flagged quantized, and Trainer
            # refuses to fine-tune a quantized model without adapters
            quantizer.remove_quantization_config(model)
        self.model = model.eval()
        return self

    def use(self, model: Any, tokenizer: Any) -> Self:
        """Take an already built model and tokenizer (tests build tiny random ones)."""
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model, self.tokenizer = model.eval(), tokenizer
        return self

    def _label_ids(self, n: int) -> list[int]:
        ids = []
        for c in LABELS[:n]:
            toks = self.tokenizer.encode(" " + c, add_special_tokens=False)
            ids.append(toks[-1] if len(toks) == 1 else toks[0])
        return ids

    def option_logprobs(self, prompt: str, n: int) -> np.ndarray:
        """(n,) log-probability of each option letter right after ``Choice:``."""
        import torch

        self.load()
        text = self.tokenizer.apply_chat_template(_chat(prompt), tokenize=False,
                                                  add_generation_prompt=True) + ANSWER_PREFIX
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            logits = self.model(**ids).logits[0, -1]  # (V,)
        logp = torch.log_softmax(logits.float(), dim=-1)[self._label_ids(n)]
        return logp.numpy().astype(np.float64)

    def scores(self, scene: Scene, options: Sequence[int]) -> np.ndarray:
        text, perm = render(self.world, scene, options, order=self.order, prior=self.prior,
                            facts=self.facts, history=self.history)
        shown = self.option_logprobs(text, len(options))
        out = np.empty_like(shown)
        out[perm] = shown  # back to the caller's order
        return out

    # ------------------------------------------------------------------ training

    def fit(self, world: World, scenes: Sequence[Scene],
            kept: Sequence[dict[str, Any]] = (), plain: int = 0,
            rival: Chooser | None = None, dpo_rows: int | None = None,
            prior_of: Callable[[Scene], Chooser] | None = None) -> Self:
        """SFT then DPO on ``kept`` teacher rows plus ``plain`` of ``scenes`` without one.

        ``rival`` names DPO's hard negatives (``plain_rows``); ``dpo_rows`` caps the DPO pairs
        (a pair costs about four SFT rows: two sequences, with a reference pass each), the
        kept teacher rows first. With a ``prior``, ``prior_of(scene)`` gives the train rows'
        fit ranks (``choice_model.out_of_fold``; default: the prior itself). Kept teacher rows
        carry the text they were taught with, so a prior simulator re-reads their scenes.
        """
        self.world = world
        used = {(r["user"], r["time"]) for r in kept if "user" in r}
        free = [s for s in scenes if (s.user, s.time) not in used]
        # a seeded draw across users: train scenes come grouped by user
        pick = np.random.default_rng(self.seed).permutation(len(free))[:plain]
        extra = [free[i] for i in sorted(pick)]
        prior_of = None if self.prior is None else (prior_of or (lambda _s: self.prior))
        # the teacher wrote its own text (its order, all five ranks): re-read in this one
        kept = self._reread(world, scenes, kept, prior_of)
        rows = list(kept) + plain_rows(world, extra, history=self.history, rival=rival,
                                       order=self.order, prior_of=prior_of, facts=self.facts)
        if not rows:
            raise ValueError("nothing to train on: pass kept teacher rows or plain > 0")
        pairs = rows if dpo_rows is None else rows[:dpo_rows]
        self.rows = {"kept": len(kept), "plain": len(extra), "dpo_pairs": len(pairs),
                     "rival": getattr(rival, "name", None)}
        self.train(rows, pairs)
        return self

    def _reread(self, world: World, scenes: Sequence[Scene], kept: Sequence[dict[str, Any]],
                prior_of: Callable[[Scene], Chooser] | None) -> list[dict[str, Any]]:
        """Kept teacher rows in this simulator's text: same options and rationale, the
        options in its order with their fit ranks; a row whose scene is not among
        ``scenes`` is dropped (logged)."""
        by_key = {(s.user, s.time): s for s in scenes}
        out = []
        for r in kept:
            s = by_key.get((r.get("user"), r.get("time")))
            if s is None:
                continue
            given = list(r["options"])
            text, perm = render(world, s, given, order=self.order,
                                prior=None if prior_of is None else prior_of(s),
                                facts=self.facts, history=self.history)
            new = {int(k): j for j, k in enumerate(perm)}  # caller's index -> reading place
            ans = new[int(r["answer"])]
            wrong = {LABELS[new[LABELS.index(lab)]]: why
                     for lab, why in (r.get("wrong_reasons") or {}).items()
                     if lab in LABELS[:len(given)]}
            votes = [None if c is None or c not in LABELS[:len(given)]
                     else LABELS[new[LABELS.index(c)]] for c in r.get("teacher_choices") or []]
            out.append({**r, "prompt": text, "answer": ans, "label": LABELS[ans],
                        "options": [given[k] for k in perm], "wrong_reasons": wrong,
                        "teacher_choices": votes})
        if len(out) < len(kept):
            log.warning("%d kept teacher rows have no train scene here; left out",
                        len(kept) - len(out))
        return out

    def _common(self, out: str, epochs: int, lr: float) -> dict[str, Any]:
        from recsys.models.base import show_progress

        return {"output_dir": out, "num_train_epochs": epochs, "learning_rate": lr,
                "per_device_train_batch_size": self.batch, "gradient_accumulation_steps": 1,
                "lr_scheduler_type": "constant_with_warmup", "warmup_steps": 2,
                "logging_steps": 5, "save_strategy": "no", "report_to": [], "use_cpu": True,
                "seed": self.seed, "max_length": self.max_length, "dataloader_num_workers": 0,
                "disable_tqdm": not show_progress(self.progress), "dataset_num_proc": None,
                # trl defaults to bf16 autocast and activation checkpointing: on a CPU without
                # bf16 matmul units that is many times slower than plain float32
                "gradient_checkpointing": False, "bf16": False, "fp16": False}

    def train(self, rows: Sequence[dict[str, Any]],
              pairs: Sequence[dict[str, Any]] | None = None) -> Self:
        """SFT (``sft_epochs``) on ``rows`` then DPO (``dpo_epochs``) on ``pairs`` (default:
        the same rows); times each."""
        pairs = rows if pairs is None else pairs
        import torch
        from datasets import Dataset
        from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

        self.load()
        torch.manual_seed(self.seed)
        self._freeze()
        self.model.train()
        # Trainer prints its loss logs on stdout, where benchmarks print their JSON
        with tempfile.TemporaryDirectory(prefix="lm-sim-") as tmp, redirect_stdout(sys.stderr):
            if self.sft_epochs:
                t0 = time.perf_counter()
                log.info("SFT on %d rows", len(rows))
                SFTTrainer(model=self.model, processing_class=self.tokenizer,
                           args=SFTConfig(**self._common(tmp, self.sft_epochs, self.lr_sft)),
                           train_dataset=Dataset.from_list(sft_examples(rows))).train()
                self.train_s["sft"] = time.perf_counter() - t0
            if self.dpo_epochs:
                t0 = time.perf_counter()
                log.info("DPO on %d pairs", len(pairs))
                DPOTrainer(model=self.model, processing_class=self.tokenizer,
                           args=DPOConfig(**self._common(tmp, self.dpo_epochs, self.lr_dpo),
                                          beta=self.beta,
                                          # the reference is the SFT model as it is now: its
                                          # log-probs once, not a second model in memory
                                          precompute_ref_log_probs=True),
                           train_dataset=Dataset.from_list(dpo_pairs(pairs, seed=self.seed))
                           ).train()
                self.train_s["dpo"] = time.perf_counter() - t0
        self.model.eval()
        return self

    def _freeze(self) -> None:
        """Leave only the top ``train_layers`` decoder layers and the final norm trainable."""
        if self.train_layers is None:
            return
        inner = getattr(self.model, "model", None)
        layers = getattr(inner, "layers", None)
        if layers is None:
            raise ValueError(f"train_layers needs a decoder with .model.layers; "
                             f"{type(self.model).__name__} has none")
        for p in self.model.parameters():
            p.requires_grad_(False)
        keep = list(layers[len(layers) - self.train_layers:]) if self.train_layers else []
        for module in keep + [getattr(inner, "norm", None)]:
            if module is not None:
                for p in module.parameters():
                    p.requires_grad_(True)

    def save(self, folder: Path, extra: dict[str, Any] | None = None) -> Path:
        """A checkpoint directory (loads back with ``LMSimulator.from_checkpoint(folder)``,
        which restores its reading and prior, or the transformers chat backend) and
        ``card.json``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        if self.prior is not None:
            save_prior = getattr(self.prior, "save", None)
            if save_prior is None:
                raise TypeError(f"the prior {type(self.prior).__name__} cannot be saved")
            save_prior(folder / PRIOR_FILE)
        self.tokenizer.save_pretrained(folder)
        card = {"base_model": self.model_name, "rows": self.rows,
                "train_s": {k: round(v, 1) for k, v in self.train_s.items()},
                "sft_epochs": self.sft_epochs, "dpo_epochs": self.dpo_epochs,
                "lr_sft": self.lr_sft, "lr_dpo": self.lr_dpo, "beta": self.beta,
                "batch": self.batch, "history": self.history, "seed": self.seed,
                "train_layers": self.train_layers, "order": self.order,
                "facts": list(self.facts),
                "prior": None if self.prior is None else getattr(self.prior, "name", "?"),
                "scoring": f"log p(option letter | prompt + '{ANSWER_PREFIX}')",
                "date": datetime.now(UTC).isoformat(timespec="seconds"), **(extra or {})}
        (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        return folder
