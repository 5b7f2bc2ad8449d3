"""What counts as citing the project's internal notes instead of a published source (issue 19 point 8).

Cards, recipes, docstrings, comments, error messages, docs and notebooks cite papers (section, table,
figure), theses, public talks and released code; never the paper digests, the seed documents and their
numbering, the reference notes, or the project's issues and notes. `INTERNAL` is the pattern;
`internal_mentions` applies it to prose (a module's comments and strings, a Markdown file, a notebook's
cell sources) and spares the ordinary English and code uses of its words: a hash "digest", a random
"seed", an ONNX Runtime "session", `load_external_data`, a GitHub issue URL.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

INTERNAL = re.compile(r"\bdigests?\b|shared/|closing note|\bissues? #?\d+|\bseed \d{3}\b|\bthe [\w ]+ seed\b|"
                      r"EXTERNAL|\bverify\)|internal note|_talks\.md|\bsession\b|\bthe lead\b|§B\.\d|"
                      r"reference_code\b|\bseeds/|\bseed's talk\b", re.I)

# The word before "seed" in "the ... seed" when the seed is a random seed ("drawn with the train seed",
# "the outcomes that held on every seed"), not a seed document ("the Grid LSTM seed").
_RANDOM_SEED = re.compile(r"\b(?:every|each|one|per|train|data|same|random|first|given|global|fixed|base|"
                          r"its|this|that|a|any|another)\s+seed$", re.I)
_HASH_WORDS = re.compile(r"hash|\bsha\d*\b|\bmd5\b|\bhex\b|checksum", re.I)
_URL = re.compile(r"https?://\S+")


def _legitimate(match: re.Match, line: str) -> bool:
    """True where the matched word is used in its ordinary sense on this line."""
    word, start, end = match.group(0), match.start(), match.end()
    low = word.lower()
    if any(u.start() <= start and end <= u.end() for u in _URL.finditer(line)):
        return True  # e.g. https://github.com/owner/repo/issues/12
    if low in ("digest", "digests"):
        return bool(_HASH_WORDS.search(line))  # a cryptographic digest: "the sha1 hex digest"
    if low == "session":
        return bool(re.search(r"inference session|onnx ?runtime", line, re.I))
    if low == "external":
        inside_word = (start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_.")) or \
                      (end < len(line) and (line[end].isalnum() or line[end] in "_"))
        tagged = word.isupper() or (start > 0 and line[start - 1] in "[(")
        return inside_word or not tagged  # `load_external_data`, "sklearn.externals"; not "(EXTERNAL" or "[external"
    if low.startswith("the ") and low.endswith(" seed"):
        return bool(_RANDOM_SEED.search(word))
    if low.startswith("seed "):
        return not low[5:].startswith("0")  # a random seed ("seed 123"), not the seed documents "seed 001".."seed 004"
    return False


def mentions_in_text(text: str, first_line: int = 1) -> list[tuple[int, str]]:
    """(line number, matched text) of every internal-note mention in `text`."""
    return [(first_line + i, m.group(0)) for i, line in enumerate(text.split("\n"))
            for m in INTERNAL.finditer(line) if not _legitimate(m, line)]


def _python_prose(source: str):
    """(first line, text) of every comment and string literal (docstrings, messages) of a module:
    identifiers such as `session` or `digest` are code, not citations."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            yield tok.start[0], tok.string


def _notebook_sources(path: Path):
    """(cell label, first line, text) of every cell's source; outputs are left out."""
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        yield f"cell {i}", 1, "".join(cell.get("source", ""))


def internal_mentions(path: Path, root: Path) -> list[str]:
    """"file:line: 'text'" for every internal-note mention in a .py, .md, .toml or .ipynb file."""
    rel = path.relative_to(root).as_posix()
    if path.suffix == ".ipynb":
        return [f"{rel} ({label}):{n}: {word!r}" for label, first, text in _notebook_sources(path)
                for n, word in mentions_in_text(text, first)]
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        chunks = list(_python_prose(source))
    elif path.suffix == ".toml":  # the comments of a recipe (its fields are checked through `zoo recipes`)
        chunks = [(n, line) for n, line in enumerate(source.split("\n"), 1) if line.lstrip().startswith("#")]
    else:
        chunks = [(1, source)]
    return [f"{rel}:{n}: {word!r}" for first, text in chunks for n, word in mentions_in_text(text, first)]
