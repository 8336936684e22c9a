"""Known datasets: where to get them (a mirror directory or the official address) and checksums.

Files are verified by sha256 whichever way they arrive, and land in the data dir atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from recsys.errors import ChecksumError, DatasetError, UnknownNameError
from recsys.settings import Settings


@dataclass(frozen=True)
class Dataset:
    """A dataset the project knows how to fetch."""

    name: str
    title: str
    files: dict[str, str]  # file name -> sha256
    mirror_path: str  # relative to TASTEBUD_MIRROR
    url: str | None = None  # official zip archive, if the dataset has one in this form
    zip_dir: str = ""  # folder inside the archive that holds the files
    terms: str = ""


DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset(
        name="movielens-small",
        title="MovieLens ml-latest-small (GroupLens)",
        files={
            "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
            "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
            "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
            "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
            "README.txt": "e165937702ae1fac9237b6bd377f03d027f7ef97175d4a04a203e8b12d5516ea",
        },
        mirror_path="movielens/ml-latest-small",
        url="https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
        zip_dir="ml-latest-small",
        terms="research use; cite Harper & Konstan 2015; do not redistribute",
    ),
    Dataset(
        name="lastfm-star",
        title="LastFM* (CPR/SCPR benchmark release, converted to JSON)",
        files={
            "item_fea.json": "60801a36a6e471b19c6c03d8a6b3764943541b1a54f753de95556411264c8e6d",
            "fea_large.json": "268aa39a846e9299f0fd872187d016142466bd94bcd1a12f79ac2398a1491397",
            "user_friends.json": "6c7ba1f9479a41de1f8b96864c0287a8b45ef08cc23170dbd5a16b39165de813",
            "user_like.json": "5a3844c42bc462fa32c3b83137de6d43a1611686490ce87f0c3c609d8c5dc14f",
            "review_dict_train.json":
                "cc16732100c522e553bd212ea8c692d0246e7563288c7eca12027c89db2fafed",
            "review_dict_valid.json":
                "fb114eb26dc7387eea480e34ae2a131269b2096978afa53b2195aa2f8d28fd0d",
            "review_dict_test.json":
                "bc0a4954b923886431b0fc1e09998bad70d58420c708c6f9f897dc99349d7a79",
        },
        mirror_path="lastfm/lastfm_star",
        # the authors publish Python pickles; this JSON conversion exists only as a mirror copy
        url=None,
        terms="non-commercial research; cite Last.fm, HetRec 2011 and CPR (KDD 2020)",
    ),
    Dataset(
        name="redial-train",
        title="ReDial training dialogues (Li et al. 2018; 2,270 recovered from public copies)",
        files={
            "train_partial.jsonl":
                "b797a6184a4892aac0b932239f3bf5db069ad53d31516d15a2762aebd84fdd8c",
        },
        mirror_path="redial",
        # ReDial's official zip holds the full training set in another layout; this recovered,
        # deduplicated subset (none of it in the test set) exists only as a mirror copy
        url=None,
        terms="CC BY 4.0 (ReDial, Li et al. NeurIPS 2018)",
    ),
]}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownNameError("dataset", name, list(DATASETS)) from None


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def is_fetched(ds: Dataset, settings: Settings) -> bool:
    """True when every file is in place (sizes only; ``fetch`` verifies hashes)."""
    target = settings.datasets_dir / ds.name
    return all((target / f).is_file() for f in ds.files)


def fetch(name: str | Dataset, settings: Settings, *, force: bool = False,
          progress: bool | None = None) -> Path:
    """Put a dataset in ``data_dir/datasets/NAME``: from the mirror, else the official URL."""
    ds = name if isinstance(name, Dataset) else get_dataset(name)
    target = settings.datasets_dir / ds.name
    if not force and _verified(ds, target):
        return target
    reasons: list[str] = []
    if settings.mirror:
        src = Path(settings.mirror) / ds.mirror_path
        if src.is_dir():
            _install(ds, target, lambda f: src / f, f"mirror {src}")
            return target
        reasons.append(f"the mirror has no {ds.mirror_path}/ (looked in {src})")
    else:
        reasons.append("no mirror is set (TASTEBUD_MIRROR)")
    if ds.url:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                archive = Path(tmp) / "archive.zip"
                _download(ds.url, archive, settings.download_timeout_s, progress)
                extracted = Path(tmp) / "x"
                _extract(archive, extracted, ds)
                _install(ds, target, lambda f: extracted / f, ds.url)
            return target
        except (urllib.error.URLError, OSError, zipfile.BadZipFile) as e:
            reasons.append(f"download from {ds.url} failed: {e}")
    else:
        reasons.append("it has no official download in this form")
    raise DatasetError(
        f"could not fetch dataset '{ds.name}': " + "; ".join(reasons) + ". "
        f"Set TASTEBUD_MIRROR to a directory that contains {ds.mirror_path}/ "
        f"({', '.join(ds.files)})" + (", or check the network" if ds.url else "") + ".")


def _verified(ds: Dataset, target: Path) -> bool:
    return all((target / f).is_file() and sha256_file(target / f) == h
               for f, h in ds.files.items())


def _install(ds: Dataset, target: Path, source_of, where: str) -> None:  # type: ignore[no-untyped-def]
    """Copy and verify every file into a temp dir, then swap it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{ds.name}-", dir=target.parent))
    try:
        for f, expected in ds.files.items():
            src = source_of(f)
            if not src.is_file():
                raise DatasetError(f"{where} lacks {f}, which dataset '{ds.name}' needs")
            shutil.copyfile(src, staging / f)
            got = sha256_file(staging / f)
            if got != expected:
                raise ChecksumError(
                    f"{f} from {where} has sha256 {got[:12]}..., expected {expected[:12]}...: "
                    "the copy is corrupt or a different version; replace it and fetch again")
        if target.exists():
            old = target.with_name(f".{ds.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download(url: str, dest: Path, timeout: float, progress: bool | None) -> None:
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}",
                  disable=progress is False or None) as bar:
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def _extract(archive: Path, dest: Path, ds: Dataset) -> None:
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        dest.mkdir(parents=True)
        for f in ds.files:
            member = f"{ds.zip_dir}/{f}" if ds.zip_dir else f
            if member not in names:
                raise DatasetError(f"archive {archive.name} lacks {member}")
            with zf.open(member) as src, (dest / f).open("wb") as out:
                shutil.copyfileobj(src, out)
