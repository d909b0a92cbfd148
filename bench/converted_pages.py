"""Does a converted page answer as well as the plain text? The BBC gold set, both ways, one run.

    nice -n 5 python bench/converted_pages.py               # test split (5 unseen articles)
    python bench/converted_pages.py --split dev --keep /tmp/pages   # and keep the pages

`qa-bot eval --gold eval/gold/bbc.jsonl` asks its questions of the BBC articles as plain
text. Here each of those articles is also saved as the web page a news site would serve:
a header with the site's menus and search, a cookie banner, share buttons, the byline and
date, the article, a "Related stories" and a "Most read" list (headlines of other BBC
articles of the data set, the kind of text a reader could mistake for the article's), and a
footer of links. The same gold cases then run against those pages, read by qa-bot's loader
(trafilatura), and the two summaries are printed side by side.

Both run in one process with the same reader model, so a retrained reader changes both
columns alike and the comparison holds. The goal: within 2 points of the plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from html import escape, unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa_bot.eval.gold import check_gold, load_gold  # noqa: E402
from qa_bot.eval.runner import EvalConfig, article_sources, run_config  # noqa: E402
from qa_bot.ingest.corpus import load_document  # noqa: E402

GOLD = ROOT / "eval" / "gold" / "bbc.jsonl"
FIGURES = (
    ("accuracy", "accuracy (all cases)"),
    ("accuracy_answerable", "answerable answered"),
    ("accuracy_unanswerable", "unanswerable abstained"),
    ("recall@5", "evidence recall@5"),
    ("citation_precision", "citation precision"),
)
SECTIONS = ("Home", "News", "Sport", "Business", "Politics", "Technology", "Entertainment")


def headline_and_paragraphs(path: Path) -> tuple[str, list[str]]:
    """A BBC data set article: the headline on the first line, then paragraphs."""
    lines = path.read_text(encoding="utf-8").split("\n")
    body = "\n".join(lines[1:])
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    return lines[0].strip(), paragraphs


def other_headlines(bbc_root: Path, topic: str, exclude: Path, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    files = sorted(p for p in (bbc_root / topic).glob("*.txt") if p != exclude)
    picked = rng.sample(files, count)
    return [p.read_bytes().decode("utf-8", errors="replace").split("\n", 1)[0] for p in picked]


def news_page(
    headline: str,
    paragraphs: list[str],
    related: list[str],
    most_read: list[str],
    topic: str,
    day: int,
) -> str:
    """The article inside the chrome a real news page has around it."""
    menu = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in SECTIONS)
    related_items = "".join(
        f'<li><a href="/news/{topic}-{n}">{escape(t)}</a></li>' for n, t in enumerate(related)
    )
    read_items = "".join(
        f'<li><span class="rank">{n}</span><a href="/news/top-{n}">{escape(t)}</a></li>'
        for n, t in enumerate(most_read, 1)
    )
    # The data set's text keeps a few character references of the BBC's pages as literal
    # text ("Jos&#233; Manuel Barroso"); on the page they are references again, shown "é".
    body = "".join(f"<p>{escape(p).replace('&amp;#', '&#')}</p>" for p in paragraphs)
    date = f"2005-02-{day:02d}"
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<title>{escape(headline)} - BBC News</title>
<meta property="og:site_name" content="BBC News">
<meta property="article:published_time" content="{date}T10:00:00Z">
<script>window.bbcpage = {{"section": "{topic}", "ads": true}};</script>
<style>.nav li {{ display: inline; }}</style>
</head><body>
<div id="cookie-banner"><p>We use cookies to give you the best online experience. Please let
us know if you agree to all of these cookies.</p><button>Yes, I agree</button>
<a href="/cookies">No, take me to settings</a></div>
<header><a href="/" class="logo">BBC</a><nav class="nav"><ul>{menu}</ul></nav>
<form action="/search"><input type="search" name="q" placeholder="Search BBC"></form>
<a href="/signin">Sign in</a></header>
<div class="section-nav"><a href="/news/{topic}">{topic.title()}</a></div>
<main><article>
<h1>{escape(headline)}</h1>
<div class="byline"><time datetime="{date}">{day} February 2005</time></div>
<ul class="share"><li><a href="#">Share on Facebook</a></li><li><a href="#">Share on
Twitter</a></li><li><a href="#">Email this story</a></li><li><a href="#">Print</a></li></ul>
{body}
</article>
<section class="related"><h2>Related stories</h2><ul>{related_items}</ul></section>
<section class="topics"><h2>Related Internet links</h2><ul>
<li><a href="http://example.org">The BBC is not responsible for the content of external
sites</a></li></ul></section>
</main>
<aside class="most-read"><h2>Most read</h2><ol>{read_items}</ol></aside>
<footer><ul><li><a href="/terms">Terms of Use</a></li><li><a href="/about">About the BBC</a></li>
<li><a href="/privacy">Privacy Policy</a></li><li><a href="/cookies">Cookies</a></li>
<li><a href="/accessibility">Accessibility Help</a></li><li><a href="/contact">Contact the
BBC</a></li></ul><p>Copyright 2005 BBC. The BBC is not responsible for the content of external
sites. Read about our approach to external linking.</p></footer>
</body></html>
"""


