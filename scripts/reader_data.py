"""Training and held-out data for qa-bot's reader, built from the public sets in ../shared/data.

Each training item is a *group*: one question with a few candidate sentences of its article, and
the index of the sentence that answers it, or none. The reader learns from a group two ways
(`train_reader.py`): each (question, sentence) pair on its own (does this sentence answer?) and
the group as a whole (which one answers, or none does), so its scores mean the same thing from
one question to the next.

Where the groups come from:

- SQuAD v1.1 train: answerable questions. The answer's sentence is the positive; the negatives
  are the two sentences of the article that share the most words with the question (what
  retrieval proposes) and one more of the same paragraph. `--dense-negatives` ranks the
  article's sentences as the product's hybrid retrieval does instead: the shared words and
  all-MiniLM-L6-v2's cosine, fused by reciprocal rank, so the reader also meets the topical
  sentences that share few words with the question (what MiniLM brings to a casual question).
  `--reworded-share` draws that share of each article's sample from the questions worded unlike
  their answer sentence (at most a third of their words in it), so the reader cannot lean on
  shared words alone.
- SQuAD 2.0 train unanswerables (`train-v2.0-unanswerable.json`): human-written questions that
  look answerable from their paragraph. The sentence holding the "plausible answer" they were
  written against is the hardest negative there is; the best-matching others join it.
- SQuAD 2.0 dev, split by article: the training articles' questions, answerable and not.
- Swaps: an answerable question with one name, number or year replaced by one from *another*
  article, or one word by its WordNet antonym, kept only when the new word is absent from the
  article: the sentence that answered the original becomes a negative of the swapped question.
- SelQA dev (SelQA test stays out: it measures paraphrases).
- Casual rewrites and typos of a share of all questions, answerable and not alike (so the
  wording never tells which is which): lower case, no question mark, contractions, everyday words
  for formal ones, "they/it" for the article's subject, fillers ("so", "hey", "any idea").
  `--chat-words` widens the everyday words to `CHAT_WORDS`: several chat and slang ways to say
  each of some 400 words ("flog" for "sell", "reckon" for "estimate", "boss" for "director").
- Written chat questions (`--written-casual FILE`, such as
  `scripts/data/written-chat-questions.jsonl`): SQuAD questions reworded one by one as people
  type in a chat, each building its group as the question it rewords would (not in the shipped
  recipe: bench/RESULTS.md, section 10, run W).

Sentences are cut by the product's own chunker, so the reader trains on the spans it will score.
Nothing here is shipped; the model trained on it is.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa_bot.reader.inputs import pair_text

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been what which who whom "
    "whose when where why how did do does has have had its it this that these those as into than "
    "not no s".split()
)


@dataclass
class Sentence:
    text: str
    start: int
    end: int


@dataclass
class Paragraph:
    title: str
    sentences: list[Sentence]
    questions: list[dict] = field(default_factory=list)


@dataclass
class Group:
    """One question and its candidates ("title: sentence"); `target` is the answering one, or -1."""

    question: str
    candidates: list[str]
    target: int
    kind: str
    title: str = ""


# -- loading -----------------------------------------------------------------------------


def split_sentences(text: str) -> list[Sentence]:
    from qa_bot.ingest.chunking import chunk_document
    from qa_bot.types import Document

    chunks = chunk_document(Document(doc_id="p", title="", text=text), max_tokens=160)
    return [Sentence(c.text, c.start, c.end) for c in chunks]


def load_squad(path: Path) -> dict[str, list[Paragraph]]:
    """Articles by title, each a list of paragraphs cut into sentences."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    articles = {}
    for article in raw["data"]:
        title = article["title"].replace("_", " ")
        paragraphs = []
        for para in article["paragraphs"]:
            sentences = split_sentences(para["context"])
            if len(sentences) >= 2:
                paragraphs.append(Paragraph(title, sentences, para["qas"]))
        articles[title] = paragraphs
    return articles


def split_articles(titles: list[str], sizes: tuple[int, int, int], seed: int):
    """SQuAD 2.0 dev's articles, shuffled with the seed, cut into train / calibration / held-out."""
    order = sorted(titles)
    random.Random(seed).shuffle(order)
    train, calibration = sizes[0], sizes[0] + sizes[1]
    return order[:train], order[train:calibration], order[calibration : calibration + sizes[2]]


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if w not in _STOP}


def sentence_of_span(paragraph: Paragraph, answers: list[dict]) -> int | None:
    """Index of the sentence that holds the (first) answer span whole, if one does."""
    for answer in answers[:1]:
        start, end = answer["answer_start"], answer["answer_start"] + len(answer["text"])
        for i, sentence in enumerate(paragraph.sentences):
            if sentence.start <= start and end <= sentence.end:
                return i
    return None


def holds_an_answer(sentence: Sentence, answers: list[dict]) -> bool:
    return any(a["text"].casefold() in sentence.text.casefold() for a in answers)


def detokenise(text: str) -> str:
    """Undo tokenised spacing ("israel 's", "( the ... )", `" american state "`)."""
    text = re.sub(r"\s+([.,;:!?%)\]'])", r"\1", text)
    text = re.sub(r"([(\[$])\s+", r"\1", text)
    text = re.sub(r'"\s+([^"]*?)\s+"', r'"\1"', text)
    return re.sub(r"\s+(n't|'s|'re|'ve|'ll|'d)\b", r"\1", text).strip()


# -- groups ------------------------------------------------------------------------------


