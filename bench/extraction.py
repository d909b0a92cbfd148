"""How well qa-bot reads a web page: the article-extraction benchmark, through `load_document`.

    nice -n 5 python bench/extraction.py            # all 181 pages, both extractors
    python bench/extraction.py --show-worst 5       # also the pages each one reads worst

The Scrapinghub/Zyte article-extraction benchmark (../shared/data/article-extraction/:
181 real news and blog pages as saved by a browser, each with the article body a person
marked) is a public yardstick nobody here wrote. Its metric, reimplemented from its
`evaluate.py`: split both texts into `\\w+` tokens, count 4-token shingles as multisets,
take each page's precision and recall from the matched counts, average each over the pages
(precision over pages with any output, recall over pages with any truth: the benchmark's
own rule), and F1 from the two averages.

Each page is written to a temporary `.html` file and read by `qa_bot.ingest.corpus.
load_document`, exactly as a saved page in a corpus folder or an upload is. The baseline,
in the same run, is the hand-written `html.parser` walker qa-bot used before trafilatura
(`HandWrittenParser` below: a copy kept only here, since the product no longer has it),
reading the same files with the old loader's UTF-8 decoding. A page that fails to load
scores 0 recall, and its error message is printed. Pages/s is the load time alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from qa_bot.errors import CorpusError  # noqa: E402
from qa_bot.ingest.corpus import load_document  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "article-extraction"
_TOKEN = re.compile(r"\w+")
# Published on the same 181 pages (the benchmark's README), for reference.
PUBLISHED = {
    "trafilatura 2.0 (published)": (0.958, 0.938, 0.978),
    "readability-lxml (published)": (0.922, 0.913, 0.931),
    "whole-page text, html-text (published)": (0.665, 0.500, 0.994),
}


# --- the benchmark's metric ---------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def tp_fp_fn(truth: str, prediction: str) -> tuple[float, float, float]:
    """Matched, extra and missed shingles of one page, normalised to sum to 1."""
    true, pred = shingles(truth), shingles(prediction)
    true.pop((), None)
    pred.pop((), None)
    keys = true.keys() | pred.keys()
    tp = sum(min(true[k], pred[k]) for k in keys)
    fp = sum(max(0, pred[k] - true[k]) for k in keys)
    fn = sum(max(0, true[k] - pred[k]) for k in keys)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def scores(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall) as the benchmark's evaluate.py computes them."""
    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return 2 * p * r / (p + r), p, r


# --- the baseline: qa-bot's hand-written HTML reader before trafilatura --------------

_SKIPPED_TAGS = {"script", "style", "noscript", "template", "nav", "header", "footer"}
_SKIPPED_TAGS |= {"aside", "form", "svg"}
_BLOCK_TAGS = set("p div section article main h1 h2 h3 h4 h5 h6 li ul ol".split())
_BLOCK_TAGS |= set("blockquote pre table tr br hr figcaption dd dt".split())


class HandWrittenParser(HTMLParser):
    """A copy of the removed `qa_bot.ingest.corpus._TextExtractor`, text part only (the
    `<title>` is read aside and never joins the text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.skip_depth and not self.in_title:
            self.current.append(data)

    def flush(self) -> None:
        block = re.sub(r"\s+", " ", "".join(self.current)).strip()
        if block:
            self.blocks.append(block)
        self.current = []


def hand_written(path: Path) -> str:
    """The old loader: strict UTF-8 (BOM allowed), NUL check, then the parser."""
    raw = path.read_bytes()
    if b"\0" in raw[:8192]:
        raise CorpusError(f"'{path.name}' looks binary, not text.")
    try:
        html = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"'{path.name}' is not valid UTF-8 (byte {exc.start}).") from exc
    parser = HandWrittenParser()
    parser.feed(html)
    parser.close()
    parser.flush()
    text = "\n\n".join(parser.blocks)
    if not text.strip():
        raise CorpusError(f"'{path.name}' has no text.")
    return text


def qa_bot_loader(path: Path) -> str:
    return load_document(path).text


# --- the run ------------------------------------------------------------------------


def run(
    name: str, read: Callable[[Path], str], pages: dict[str, Path], truth: dict[str, str]
) -> dict:
    counts, failures, per_page = [], [], {}
    seconds = 0.0
    for key, path in pages.items():
        started = time.perf_counter()
        try:
            text = read(path)
        except CorpusError as exc:
            text = ""
            failures.append((key, str(exc)))
        seconds += time.perf_counter() - started
        counts.append(tp_fp_fn(truth[key], text))
        per_page[key] = counts[-1]
    f1, p, r = scores(counts)
    return {
        "name": name,
        "f1": f1,
        "precision": p,
        "recall": r,
        "failures": failures,
        "pages_per_s": len(pages) / seconds,
        "per_page": per_page,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the benchmark's folder")
    parser.add_argument("--show-worst", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    if not (args.data / "ground-truth.json").is_file():
        print(f"The benchmark is not at '{args.data}' (see ../shared/data/README.md).")
        return 1
    truth = {
        key: item.get("articleBody", "")
        for key, item in json.loads((args.data / "ground-truth.json").read_text()).items()
    }
    with tempfile.TemporaryDirectory(prefix="qa-bot-extraction-") as folder:
        pages = {}
        for key in sorted(truth):
            path = Path(folder) / f"{key[:16]}.html"
            path.write_bytes(gzip.decompress((args.data / "html" / f"{key}.html.gz").read_bytes()))
            pages[key] = path
        results = [
            run("hand-written html.parser (before)", hand_written, pages, truth),
            run("qa-bot load_document (trafilatura)", qa_bot_loader, pages, truth),
        ]
    print(f"article-extraction benchmark: {len(truth)} pages, 4-token shingles\n")
    print("| extractor | F1 | precision | recall | failed to load | pages/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result['name']} | {result['f1']:.3f} | {result['precision']:.3f} | "
            f"{result['recall']:.3f} | {len(result['failures'])} / {len(truth)} | "
            f"{result['pages_per_s']:.1f} |"
        )
    for name, (f1, p, r) in PUBLISHED.items():
        print(f"| {name} | {f1:.3f} | {p:.3f} | {r:.3f} | | |")
    before, after = results
    print(
        f"\nF1 {after['f1'] / before['f1']:.2f}x and precision "
        f"{after['precision'] / before['precision']:.2f}x the hand-written parser's; "
        f"speed {after['pages_per_s'] / before['pages_per_s']:.2f}x."
    )
    for result in results:
        for key, message in result["failures"]:
            print(f"{result['name']}: page {key[:16]} failed: {message}")
        if args.show_worst:
            worst = sorted(result["per_page"].items(), key=lambda kv: precision(*kv[1]))
            for key, counts in worst[: args.show_worst]:
                print(
                    f"{result['name']}: {key[:16]} precision {precision(*counts):.2f} "
                    f"recall {recall(*counts):.2f}"
                )
    goal = after["f1"] >= 0.95 and after["precision"] >= 0.93 and not after["failures"]
    print(f"\nGoal (F1 >= 0.95, precision >= 0.93, no page fails): {'met' if goal else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
