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
    package: str | None = None  # an installed Python package that ships the files
    package_dir: str = ""  # folder inside the package


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
    Dataset(
        name="movielens-100k",
        title="MovieLens 100K (GroupLens, 1998)",
        files={
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
            "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
            "README": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
        },
        mirror_path="movielens/ml-100k",
        url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        zip_dir="ml-100k",
        terms="research use; cite Harper & Konstan 2015; do not redistribute",
    ),
    Dataset(
        name="lastfm-2k",
        title="HetRec 2011 Last.fm 2K (artists, play counts, tags, friends)",
        files={
            "artists.dat": "c173881362c6b28551368fecb3c0be5a6a30a6cd859e1f5775413dfe46d48648",
            "tags.dat": "e95175f259be4c0c47644ae23d66131cd6d5767142a1405000e79f5584691d70",
            "user_artists.dat":
                "001400dc3c7d2667fca6e4ea6dc6acc31a9dd28ad5cd0f74cea988c019934d3b",
            "user_friends.dat":
                "9a3a8f7fa5f5ec832335e5b58ed69a4cf27c6f6f6afcde62134810eea46445a7",
            "user_taggedartists.dat":
                "d31fe938fcfeed6f0059f37a36b156f63674d073fc2553e5cc9dc1595e365bc7",
        },
        mirror_path="lastfm/hetrec2011-lastfm-2k",
        url="https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
        terms="non-commercial research; cite Last.fm and HetRec 2011 (Cantador et al.)",
    ),
    Dataset(
        name="tmdb-10k",
        title="TMDb 10k movies: overview, cast, director, keywords, runtime (by IMDb id)",
        files={"tmdb-movies.csv":
               "c148ca17c3c2fe117048c7f6565374496f831ccdbddd91c5f8214a533679650f"},
        mirror_path="movies-extra/tmdb10k",
        # a community export of TMDb's API (Kaggle), not a TMDb download: mirror copy only
        url=None,
        terms="TMDb terms: attribution (\"This product uses the TMDb API but is not endorsed "
              "or certified by TMDb\"), non-commercial",
    ),
    Dataset(
        name="tmdb-keywords",
        title="TMDb keywords of 46k films (The Movies Dataset), by TMDb id",
        files={"keywords.csv": "428ef94a80255986ad71fd347855702e772ee776841f1e8923a618aa2d87a668"},
        mirror_path="movies-extra/tmdb-keywords",
        url=None,
        terms="TMDb terms: attribution, non-commercial",
    ),
    Dataset(
        name="cfcrs-movies",
        title="CFCRS id2info: ReDial films with IMDb id, plot, director, writer, stars",
        files={"id2info.json": "ae63702c566789ec81e003890f801707f4fe0ff76c7ffb0532b5615d14c32709"},
        mirror_path="movies-extra/cfcrs",
        url=None,
        terms="MIT (CFCRS code release), built on ReDial (CC BY 4.0)",
    ),
    Dataset(
        name="movietweetings-100k",
        title="MovieTweetings 100K snapshot (2013): ratings 0-10 by IMDb id, from tweets",
        files={"ratings.dat": "c0dd868c2632d10002ebc928ddc5345f33adeaa59eca52c2941c26a2c5e36fd6",
               "movies.dat": "e63fb84bc734e3c574f135634a40d3cbafab22b8f94f5fc0b80f80d1d2076efc"},
        mirror_path="movies-extra/movietweetings-100k",
        url=None,
        terms="research use; cite Dooms, De Pessemier and Martens, CrowdRec 2013",
    ),
    Dataset(
        name="movielens-genome-tags",
        title="MovieLens 25M movies with their top-5 tag-genome tags",
        files={"movies_w_keywords.csv":
               "fc647a3904a3d702685dd69226330ab1f406c95c97d46c1696581eb632b5cc2a"},
        mirror_path="movies-extra/genome-top-tags",
        url=None,
        terms="MovieLens terms: research use; cite Harper & Konstan 2015",
    ),
    Dataset(
        name="bokeh-movies",
        title="Films from Wikidata/OMDb as shipped by bokeh-sampledata: MPAA rating, runtime, "
              "director, cast, language",
        files={"movies.db": "1d9c6a02e488d0354b2309e16130c58820a91ac2ce417e814c5964f9579a65ac"},
        mirror_path="bokeh-sampledata",
        package="bokeh_sampledata",
        package_dir="_data",
        terms="CC0 (bokeh-sampledata 2026.1, built from Wikidata)",
    ),
    Dataset(
        name="wikipedia-movies",
        title="American films by decade from Wikipedia: title, year, cast, genres, intro "
              "paragraph (no IMDb id: joined by title and year)",
        files={
            "movies-1900s.json":
                "5a42dfc3ff83ab30e3982f93f1164114b41e99e73c632c2321a87772959793e5",
            "movies-1910s.json":
                "4672fe20aeddfe1c52464efc804ee3091f9e4b5fd385401ff0ce48cf8d367573",
            "movies-1920s.json":
                "cb892518d2ffda4f2f11a0bd56f28b102fd0d47e5ae1ba2b2e4cb4e964f8127a",
            "movies-1930s.json":
                "b2ffc5608cbeff231408433ad43f873d422b914bebdf408ebe18427c09a9dcb2",
            "movies-1940s.json":
                "b4d96fc8b7c36f406e489b6fc017de03dd6a10f4c89a84d2a2a46af74e8b49a3",
            "movies-1950s.json":
                "8f566bfec734e93f19f688598e82239556401bde63c226510d71190b30855298",
            "movies-1960s.json":
                "a2450179f0744c07960a7840b9a86b5e0d733f7c0136a4ebcb804a63de9dc0a1",
            "movies-1970s.json":
                "f9abef01840fc70afd148906c7985fa5548ab1f473520dfa6623a3a397bc4ce3",
            "movies-1980s.json":
                "21d0f3c203f77169bb6508225aad4740816a3d7efd9e3bac82e3b812d0569672",
            "movies-1990s.json":
                "facf24e3297937022285d064cc069e8bbe02581c3248a87f0b377c045b4fb61d",
            "movies-2000s.json":
                "66140e41fe6c79cbb325b6566f156e27fe032a42175f224dfff1b71aa9630207",
            "movies-2010s.json":
                "e218edfdd8453cdd938fcb8b07b6b177474b3b18361e3422fdd6480d7e3bf9f9",
            "movies-2020s.json":
                "505f0f56ecdca7a2643fb3a811399b885f837e2cbfa9ee95a24b9018073e3eb3",
        },
        mirror_path="movies-extra/wikipedia-movie-data",
        # prust/wikipedia-movie-data on GitHub keeps changing; this snapshot is a mirror copy
        url=None,
        terms="text CC BY-SA (Wikipedia contributors; attribute and share alike), code MIT "
              "(prust/wikipedia-movie-data)",
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
    if ds.package:
        src = _package_dir(ds)
        if src is not None:
            _install(ds, target, lambda f: src / f, f"package {ds.package}")
            return target
        reasons.append(f"the Python package {ds.package} is not installed "
                       f"(pip install {ds.package.replace('_', '-')})")
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


def _package_dir(ds: Dataset) -> Path | None:
    import importlib.util

    found = importlib.util.find_spec(ds.package or "")
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / ds.package_dir


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