@dataclass
class ArticleView:
    """An article's sentences, flat, with their paragraph, for choosing negatives."""

    paragraphs: list[Paragraph]
    everything: list[tuple[int, int, Sentence]]
    words: list[set[str]]
    text: str
    # Unit vectors of texts (MiniLM), when negatives are ranked as hybrid retrieval ranks them.
    encode: Callable[[list[str]], np.ndarray] | None = None
    vectors: np.ndarray | None = None  # of `everything`, computed on first use

    @classmethod
    def of(cls, paragraphs: list[Paragraph], encode=None) -> ArticleView:
        everything = [
            (p, s, sentence)
            for p, para in enumerate(paragraphs)
            for s, sentence in enumerate(para.sentences)
        ]
        return cls(
            paragraphs,
            everything,
            [content_words(c[2].text) for c in everything],
            " ".join(c[2].text for c in everything).casefold(),
            encode,
        )

    def ranked(self, question: str, keep) -> list[int]:
        """Indexes into `everything` that pass `keep`, most shared words with the question first,
        or, with `encode`, fused by reciprocal rank with MiniLM's ranking (as the product's
        hybrid retrieval fuses BM25 and MiniLM)."""
        words = content_words(question)
        found = [i for i, c in enumerate(self.everything) if keep(c)]
        lexical = sorted(found, key=lambda i: -len(words & self.words[i]))
        if self.encode is None or not found:
            return lexical
        if self.vectors is None:
            self.vectors = self.encode([c[2].text for c in self.everything])
        cosine = self.vectors @ self.encode([question])[0]
        dense = sorted(found, key=lambda i: -cosine[i])
        return reciprocal_rank_fusion(lexical, dense)


def reciprocal_rank_fusion(*rankings: list[int], k: int = 60) -> list[int]:
    """One ranking from several: each item scores 1 / (k + its rank) in each (RRF, k = 60 as in
    `qa_bot.answering.retrieve`); ties keep the first ranking's order."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            score[item] = score.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(score, key=lambda item: -score[item])


def minilm_encoder() -> Callable[[list[str]], np.ndarray]:
    """The product's own MiniLM (ONNX Runtime, offline), as a function from texts to unit
    vectors; its ONNX export is cached in the user's qa-bot cache folder."""
    from qa_bot.index.embeddings import make_embedder

    embedder = make_embedder("minilm")
    return lambda texts: embedder.embed_documents(texts)


def _group(
    question: str,
    title: str,
    positive: Sentence | None,
    negatives: list[Sentence],
    rng: random.Random,
    kind: str,
) -> Group:
    sentences = ([positive] if positive else []) + negatives
    order = list(range(len(sentences)))
    rng.shuffle(order)
    candidates = [pair_text(title, sentences[i].text) for i in order]
    target = order.index(0) if positive else -1
    return Group(question, candidates, target, kind, title)


def answerable_group(
    view: ArticleView, p: int, qa: dict, rng: random.Random, negatives: int, kind: str
) -> Group | None:
    para = view.paragraphs[p]
    answers = qa.get("answers", [])
    positive = sentence_of_span(para, answers)
    if positive is None:
        return None  # the answer crosses a sentence boundary: no clean label
    question = detokenise(qa["question"].strip())

    def keep(c) -> bool:
        return not (c[0] == p and c[1] == positive) and not holds_an_answer(c[2], answers)

    ranked = view.ranked(question, keep)
    chosen = ranked[: negatives - 1]
    same = [i for i in ranked[negatives - 1 :] if view.everything[i][0] == p]
    rest = same or ranked[negatives - 1 :]
    if rest:
        chosen.append(rng.choice(rest))
    return _group(
        question,
        para.title,
        para.sentences[positive],
        [view.everything[i][2] for i in chosen],
        rng,
        kind,
    )


def unanswerable_group(
    view: ArticleView,
    p: int,
    question: str,
    hardest: int | None,
    rng: random.Random,
    negatives: int,
    kind: str,
) -> Group:
    """Negatives only: the `hardest` sentence of paragraph `p` if given, then the best matches
    of the article, then one more of the paragraph."""
    para = view.paragraphs[p]
    chosen: list[Sentence] = []
    if hardest is not None:
        chosen.append(para.sentences[hardest])
    ranked = view.ranked(question, lambda c: not (c[0] == p and c[1] == hardest))
    chosen += [view.everything[i][2] for i in ranked[: negatives - len(chosen) - 1]]
    same = [i for i in ranked[negatives - len(chosen) :] if view.everything[i][0] == p]
    if same:
        chosen.append(view.everything[rng.choice(same)][2])
    elif len(ranked) > len(chosen):
        chosen.append(view.everything[ranked[len(chosen)]][2])
    return _group(question, para.title, None, chosen, rng, kind)


# -- swaps: answerable questions made unanswerable ---------------------------------------

_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’.-]*){0,3}")


def swap_vocabulary(squad: dict[str, list[Paragraph]]) -> dict[str, list[tuple[str, str]]]:
    """Names, numbers and years that SQuAD answers are made of, with the article they come from."""
    pools: dict[str, list[tuple[str, str]]] = {"year": [], "number": [], "name": []}
    for title, paragraphs in squad.items():
        for para in paragraphs:
            for qa in para.questions:
                for answer in qa.get("answers", [])[:1]:
                    text = answer["text"].strip()
                    if _YEAR.fullmatch(text):
                        pools["year"].append((text, title))
                    elif _NUMBER.fullmatch(text):
                        pools["number"].append((text, title))
                    elif _NAME.fullmatch(text) and len(text) > 3:
                        pools["name"].append((text, title))
    return pools


def load_antonyms(path: Path) -> dict[str, list[str]]:
    """Single-word antonyms of adjectives, adverbs and verbs ("first" -> "last")."""
    found: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) != 3 or parts[2] not in ("a", "s", "r", "v"):
            continue
        word, antonym = parts[0].casefold(), parts[1].casefold()
        if word.isalpha() and antonym.isalpha() and len(word) >= 3:
            found.setdefault(word, []).append(antonym)
    return found


