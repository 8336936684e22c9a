"""Write tiny catalog files and specs for importer tests."""

from __future__ import annotations

from pathlib import Path

MOVIES = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,Jumanji (1995),Adventure|Children|Fantasy
3,"Heat, The Remake (1995)",Action|Crime|Thriller
4,Alien (1979),Horror|Sci-Fi
5,Untitled Project,(no genres listed)
"""
RATINGS = """userId,movieId,rating,timestamp
1,1,4.0,964982703
1,4,5.0,964981247
2,2,3.5,964982224
2,3,4.0,964983815
3,4,2.0,964982931
"""
TAGS = """userId,movieId,tag,timestamp
2,4,Space,1445714994
3,4,space,1445714996
3,1,pixar,1445714996
"""
SPEC = """
name = "{name}"
title = "Tiny movies"
root = "."

[items]
file = "movies.csv"
id = "movieId"
title = "title"
year = {{ column = "title", pattern = '\\((\\d{{4}})\\)\\s*$' }}

[items.attributes.genre]
column = "genres"
split = "|"
ignore = ["(no genres listed)"]

[aliases.genre]
"Sci-Fi" = ["sci fi", "science fiction"]

[[attributes]]
field = "tag"
file = "tags.csv"
item = "movieId"
value = "tag"
lowercase = true

[[interactions]]
file = "ratings.csv"
user = "userId"
item = "movieId"
rating = "rating"
timestamp = "timestamp"
"""


def write_tiny(root: Path, name: str = "tiny", *, ratings: str = RATINGS) -> Path:
    """A 5-movie, 3-user catalog in MovieLens format; returns the spec path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "movies.csv").write_text(MOVIES)
    (root / "ratings.csv").write_text(ratings)
    (root / "tags.csv").write_text(TAGS)
    spec = root / f"{name}.toml"
    spec.write_text(SPEC.format(name=name))
    return spec