def build_pages(gold: Path, folder: Path) -> dict[str, Path]:
    """Every article of the gold set as an HTML page in `folder`, plus the gold and a
    sources file that point the eval at the pages."""
    sources = article_sources(gold) or {}
    bbc_root = next(iter(sources.values())).parent.parent
    pages = {}
    for number, (doc_id, path) in enumerate(sorted(sources.items())):
        topic = path.parent.name
        headline, paragraphs = headline_and_paragraphs(path)
        related = other_headlines(bbc_root, topic, path, 5, seed=number)
        most_read = other_headlines(
            bbc_root, "business" if topic != "business" else "tech", path, 6, seed=100 + number
        )
        page = folder / f"{doc_id}.html"
        page.write_text(
            news_page(headline, paragraphs, related, most_read, topic, number + 1), encoding="utf-8"
        )
        pages[doc_id] = page
    # The gold's evidence and answers quote that text; on the pages it reads "José".
    lines = gold.read_text(encoding="utf-8").splitlines()
    (folder / gold.name).write_text(
        "\n".join(_unescaped_case(line) for line in lines) + "\n", encoding="utf-8"
    )
    manifest = {"root": ".", "articles": {doc_id: p.name for doc_id, p in pages.items()}}
    (folder / f"{gold.stem}.sources.json").write_text(json.dumps(manifest), encoding="utf-8")
    return pages


def _unescaped_case(line: str) -> str:
    if "&#" not in line:
        return line
    case = json.loads(line)
    for key in ("evidence", "reference", "question"):
        value = case[key]
        case[key] = [unescape(v) for v in value] if isinstance(value, list) else unescape(value)
    case["key_facts"] = [[unescape(a) for a in fact] for fact in case["key_facts"]]
    return json.dumps(case, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--keep", type=Path, help="write the pages here and keep them")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qa-bot-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        pages = build_pages(args.gold, folder)
        cases = load_gold(args.gold, split=args.split)
        texts = {doc_id: load_document(p).text for doc_id, p in pages.items()}
        html_cases = load_gold(folder / args.gold.name, split=args.split)
        missing = check_gold([c for c in html_cases if c.doc_id in texts], texts)
        print(
            f"{len(pages)} pages built; {len(missing)} evidence item(s) of the {args.split} "
            "cases not found in the text read from them"
        )
        for problem in missing[:10]:
            print(f"  {problem}")
        if missing:
            print("The HTML run cannot be scored against evidence the loader lost.")
            return 1
        results = {}
        for name, gold in (("plain text", args.gold), ("HTML pages", folder / args.gold.name)):
            config = EvalConfig(gold=str(gold), corpus=str(folder), split=args.split)
            print(f"running {len(cases)} {args.split} cases on the {name}…", flush=True)
            results[name] = run_config(config).summary()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    plain, html = results["plain text"], results["HTML pages"]
    print(f"\nBBC gold, {args.split} split ({len(cases)} cases), same reader, same run\n")
    print("| figure | plain text | HTML pages | difference (points) |")
    print("|---|---:|---:|---:|")
    worst = 0.0
    for key, label in FIGURES:
        a, b = plain.get(key), html.get(key)
        if a is None or b is None:
            continue
        diff = 100 * (b - a)
        if key.startswith("accuracy"):
            worst = min(worst, diff)
        print(f"| {label} | {100 * a:.1f} % | {100 * b:.1f} % | {diff:+.1f} |")
    verdict = "met" if worst >= -2.0 else "MISSED"
    print(f"\nGoal (the pages answer within 2 points of the plain text): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