def swapped_question(
    question: str,
    answer_sentence: str,
    article_text: str,
    title: str,
    pools: dict[str, list[tuple[str, str]]],
    antonyms: dict[str, list[str]],
    rng: random.Random,
) -> tuple[str, str] | None:
    """The question with one detail the answer sentence confirms replaced by one the article
    never mentions, and the kind of swap; None when no safe swap exists."""
    sentence = answer_sentence.casefold()
    options: list[tuple[str, int, int, str]] = []  # (kind, start, end, replacement)
    for kind, pattern in (("year", _YEAR), ("number", _NUMBER), ("name", _NAME)):
        for m in pattern.finditer(question):
            span = m.group(0)
            if m.start() == 0 or span.casefold() not in sentence:
                continue  # the question's first word is capitalised anyway; keep the anchor
            if kind == "number" and _YEAR.fullmatch(span):
                continue
            for _ in range(8):
                new, source = rng.choice(pools[kind])
                if source != title and new.casefold() not in article_text:
                    options.append((kind, m.start(), m.end(), new))
                    break
    for m in re.finditer(r"[A-Za-z]+", question):
        word = m.group(0).casefold()
        if word in antonyms and word in sentence:
            opposite = [a for a in antonyms[word] if a not in article_text]
            if opposite:
                options.append(("antonym", m.start(), m.end(), rng.choice(opposite)))
    if not options:
        return None
    kind, start, end, new = rng.choice(options)
    return question[:start] + new + question[end:], f"swap-{kind}"


# -- casual wording ----------------------------------------------------------------------

