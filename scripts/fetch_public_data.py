"""Fetch the public data sets that training, the BBC eval gate and a few tests use.

    python scripts/fetch_public_data.py [--dest DIR] [--only squad,selqa,bbc-news,...]

They are never shipped in this repository (their licences and sizes say so): this team
keeps copies in ``../shared/data`` beside the checkout, and the tests look there (or in
``QA_BOT_PUBLIC_DATA``). For anyone else, this script downloads them from their public
homes into ``--dest`` (default ``../shared/data``, the place the tests look): about 70 MB
on disk (the downloads are of the same order; WikiQA and WordNet come as larger archives).
It needs internet access; qa-bot itself never
does. Files that are byte copies of a release are checked against the sha256 of the copies
the project was measured on; derived files are checked by their counts.

| folder | from |
|---|---|
| squad/ | SQuAD v1.1 train and SQuAD 2.0 dev (the official release), CC BY-SA 4.0 |
| squad/train-v2.0-unanswerable.json | UnAnsQ's pairs (haichao592/UnAnsQ) joined with them |
| selqa/ | emorynlp/selqa (answer sentence selection), Apache-2.0 |
| bbc-news/ | the BBC News data set of D. Greene and P. Cunningham (mlg.ucd.ie), research use |
| ace-whqa/ | CogComp/IDK-beyond-SQuAD2.0, CC BY-SA 3.0 |
| wikiqa/ | the WikiQA release (Microsoft Research data licence) |
| squadshifts/ | the SQuADShifts New-Wiki set, CC BY 4.0 |
| wordnet/ | antonyms extracted from Open English WordNet 2024, CC BY 4.0 |
| article-extraction/ | scrapinghub/article-extraction-benchmark at commit 4a3bc97, MIT |

Not run in CI (CI has the copies); each fetcher is small so that it can be read and checked.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
import tarfile
import time
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT.parent / "shared" / "data"

SQUAD = "https://rajpurkar.github.io/SQuAD-explorer/dataset"
GITHUB_RAW = "https://raw.githubusercontent.com"
SELQA = f"{GITHUB_RAW}/emorynlp/selqa/master/ass"
UNANSQ = f"{GITHUB_RAW}/haichao592/UnAnsQ/master/QG"
ACE = f"{GITHUB_RAW}/CogComp/IDK-beyond-SQuAD2.0/master/DATA/ACE-whQA"
BBC = "http://mlg.ucd.ie/files/datasets/bbc-fulltext.zip"
WIKIQA = (
    "https://download.microsoft.com/download/E/5/F/E5FCFCEE-7005-4814-853D-DAA7C66507E0/"
    "WikiQACorpus.zip"
)
SQUADSHIFTS = f"{GITHUB_RAW}/modestyachts/squadshifts-website/master/datasets/new_wiki_v1.0.json"
OEWN = (
    "https://github.com/globalwordnet/english-wordnet/releases/download/2024-edition/"
    "english-wordnet-2024.xml.gz"
)
EXTRACTION_COMMIT = "4a3bc979f76c0df73cb95fe272e2fc1b96f9f010"
EXTRACTION = f"https://github.com/scrapinghub/article-extraction-benchmark/archive/{EXTRACTION_COMMIT}.tar.gz"

# sha256 of the byte copies the project's figures were measured on.
SHA256 = {
    "selqa/selqa-ass-dev.tsv": "0f0d73b379bb4efc6e678e36b122ea17c957998a1d002e3c480b3bc7854f77a9",
    "selqa/selqa-ass-test.tsv": "4129ffa31237eb7f673baf6313bdd7d01658000c253b45e195d235493a435b91",
    "selqa/selqa-ass-dev.json": "b4e6687e44a30b486e24d2b06aa3012ec07d61145f3521f35b7d49daae3e0ca4",
    "selqa/selqa-ass-test.json": "ca1184d94cc9030883723fab76ef8180b3cf5fb142549a5648d22f59fe7c6fc6",
    "ace-whqa/ACE-whQA-IDK-competitive.json": (
        "2f02ac0b25d07bf4c55465ecff308b6fdae31284d8d341b1fd3e2b114b381a62"
    ),
    "ace-whqa/ACE-whQA-IDK-non-competitive.json": (
        "9393be76b1239bfbb75ea7253ecdc6530986100f1020883e2122dd975a08a6da"
    ),
    "ace-whqa/ACE-whQA-has-answer.json": (
        "083020e7217bd31f9ea85004a7bc30d7fb40726d9c412ba5861948156ee1c4f5"
    ),
    "wikiqa/WikiQA-test.tsv": "c035f0db5685dcfe1b2f256ff204528752a1e06f6d1bcae9a1aefac05079b24c",
    "squadshifts/new_wiki_v1.0.json": (
        "1d50a0ca4cdab88d038b52ea8a2d0510af6038d7f41a0a256b9659237769d0ee"
    ),
    "article-extraction/ground-truth.json": (
        "512e9a9498912047a966e22f47302e849dfa45dca1f555d97588317dac7e5a3d"
    ),
}


def download(url: str) -> bytes:
    """The body at `url`, saying what it fetches and how long it took."""
    print(f"  fetching {url} …", end="", flush=True)
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"User-Agent": "qa-bot-fetch/1"})
    with urllib.request.urlopen(request, timeout=300) as response:
        body = response.read()
    print(f" {len(body) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s", flush=True)
    return body


def save(dest: Path, relative: str, data: bytes) -> None:
    expected = SHA256.get(relative)
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise SystemExit(
            f"{relative}: the download differs from the copy qa-bot was measured on "
            f"(sha256 {hashlib.sha256(data).hexdigest()}, expected {expected}). "
            "The source may have changed; figures measured on it may differ."
        )
    target = dest / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def squad(dest: Path) -> None:
    train = download(f"{SQUAD}/train-v1.1.json")
    dev = download(f"{SQUAD}/dev-v2.0.json")
    for name, data, count in (("train-v1.1.json", train, 87_599), ("dev-v2.0.json", dev, 11_873)):
        questions = sum(len(p["qas"]) for a in json.loads(data)["data"] for p in a["paragraphs"])
        if questions != count:
            raise SystemExit(f"squad/{name}: {questions:,} questions, expected {count:,}.")
        save(dest, f"squad/{name}", data)
    save(dest, "squad/train-v2.0-unanswerable.json", unanswerable(json.loads(train)))


def _key(question: str) -> str:
    """A question as UnAnsQ's tokenised, lower-cased text and SQuAD's raw text both reduce
    to: lower case, PTB quotes as plain ones, no spaces."""
    question = question.replace("``", '"').replace("''", '"').casefold()
    return re.sub(r"\s+", "", question)


def _detokenise(text: str) -> str:
    return re.sub(r" (?=[?.,;:!'%)])|(?<=[(]) | (?=n't)", "", text)


def unanswerable(train: dict) -> bytes:
    """UnAnsQ's train pairs (answerable question, unanswerable rewrite) joined with SQuAD
    v1.1 train by the answerable question's text: each unanswerable question, in the
    answerable one's paragraph, with that question's answer as its "plausible answer"
    (the official SQuAD 2.0 layout, every question `is_impossible`)."""
    answerable = download(f"{UNANSQ}/train-answerable-questions.txt").decode("utf-8")
    generated = download(f"{UNANSQ}/train-unanswerable-questions.txt").decode("utf-8")
    where: dict[str, list[tuple[int, int, dict]]] = {}
    for a, article in enumerate(train["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                where.setdefault(_key(qa["question"]), []).append((a, p, qa))
    out: dict[tuple[int, int], list[dict]] = {}
    for pivot, rewrite in zip(answerable.splitlines(), generated.splitlines(), strict=True):
        found = where.get(_key(pivot.split("\t")[1]), [])
        if len(found) != 1:
            continue  # matched no SQuAD question, or several: left out
        a, p, qa = found[0]
        qid, text = rewrite.split("\t")[:2]
        out.setdefault((a, p), []).append(
            {
                "id": qid,
                "question": _detokenise(text),
                "answers": [],
                "is_impossible": True,
                "plausible_answers": qa["answers"][:1],
                "pivot_question_id": qa["id"],
            }
        )
    data = []
    for a, article in enumerate(train["data"]):
        paragraphs = [
            {"context": paragraph["context"], "qas": out[(a, p)]}
            for p, paragraph in enumerate(article["paragraphs"])
            if (a, p) in out
        ]
        if paragraphs:
            data.append({"title": article["title"], "paragraphs": paragraphs})
    count = sum(len(qas) for qas in out.values())
    print(f"  {count:,} unanswerable questions joined (the project's copy: 15,566)")
    return json.dumps({"version": "v2.0-train-unanswerable-from-UnAnsQ", "data": data}).encode()


def download_first(*urls: str) -> bytes:
    """The first of `urls` that answers (a file renamed in its repository's history)."""
    for url in urls[:-1]:
        try:
            return download(url)
        except OSError as exc:
            print(f" not there ({exc})", flush=True)
    return download(urls[-1])


def selqa(dest: Path) -> None:
    for split in ("dev", "test"):
        name = f"selqa-ass-{split}"
        tsv = download_first(f"{SELQA}/{name}.tsv", f"{SELQA}/{name}.txt")
        save(dest, f"selqa/{name}.tsv", tsv)
        save(dest, f"selqa/{name}.json", download(f"{SELQA}/{name}.json"))
    save(dest, "selqa/README.md", download(f"{SELQA}/README.md"))


def bbc(dest: Path) -> None:
    """The 2,225 articles as bbc-news/<topic>/<nnn>.txt (the project's copy dropped 17)."""
    with zipfile.ZipFile(io.BytesIO(download(BBC))) as archive:
        for name in archive.namelist():
            parts = Path(name).parts  # bbc/<topic>/<nnn>.txt, bbc/README.TXT
            if name.endswith("/") or len(parts) < 2:
                continue
            save(dest, "bbc-news/" + "/".join(parts[1:]), archive.read(name))


def ace_whqa(dest: Path) -> None:
    for kind in ("has-answer", "IDK-competitive", "IDK-non-competitive"):
        name = f"ACE-whQA-{kind}.json"
        save(dest, f"ace-whqa/{name}", download(f"{ACE}/{name}"))


def wikiqa(dest: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(download(WIKIQA))) as archive:
        save(dest, "wikiqa/WikiQA-test.tsv", archive.read("WikiQACorpus/WikiQA-test.tsv"))


def squadshifts(dest: Path) -> None:
    save(dest, "squadshifts/new_wiki_v1.0.json", download(SQUADSHIFTS))


def wordnet(dest: Path) -> None:
    """Every antonym relation between two senses of Open English WordNet 2024, as
    (word, antonym, part of speech), sorted, one pair a line."""
    root = ET.fromstring(gzip.decompress(download(OEWN)))
    senses: dict[str, tuple[str, str]] = {}
    relations: list[tuple[str, str]] = []
    for entry in root.iter("LexicalEntry"):
        lemma = entry.find("Lemma")
        if lemma is None:
            continue
        for sense in entry.iter("Sense"):
            word = (lemma.get("writtenForm", ""), lemma.get("partOfSpeech", ""))
            senses[sense.get("id", "")] = word
            for relation in sense.iter("SenseRelation"):
                if relation.get("relType") == "antonym":
                    relations.append((sense.get("id", ""), relation.get("target", "")))
    pairs = sorted(
        {
            (senses[a][0], senses[b][0], senses[a][1])
            for a, b in relations
            if a in senses and b in senses
        }
    )
    lines = ["word\tantonym\tpos", *("\t".join(pair) for pair in pairs)]
    print(f"  {len(pairs):,} antonym pairs (the project's copy: 7,259)")
    save(dest, "wordnet/antonyms.tsv", ("\n".join(lines) + "\n").encode("utf-8"))


def article_extraction(dest: Path) -> None:
    prefix = f"article-extraction-benchmark-{EXTRACTION_COMMIT}/"
    with tarfile.open(fileobj=io.BytesIO(download(EXTRACTION)), mode="r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix(prefix)
            keep = name in ("ground-truth.json", "LICENSE") or (
                name.startswith("html/") and name.endswith(".html.gz")
            )
            handle = archive.extractfile(member) if member.isfile() and keep else None
            if handle is not None:
                save(dest, f"article-extraction/{name}", handle.read())


FETCHERS = {
    "squad": squad,
    "selqa": selqa,
    "bbc-news": bbc,
    "ace-whqa": ace_whqa,
    "wikiqa": wikiqa,
    "squadshifts": squadshifts,
    "wordnet": wordnet,
    "article-extraction": article_extraction,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="default: %(default)s")
    parser.add_argument(
        "--only", default=",".join(FETCHERS), help="comma-separated folders (default: all)"
    )
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in FETCHERS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(FETCHERS)}")
    for name in wanted:
        print(f"== {name} -> {args.dest / name}", flush=True)
        FETCHERS[name](args.dest)
    print(f"done: set QA_BOT_PUBLIC_DATA={args.dest} if that is not ../shared/data")
    return 0


if __name__ == "__main__":
    sys.exit(main())