# Formal words SQuAD's writers use, and what people type in a chat instead.
EVERYDAY = {
    "individuals": "people", "persons": "people", "individual": "person",
    "purchase": "buy", "purchased": "bought", "acquire": "get", "acquired": "bought",
    "obtain": "get", "obtained": "got", "receive": "get", "received": "got",
    "commence": "start", "commenced": "started", "begin": "start", "began": "started",
    "terminate": "end", "terminated": "ended", "conclude": "end", "concluded": "ended",
    "approximately": "about", "roughly": "about", "reside": "live", "resided": "lived",
    "residence": "home", "utilize": "use", "utilized": "used", "utilise": "use",
    "assist": "help", "assistance": "help", "require": "need", "required": "needed",
    "construct": "build", "constructed": "built", "establish": "set up",
    "established": "set up", "inform": "tell", "demonstrate": "show",
    "demonstrated": "showed", "attempt": "try", "attempted": "tried", "numerous": "lots of",
    "sufficient": "enough", "subsequently": "later", "additional": "more",
    "occurred": "happened", "occur": "happen", "located": "", "currently": "now",
    "initially": "at first", "ultimately": "in the end", "primary": "main",
    "majority": "most", "entire": "whole", "children": "kids", "automobile": "car",
    "employed": "hired", "employ": "hire", "announced": "said", "stated": "said",
    "increase": "go up", "increased": "went up", "decrease": "go down",
    "decreased": "went down", "population": "number of people", "deceased": "dead",
    "died": "passed away", "men": "guys", "women": "ladies", "males": "guys",
    "females": "women", "significant": "big", "substantial": "big", "large": "big",
    "largest": "biggest", "prior": "before", "following": "after",
    "permitted": "allowed", "permit": "let", "regarding": "about", "concerning": "about",
    "therefore": "so", "however": "but", "request": "ask for", "requested": "asked for",
    "consume": "eat", "consumed": "ate", "inquire": "ask", "possess": "have",
    "possessed": "had", "sufficiently": "enough", "frequently": "often",
    "immediately": "right away", "nevertheless": "still", "approximate": "rough",
    "manufacture": "make", "manufactured": "made", "compensation": "pay",
    "indicate": "show", "indicated": "showed", "participate": "take part",
    "participated": "took part", "vehicle": "car", "physician": "doctor",
}  # fmt: skip
# A wider chat vocabulary (`--chat-words`): several everyday or slang ways to say a word news and
# encyclopedia questions use, American and British, so the reader meets "flog" for "sell",
# "reckon" for "estimate" and "boss" for "director" the way people type them. General English,
# written from no gold question; each choice is drawn at random.
CHAT_WORDS = {
    # people and roles
    "man": ["guy", "bloke", "fella"], "men": ["guys", "blokes", "lads"], "woman": ["lady", "woman"],
    "women": ["ladies", "women"], "boys": ["lads", "kids"], "child": ["kid"],
    "children": ["kids"], "teenagers": ["teens", "kids"], "youngsters": ["kids"],
    "adults": ["grown-ups"], "elderly": ["old"], "people": ["folks", "people", "peeps"],
    "residents": ["locals", "people who live there"], "inhabitants": ["locals", "people there"],
    "citizens": ["people"], "employees": ["staff", "workers"], "employee": ["worker"],
    "workforce": ["staff"], "personnel": ["staff"], "executive": ["boss", "exec"],
    "executives": ["bosses", "execs"], "director": ["boss", "head"], "chairman": ["boss", "head"],
    "manager": ["boss"], "leader": ["boss", "head"], "officials": ["people in charge", "the suits"],
    "authorities": ["people in charge", "officials"], "spokesman": ["guy speaking for them"],
    "spokeswoman": ["woman speaking for them"], "spokesperson": ["person speaking for them"],
    "representative": ["rep"], "representatives": ["reps"], "journalist": ["reporter"],
    "journalists": ["reporters", "the press"], "celebrity": ["celeb", "star"],
    "celebrities": ["celebs", "stars"], "supporters": ["fans", "backers"],
    "spectators": ["fans", "the crowd"], "audience": ["crowd"], "viewers": ["people watching"],
    "referee": ["ref"], "professor": ["prof"], "physician": ["doc", "doctor"],
    "veterinarian": ["vet"], "police": ["cops", "police"], "soldiers": ["troops"],
    "military": ["army"], "government": ["govt", "gov", "government"], "administration": ["govt"],
    "opponent": ["other side"], "opponents": ["other side", "critics"], "team": ["side", "squad"],
    "coach": ["boss", "manager"], "investors": ["the city", "money men"],
    "analysts": ["experts", "city folks"], "experts": ["boffins", "experts"],
    "scientists": ["boffins", "scientists"], "researchers": ["boffins", "scientists"],
    # money and business
    "company": ["firm", "outfit", "company"], "corporation": ["company", "firm"],
    "business": ["firm", "business"], "revenue": ["sales", "money coming in"],
    "revenues": ["sales"], "profit": ["money made"], "profits": ["money made", "earnings"],
    "income": ["money"], "salary": ["pay", "wages"], "funds": ["money", "cash"],
    "funding": ["money", "cash"], "finances": ["money"], "expenditure": ["spending"],
    "shares": ["stock"], "billion": ["bn", "billion"], "million": ["m", "mil"],
    "percent": ["%"], "cost": ["price"], "expensive": ["pricey", "dear"],
    "inexpensive": ["cheap"], "wealthy": ["rich", "loaded"], "sell": ["flog", "offload"],
    "sold": ["flogged", "offloaded"], "earn": ["make", "pull in", "rake in"],
    "earned": ["made", "pulled in", "raked in"], "pay": ["fork out", "shell out", "cough up"],
    "paid": ["forked out", "shelled out", "coughed up"], "spend": ["blow", "fork out"],
    "spent": ["blew", "forked out"], "invest": ["put money into"],
    "invested": ["put money into", "sank money into"], "fund": ["pay for", "bankroll"],
    "funded": ["paid for", "bankrolled"], "financed": ["paid for"], "donate": ["give"],
    "donated": ["gave"], "contribute": ["chip in"], "contributed": ["chipped in", "put in"],
    "merge": ["team up", "join up"], "merged": ["teamed up", "joined up"],
    "demerger": ["split", "break-up"], "acquisition": ["takeover", "buyout"],
    "agreement": ["deal"], "contract": ["deal"], "treaty": ["deal", "pact"],
    "negotiate": ["hammer out", "work out"], "negotiated": ["hammered out", "worked out"],
    "gambling": ["betting"], "headquarters": ["hq", "head office"], "headquartered": ["based"],
    # saying, thinking, deciding
    "estimate": ["reckon", "guess"], "estimated": ["reckoned", "guessed"],
    "believe": ["reckon", "think"], "believed": ["reckoned", "thought"], "expect": ["reckon"],
    "expected": ["reckoned", "supposed"], "consider": ["think about"],
    "considered": ["thought about"], "predict": ["reckon", "bet"], "predicted": ["reckoned"],
    "declare": ["say"], "declared": ["said"], "claim": ["say"], "claimed": ["said", "reckoned"],
    "reported": ["said"], "revealed": ["let slip", "came out with"], "reveal": ["let slip"],
    "mention": ["bring up", "talk about"], "mentioned": ["brought up", "talked about"],
    "discuss": ["talk about"], "discussed": ["talked about"], "describe": ["talk about"],
    "described": ["called", "talked about"], "respond": ["reply", "get back"],
    "responded": ["replied", "got back"], "contact": ["get in touch with", "reach"],
    "contacted": ["got in touch with", "reached"], "telephoned": ["rang", "called"],
    "complain": ["moan", "whinge"], "complained": ["moaned", "whinged"],
    "criticised": ["slammed", "had a go at"], "criticized": ["slammed", "knocked"],
    "criticise": ["slam", "knock"], "criticize": ["slam", "knock"], "praised": ["raved about"],
    "determine": ["figure out", "work out"], "determined": ["figured out", "worked out"],
    "calculate": ["work out"], "calculated": ["worked out"], "discover": ["find out", "find"],
    "discovered": ["found out", "found"], "understand": ["get"], "realise": ["figure out"],
    "realize": ["figure out"], "decide": ["pick"], "decided": ["chose", "picked"],
    "choose": ["pick"], "chose": ["picked"], "chosen": ["picked"], "select": ["pick"],
    "selected": ["picked"], "propose": ["pitch", "suggest"], "proposed": ["pitched", "suggested"],
    "intend": ["plan", "want"], "intended": ["planned", "wanted"], "demand": ["want", "ask for"],
    "demanded": ["wanted", "asked for"], "seek": ["look for", "want"],
    "sought": ["looked for", "wanted"], "investigate": ["look into"],
    "investigated": ["looked into"], "investigation": ["probe"], "examine": ["look at", "check"],
    "examined": ["looked at", "checked"], "observe": ["see", "watch"],
    "observed": ["saw", "watched"], "witnessed": ["saw"],
    # doing, running, changing
    "preside": ["chair", "be in charge"], "presided": ["chaired", "was in charge"],
    "lead": ["run", "head"], "led": ["ran", "headed"], "manage": ["run"], "managed": ["ran"],
    "govern": ["run"], "governed": ["ran"], "operate": ["run"], "operated": ["ran"],
    "oversee": ["run", "be in charge of"], "oversaw": ["ran", "was in charge of"],
    "appointed": ["picked", "brought in", "put in charge"], "appoint": ["pick", "bring in"],
    "elected": ["voted in", "picked"], "elect": ["vote in"], "hired": ["took on", "got in"],
    "hire": ["take on", "get in"], "dismissed": ["fired", "sacked", "let go"],
    "dismiss": ["fire", "sack"], "resign": ["quit", "step down"],
    "resigned": ["quit", "stepped down"], "replace": ["take over from"],
    "replaced": ["took over from"], "reject": ["turn down", "say no to"],
    "rejected": ["turned down", "said no to"], "approve": ["okay", "sign off on"],
    "approved": ["okayed", "signed off on", "ok'd"], "accept": ["go along with", "take"],
    "accepted": ["went along with", "took"], "support": ["back"], "supported": ["backed"],
    "endorse": ["back"], "endorsed": ["backed"], "persuade": ["talk into"],
    "persuaded": ["talked into", "got"], "encourage": ["push"], "encouraged": ["pushed"],
    "prevent": ["stop"], "prevented": ["stopped"], "prohibit": ["ban"], "prohibited": ["banned"],
    "forbidden": ["banned"], "enable": ["let"], "enabled": ["let"], "ensure": ["make sure"],
    "provide": ["give"], "provided": ["gave"], "supply": ["give"], "supplied": ["gave"],
    "launch": ["kick off", "roll out"], "launched": ["kicked off", "rolled out", "started"],
    "introduce": ["bring in"], "introduced": ["brought in"], "create": ["make", "come up with"],
    "created": ["made", "came up with"], "invented": ["came up with"], "designed": ["came up with"],
    "developed": ["made", "came up with"], "abandon": ["ditch", "drop"],
    "abandoned": ["ditched", "dropped"], "cancel": ["scrap", "call off"],
    "cancelled": ["scrapped", "called off"], "canceled": ["scrapped", "called off"],
    "postpone": ["put off", "push back"], "postponed": ["put off", "pushed back"],
    "continue": ["keep going", "carry on"], "continued": ["kept going", "carried on"],
    "remain": ["stay"], "remained": ["stayed"], "return": ["come back"],
    "returned": ["came back", "went back"], "attend": ["go to", "show up at"],
    "attended": ["went to", "showed up at", "came to"], "visit": ["go to", "pop over to"],
    "visited": ["went to", "popped over to"], "arrive": ["get to", "turn up"],
    "arrived": ["got to", "turned up"], "depart": ["leave"], "departed": ["left"],
    "travelled": ["went"], "traveled": ["went"], "relocate": ["move"], "relocated": ["moved"],
    "transferred": ["moved"], "delivered": ["brought", "dropped off"], "perform": ["play", "do"],
    "performed": ["played", "did"], "compete": ["play"], "competed": ["played"],
    "defeated": ["beat", "thrashed"], "victory": ["win"], "achieve": ["pull off", "get"],
    "achieved": ["pulled off", "got"], "failed": ["flopped"], "composed": ["wrote"],
    "authored": ["wrote"], "steal": ["nick", "pinch"], "stole": ["nicked", "pinched"],
    "stolen": ["nicked", "pinched"], "destroyed": ["wrecked", "trashed"],
    "damaged": ["wrecked", "hit"], "repair": ["fix"], "repaired": ["fixed"],
    "renovated": ["did up", "done up"], "demolished": ["knocked down", "torn down"],
    "arrested": ["nicked", "picked up", "busted"], "imprisoned": ["locked up", "jailed"],
    "prison": ["jail", "the slammer"], "convicted": ["found guilty"], "injured": ["hurt"],
    "married": ["got hitched to", "wed"], "divorced": ["split up"], "separated": ["split up"],
    "divide": ["split"], "divided": ["split"], "collaborated": ["teamed up", "worked together"],
    "reduce": ["cut", "bring down"], "reduced": ["cut", "brought down"],
    "raise": ["put up", "bump up"], "raised": ["put up", "bumped up"],
    "rose": ["went up", "jumped"],
    "rise": ["go up", "jump"], "fell": ["dropped", "went down", "tanked"],
    "fall": ["drop", "go down"], "declined": ["dropped", "went down"], "grew": ["went up"],
    # things and places
    "film": ["movie", "flick"], "films": ["movies"], "television": ["tv", "telly"],
    "programme": ["show"], "program": ["show"], "album": ["record"], "song": ["track", "tune"],
    "songs": ["tracks", "tunes"], "concert": ["gig", "show"], "performance": ["show", "gig"],
    "match": ["game"], "football": ["footie", "soccer"], "aircraft": ["plane"],
    "airplane": ["plane"], "vessel": ["ship", "boat"], "newspaper": ["paper"],
    "newspapers": ["papers"], "magazine": ["mag"], "university": ["uni", "college"],
    "telephone": ["phone"], "internet": ["web", "net"], "website": ["site"],
    "application": ["app"], "advertisement": ["ad"], "advertising": ["ads"],
    "photograph": ["photo", "pic"], "photographs": ["photos", "pics"], "laboratory": ["lab"],
    "mathematics": ["maths", "math"], "information": ["info"], "details": ["info"],
    "evidence": ["proof"], "statement": ["what they said"], "announcement": ["news"],
    "location": ["place", "spot"], "venue": ["place", "spot"], "facility": ["place", "site"],
    "establishment": ["place", "joint"], "premises": ["place"], "region": ["area"],
    "district": ["area"], "vicinity": ["area"], "dwelling": ["home", "house"],
    "accommodation": ["place to stay"], "restaurant": ["place to eat"], "beverage": ["drink"],
    "alcohol": ["booze"], "cigarettes": ["fags", "smokes"], "equipment": ["gear", "kit"],
    "clothing": ["clothes", "gear"], "attire": ["clothes", "outfit"], "costume": ["outfit"],
    "event": ["thing", "do"], "ceremony": ["do"], "celebration": ["party", "bash"],
    "meeting": ["get-together", "meet"], "summit": ["meeting", "get-together"],
    "gathering": ["get-together"], "dispute": ["row", "spat", "fight"], "conflict": ["fight"],
    "scandal": ["row", "mess"], "crisis": ["mess"], "allegations": ["claims"],
    "incident": ["thing"], "occupation": ["job"], "profession": ["job", "line of work"],
    "career": ["job"], "position": ["job", "role"], "employment": ["work", "jobs"],
    "unemployed": ["out of work", "jobless"], "purpose": ["point"], "method": ["way"],
    "technique": ["way", "trick"], "approach": ["way"], "objective": ["goal", "aim"],
    "problem": ["issue", "trouble"], "difficulty": ["trouble"], "situation": ["thing", "deal"],
    "decade": ["ten years"], "annually": ["every year", "a year"], "annual": ["yearly"],
    # how and how much
    "presently": ["now"], "recently": ["lately"], "previously": ["before"],
    "originally": ["at first"], "eventually": ["in the end"], "finally": ["in the end"],
    "nearly": ["almost"], "primarily": ["mostly", "mainly"], "mainly": ["mostly"],
    "predominantly": ["mostly"], "largely": ["mostly"], "particularly": ["especially"],
    "extremely": ["really", "super"], "very": ["really", "super"], "highly": ["really"],
    "rapidly": ["fast", "quickly"], "enormous": ["huge", "massive"], "major": ["big"],
    "minor": ["small"], "important": ["big", "key"], "famous": ["well-known", "big"],
    "difficult": ["hard", "tough"], "excellent": ["great"], "angry": ["mad", "fuming"],
    "disappointed": ["gutted", "let down"], "delighted": ["thrilled", "chuffed"],
    "pleased": ["happy", "chuffed"], "concerned": ["worried"], "frightened": ["scared"],
    "intelligent": ["smart", "clever"], "modern": ["new"], "former": ["ex", "old"],
    "previous": ["last", "old"], "latest": ["newest"], "final": ["last"], "initial": ["first"],
    "complete": ["whole", "full"], "various": ["different", "all sorts of"],
    "several": ["a few", "a couple of"], "multiple": ["lots of", "a bunch of"],
}  # fmt: skip
CHAT_PHRASES = [
    (r"\bchief executive(?: officer)?\b", ["boss", "ceo"]),
    (r"\bpresided over\b", ["chaired", "ran", "was in charge of"]),
    (r"\bpresides? over\b", ["chair", "run", "be in charge of"]),
    (r"\bprime minister\b", ["pm"]),
    (r"\bthe united states\b", ["the us", "the states", "america"]),
    (r"\bthe united kingdom\b", ["the uk", "britain"]), (r"\bper ?cent\b", ["%"]),
    (r"\bapproximately how\b", ["roughly how", "about how"]),
    (r"\bmobile (?:tele)?phones?\b", ["mobiles", "phones"]),
]  # fmt: skip
PHRASES = [
    (r"^in what year\b", "when"), (r"^what year\b", "when"), (r"^during what year\b", "when"),
    (r"^on what date\b", "when"), (r"^in which year\b", "when"), (r"^at what time\b", "when"),
    (r"^what is the name of\b", "what's"), (r"^what was the name of\b", "what was"),
    (r"^what is\b", "what's"), (r"^who is\b", "who's"), (r"^where is\b", "where's"),
    (r"^how is\b", "how's"), (r"^what are\b", "what're"), (r"\bdid not\b", "didn't"),
    (r"\bdoes not\b", "doesn't"), (r"\bis not\b", "isn't"), (r"\bwas not\b", "wasn't"),
    (r"\bwere not\b", "weren't"), (r"\bcan not\b|\bcannot\b", "can't"),
    (r"^in what (\w+)\b", r"what \1"), (r"^which\b", "what"),
    (r"^how many\b", "how many"), (r"^according to [^,]+, ", ""),
]  # fmt: skip
OPENERS = [
    "so ", "ok so ", "hey ", "quick question, ", "do you know ", "any idea ", "um ",
    "i was wondering ", "can you tell me ", "and ", "wait, ", "btw ", "so basically ", "hi, ",
]  # fmt: skip
_FOLLOWS = (
    r"\s(?:is|was|are|were|did|do|does|have|has|had|become|became|use|used|get|got|make|made|in|"
    r"on|at|to|for|from|with|by|and|or|first|start|begin|win|won|say|said)\b"
)
CLOSERS = ["", "", "", "??", " ?", " lol", " though", " exactly", " again", " btw", " pls"]


def casual(question: str, title: str, rng: random.Random, chat_words: bool = False) -> str:
    """The question as someone might type it in a chat (rules; see the module docstring).
    `chat_words` adds `CHAT_WORDS` and `CHAT_PHRASES` to the everyday words."""
    text = " ".join(question.strip().split()).rstrip("?").strip()
    text = text[:1].lower() + text[1:]
    for pattern, repl in PHRASES:
        if rng.random() < 0.8:
            text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
    if chat_words:
        for pattern, options in CHAT_PHRASES:
            if rng.random() < 0.9:
                text = re.sub(pattern, rng.choice(options), text, flags=re.IGNORECASE)

    def everyday(m: re.Match) -> str:
        word = m.group(0)
        options = [EVERYDAY[word.casefold()]] if word.casefold() in EVERYDAY else []
        if chat_words:
            options += CHAT_WORDS.get(word.casefold(), [])
        return rng.choice(options) if options and rng.random() < 0.7 else word

    text = re.sub(r"[A-Za-z]+", everyday, text)
    # The article's subject becomes "it"/"they": in a chat it is obvious what "it" is.
    if rng.random() < 0.5:
        text = _pronoun_for_subject(text, title, rng.choice(["it", "it", "they", "this"]))
    if rng.random() < 0.3:
        text = re.sub(r"\b(the|a|an) ", "", text, count=1)
    if rng.random() < 0.45:
        text = rng.choice(OPENERS) + text
    text += rng.choice(CLOSERS)
    if rng.random() < 0.6:
        text = text.lower()
    text = " ".join(text.split())
    return text if content_words(text) else question


def _fold(text: str) -> str:
    """Without accents: people type "Beyonce" for "Beyoncé"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_AFTER = (
    r"(?:was|is|are|were|did|does|do|has|have|had|will|can|could|would|should|about|of|in|on|"
    r"for|with|from|at|to|by)"
)


def _pronoun_for_subject(text: str, title: str, pronoun: str) -> str:
    """The title's subject replaced by a pronoun where one reads naturally: "Houston's" -> "its",
    "was Houston founded" -> "was it founded", "Houston is" -> "it is"; not "the Houston city
    council"."""
    text = _fold(text)
    subjects = {_fold(title.split(" (")[0].strip()), _fold(title.split(",")[0].strip())}
    for subject in sorted((s for s in subjects if len(s) > 2), key=len, reverse=True):
        name = r"(?:the\s+)?" + re.escape(subject)
        for pattern, repl in (
            (r"\b" + name + r"['’]s\b", "its"),
            (r"\b(" + _AFTER + r"\s+)" + name + r"\b", r"\1" + pronoun),
            (r"\b" + name + r"(?=\s*(?:[?,.]|$|" + _FOLLOWS + r"))", pronoun),
        ):
            text, found = re.subn(pattern, repl, text, count=1, flags=re.IGNORECASE)
            if found:
                return text
    return text


_KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm"


def with_typo(question: str, rng: random.Random) -> str:
    """One realistic slip in one longer word: a dropped, doubled, swapped or neighbouring letter."""
    words = question.split()
    spots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not spots:
        return question
    i = rng.choice(spots)
    word = words[i]
    k = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        word = word[:k] + word[k + 1 :]
    elif kind == 1:
        word = word[:k] + word[k] + word[k:]
    elif kind == 2:
        word = word[: k - 1] + word[k] + word[k - 1] + word[k + 1 :]
    else:
        row = next((r for r in _KEYBOARD.split() if word[k].lower() in r), "")
        j = row.find(word[k].lower())
        if row:
            near = row[max(j - 1, 0)] if rng.random() < 0.5 or j == len(row) - 1 else row[j + 1]
            word = word[:k] + near + word[k + 1 :]
    words[i] = word
    return " ".join(words)


# -- SelQA -------------------------------------------------------------------------------


def selqa_groups(path: Path, rng: random.Random, negatives: int) -> list[Group]:
    """SelQA dev: each question with an answer, its first answer sentence and the hardest others."""
    groups = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        answers = set(item.get("answers", []))
        sentences = item["candidates"]
        if not answers or len(sentences) < 2:
            continue
        question = detokenise(item["question"])
        positive = Sentence(sentences[min(answers)], 0, 0)
        words = content_words(question)
        others = sorted(
            (s for i, s in enumerate(sentences) if i not in answers),
            key=lambda s: -len(words & content_words(s)),
        )
        chosen = [Sentence(s, 0, 0) for s in others[:negatives]]
        title = item.get("article", "")
        groups.append(_group(question, title, positive, chosen, rng, "selqa-dev"))
    return groups


# -- held-out measurement ----------------------------------------------------------------


def heldout_questions(
    articles: list[str], squad2: dict[str, list[Paragraph]], limit: int, seed: int
) -> list[tuple[str, list[str], int | None]]:
    """(question, its paragraph's candidates, index of the answer sentence or None)."""
    items = []
    for title in articles:
        for para in squad2[title]:
            texts = [pair_text(para.title, s.text) for s in para.sentences]
            for qa in para.questions:
                if qa.get("is_impossible"):
                    items.append((qa["question"].strip(), texts, None))
                    continue
                positive = sentence_of_span(para, qa["answers"])
                if positive is not None:
                    items.append((qa["question"].strip(), texts, positive))
    random.Random(seed).shuffle(items)
    return items[:limit]


# -- questions worded unlike their answer ------------------------------------------------

# A question shares at most this share of its content words with the sentence that answers it:
# its writer said it in other words ("What was primarily damaged?" for "The main damage was
# inflicted on ..."). A quarter of SQuAD v1.1's questions are like this, and people in a chat
# rarely reuse the article's words at all.
REWORDED_OVERLAP = 1 / 3


def overlap_with_answer(view: ArticleView, p: int, qa: dict) -> float:
    """The share of the question's content words found in its answer sentence (1.0 if unknown)."""
    positive = sentence_of_span(view.paragraphs[p], qa.get("answers", []))
    words = content_words(qa["question"])
    if positive is None or not words:
        return 1.0
    return len(words & content_words(view.paragraphs[p].sentences[positive].text)) / len(words)


def reworded_first(view: ArticleView, asked: list[tuple[int, dict]], k: int, share: float) -> list:
    """`k` of an article's (shuffled) questions: `share` of them worded unlike their answer
    sentence where there are enough, the rest in their shuffled order. With no share, simply
    the first `k` (the earlier readers' sample)."""
    k_reworded = round(k * share)
    if k_reworded == 0:
        return asked[:k]
    low = [a for a in asked if overlap_with_answer(view, *a) <= REWORDED_OVERLAP][:k_reworded]
    taken = {id(a[1]) for a in low}
    return low + [a for a in asked if id(a[1]) not in taken][: k - len(low)]


# -- everything together -----------------------------------------------------------------


def build_groups(config, data: Path, squad2_train: list[str], squad2) -> tuple[list[Group], dict]:
    """All training groups (shuffled with the seed) and how many came from where."""
    rng = random.Random(config.seed)
    squad = load_squad(data / "squad" / "train-v1.1.json")
    counts: Counter = Counter()
    groups: list[Group] = []
    n = config.negatives
    encode = minilm_encoder() if config.dense_negatives else None
    views = {title: ArticleView.of(paragraphs, encode) for title, paragraphs in squad.items()}

    # SQuAD v1.1: a share of every article's questions, in proportion to its size.
    total = sum(len(p.questions) for paras in squad.values() for p in paras)
    share = min(1.0, config.squad_questions / total)
    answered: list[tuple[str, int, dict]] = []  # kept for swaps
    for title in sorted(squad):
        view = views[title]
        asked = [(p, qa) for p, para in enumerate(view.paragraphs) for qa in para.questions]
        rng.shuffle(asked)
        k = max(1, round(len(asked) * share))
        chosen = reworded_first(view, asked, k, config.reworded_share)
        for p, qa in chosen:
            group = answerable_group(view, p, qa, rng, n, "squad1.1")
            if group:
                groups.append(group)
                answered.append((title, p, qa))

    # SQuAD 2.0 train unanswerables: the plausible answer's sentence is the hardest negative.
    raw = json.loads((data / "squad" / "train-v2.0-unanswerable.json").read_text("utf-8"))
    impossible = []
    unanswerable_views: dict[str, ArticleView] = {}
    for article in raw["data"]:
        title = article["title"].replace("_", " ")
        paragraphs = [
            Paragraph(title, split_sentences(para["context"]), para["qas"])
            for para in article["paragraphs"]
        ]
        paragraphs = [para for para in paragraphs if len(para.sentences) >= 2]
        view = unanswerable_views[title] = ArticleView.of(paragraphs, encode)
        for p, para in enumerate(paragraphs):
            for qa in para.questions:
                hardest = sentence_of_span(para, qa.get("plausible_answers", []))
                impossible.append((view, p, detokenise(qa["question"].strip()), hardest))
    rng.shuffle(impossible)
    for view, p, question, hardest in impossible[: config.unanswerable_questions]:
        groups.append(unanswerable_group(view, p, question, hardest, rng, n, "squad2.0-train-no"))

    # SQuAD 2.0 dev's training articles: answerable and unanswerable alike.
    for title in squad2_train:
        view = ArticleView.of(squad2[title], encode)
        asked = [(p, qa) for p, para in enumerate(view.paragraphs) for qa in para.questions]
        rng.shuffle(asked)
        for p, qa in asked[: config.squad2_questions]:
            if qa.get("is_impossible"):
                question = qa["question"].strip()
                groups.append(unanswerable_group(view, p, question, None, rng, n, "squad2.0-dev"))
            else:
                group = answerable_group(view, p, qa, rng, n, "squad2.0-dev")
                if group:
                    groups.append(group)

    # Swaps: an answered question asking for a detail its article never mentions.
    pools = swap_vocabulary(squad)
    antonyms = load_antonyms(data / "wordnet" / "antonyms.tsv")
    rng.shuffle(answered)
    swaps = 0
    for title, p, qa in answered:
        if swaps >= config.swap_questions:
            break
        view = views[title]
        para = view.paragraphs[p]
        positive = sentence_of_span(para, qa["answers"])
        if positive is None:
            continue
        question = detokenise(qa["question"].strip())
        found = swapped_question(
            question, para.sentences[positive].text, view.text, title, pools, antonyms, rng
        )
        if found:
            swapped, kind = found
            groups.append(unanswerable_group(view, p, swapped, positive, rng, n, kind))
            swaps += 1

    if config.selqa:
        groups += selqa_groups(data / "selqa" / "selqa-ass-dev.json", rng, n)

    # Chat questions written by hand for SQuAD questions (`--written-casual`): apart from the
    # rule-made rewrites below, so they are never rewritten again.
    written = (
        written_casual_groups(Path(config.written_casual), views, unanswerable_views, rng, n)
        if config.written_casual
        else []
    )

    # Casual wording and typos, for a share of every kind alike.
    for group in groups:
        draw = rng.random()
        if draw < config.casual_share:
            group.question = casual(group.question, group.title, rng, config.chat_words)
            group.kind += "+casual"
        elif draw < config.casual_share + config.typo_share:
            group.question = with_typo(group.question, rng)
            group.kind += "+typo"
    groups += written
    rng.shuffle(groups)
    for group in groups:
        counts[group.kind.split("+")[0]] += 1
    counts["casual rewrites"] = sum(g.kind.endswith("+casual") for g in groups)
    counts["written chat questions"] = len(written)
    counts["typo copies"] = sum(g.kind.endswith("+typo") for g in groups)
    counts["unanswerable groups"] = sum(g.target < 0 for g in groups)
    counts["groups"] = len(groups)
    counts["pairs"] = sum(len(g.candidates) for g in groups)
    return groups, dict(counts)


def written_casual_groups(
    path: Path,
    answerable: dict[str, ArticleView],
    unanswerable: dict[str, ArticleView],
    rng: random.Random,
    n: int,
) -> list[Group]:
    """Groups for chat questions written by hand (`{"id", "question", "casual"}` lines): each
    asks what the SQuAD v1.1 question (in `answerable`'s articles) or SQuAD 2.0 train
    unanswerable question (in `unanswerable`'s) of that id and wording asks, in a person's words
    (ids alone repeat in the unanswerable file). The group is built as the original's would be,
    but its negatives are the sentences sharing most words with the *chat* question (what
    retrieval would propose for it)."""
    wanted: dict[tuple[str, str], str] = {}  # (id, original question): SQuAD 2.0 train ids repeat
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            wanted[row["id"], row["question"].strip()] = row["casual"]
    groups: list[Group] = []
    in_order = (
        ("written-chat", [answerable[title] for title in sorted(answerable)]),
        ("written-chat-no", list(unanswerable.values())),  # the file's order
    )
    for kind, views in in_order:
        for view in views:
            for p, para in enumerate(view.paragraphs):
                for qa in para.questions:
                    chat = wanted.get((qa["id"], qa["question"].strip()))
                    if chat is None:
                        continue
                    if kind == "written-chat":
                        group = answerable_group(view, p, {**qa, "question": chat}, rng, n, kind)
                    else:
                        hardest = sentence_of_span(para, qa.get("plausible_answers", []))
                        group = unanswerable_group(view, p, chat, hardest, rng, n, kind)
                    if group:
                        groups.append(group)
    return groups
