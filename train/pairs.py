"""Training pairs for the reader: (question, a sentence of an article) → does it answer?

    python train/pairs.py            # writes train/reader/pairs.jsonl and claim-pairs.jsonl

From tune material only (see train/reader/README.md):
- `train/reader/questions.jsonl` and `more/questions.jsonl` (less the articles `checking`
  keeps out): questions written from BBC articles of the tune half, each
  answerable one with its answering sentence, each unanswerable twin with the sentence that comes
  closest. The answering sentence is a positive; the article's other sentences (those that do not
  hold the answer) are negatives, the twin's closest sentence first among them.
- RealTime QA's dev questions of the tune half whose answer is in their evidence: the evidence
  sentence holding the answer is a positive; the other evidence sentences and sentences of the
  articles the benchmark retrieved for the question (not holding the answer) are negatives.
- `train/reader/traces/` (the same articles kept out): the sentences the product
  read for the questions of `more/`, each labelled by reading it; where a pair is also made
  above, this label wins.

Each answerable question is also asked of up to 3 other people of its article (`swapped`: "How
old is Putin?" for "How old is Tokayev?"), a negative for its answering sentence; and each
written question of `questions.jsonl` is also asked in the other words of `paraphrases.jsonl`
(`paraphrased`), with its sentence and `PARAPHRASE_NEGATIVES` others. Both make the shipped
reader's data; `--no-swaps` and `--no-paraphrases` leave them out (the swaps alone gave a reader
that answered more unanswerable questions: docs/figures.md, "A fifth reader").

Not in the shipped reader's data, measured and not shipped (docs/figures.md, "A ninth reader", "An
eighth reader"): `--more-paraphrases`, the questions of `more/` in other words
(`more/paraphrases.jsonl`); `--near-misses`, the questions of `near-misses.jsonl`, each an
unanswerable question whose closest sentence is the answering sentence it was written for, with
`NEAR_MISS_NEGATIVES` others; and `--second-wordings`, each answerable question in a second wording
(`paraphrases-2.jsonl`), people named by their role where the sentence gives one, with
`SECOND_WORDING_NEGATIVES` others.

For the language model's check, `claim-pairs.jsonl`: each (claim, excerpt) of `CLAIMS`,
labelled 1 when the excerpt supports the claim (the claim in the question's place, the excerpt in
the sentence's); each faithful claim with two of its names exchanged (`swapped_names`), a claim
it does not support; and each sentence of each excerpt as a claim it supports. Two files of
`claims-2/` are kept out (`CLAIMS_KEPT`): the checker's threshold is chosen on them
(`benchmarks/claim_check.py --fit`; the shipped checker: docs/llm-and-mcp.md).

Each pair carries the sentence before its sentence in the article (`before`, for a reader trained
with context) and a `group` (its article, or its RealTime QA question) so that validation can hold
whole articles out. Deterministic: the same files give the same pairs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.eval.datasets import split_of  # noqa: E402
from qa.ingest.chunking import split_sentences  # noqa: E402
from qa.text import holds, names  # noqa: E402

HERE = ROOT / "train" / "reader"
SHARED = ROOT.parent / "shared"
BBC = SHARED / "corpora" / "bbc-news" / "corpus.jsonl"
RTQA = SHARED / "eval" / "realtimeqa"
TRACES = HERE / "traces"
NEGATIVES = 6  # other sentences of the article per question
DISTRACTORS = 4  # sentences of retrieved articles per RealTime QA question
PARAPHRASE_NEGATIVES = 3  # other sentences of the article per question in other words
NEAR_MISS_NEGATIVES = 2  # other sentences of the article per near miss
SECOND_WORDING_NEGATIVES = 1  # other sentences of the article per answerable question's 2nd wording
PARAPHRASES = (HERE / "paraphrases.jsonl",)
CLAIMS_KEPT = (HERE / "claims-2" / "claims-2.jsonl", HERE / "claims-2" / "claims-3.jsonl")
CLAIMS = (
    HERE / "claims.jsonl",
    HERE / "more" / "claims.jsonl",
    *[p for p in sorted((HERE / "claims-2").glob("claims-*.jsonl")) if p not in CLAIMS_KEPT],
    *sorted((HERE / "claims-3").glob("claims-*.jsonl")),
)
MORE_PARAPHRASES = (HERE / "more" / "paraphrases.jsonl",)
SECOND_WORDINGS = (HERE / "paraphrases-2.jsonl",)
SWAPS = 3  # questions asked of another person of the article, per answerable question
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr")
SPEAKS = "(?:said|says|told|added|admitted|believes|explained|insisted|claimed|warned|argued)"
SEED = 20


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def same(a: str, b: str) -> bool:
    """One sentence, whatever the splitter and the writer took as its ends."""
    a, b = " ".join(a.split()), " ".join(b.split())
    return bool(a and b) and (a in b or b in a)


def with_before(found: list[str]) -> list[tuple[str, str]]:
    """Each sentence with the sentence before it in its article (empty for the first)."""
    return list(zip(found, [""] + found[:-1], strict=True))


def before_in(text: str, sentence: str) -> str:
    """The sentence before `sentence` in the article `text` (empty for the first)."""
    return next((b for s, b in with_before(sentences(text)) if same(s, sentence)), "")


def pair(
    question: str, title: str, sentence: str, label: int, source: str, group: str, before: str = ""
) -> dict:
    return {"question": question, "title": title, "sentence": sentence, "before": before,
            "label": label, "source": source, "group": group}  # fmt: skip


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in read_jsonl(path)}


def checking(article_id: str) -> bool:
    """Half of the articles of `more/` (by a hash of the id) are kept out of training, with
    their questions and labelled traces: they measure one reader against the next
    (`train/compare_readers.py`)."""
    return hashlib.sha256(article_id.encode()).digest()[0] % 2 == 1


def checked_articles() -> set[str]:
    """The articles of `more/` kept out of training, to compare readers on."""
    return {
        q["article_id"]
        for q in read_jsonl(HERE / "more" / "questions.jsonl")
        if checking(q["article_id"])
    }


def questions() -> list[dict]:
    """The written questions: all of `questions.jsonl`, and those of `more/` whose article is
    not kept for checking."""
    more = [
        q for q in read_jsonl(HERE / "more" / "questions.jsonl") if not checking(q["article_id"])
    ]
    return read_jsonl(HERE / "questions.jsonl") + more


def written(found: list[tuple[str, str]], question: dict) -> tuple[str, str] | None:
    """The sentence the writer gave with `question`, with the one before it, among the
    article's sentences `found`; None where it spans two of the splitter's (not a clean pair)."""
    return next(((s, b) for s, b in found if same(s, question["sentence"])), None)


def bbc_pairs(rng: random.Random, asked: list[dict], negatives: int = NEGATIVES) -> list[dict]:
    articles = by_id(BBC)
    rows = []
    for q in asked:
        article = articles[q["article_id"]]
        found = with_before(sentences(article["text"]))
        if (gold := written(found, q)) is None:
            continue
        title, group = article["title"], q["article_id"]
        (sentence, before), answerable = gold, q["kind"] == "answerable"
        source = "bbc" if answerable else "bbc-twin"
        rows.append(pair(q["question"], title, sentence, int(answerable), source, group, before))
        others = [(s, b) for s, b in found if not same(s, sentence)]
        if answerable:
            others = [(s, b) for s, b in others if not holds(s, q["answer"])]
        for s, b in rng.sample(others, min(negatives, len(others))):
            rows.append(pair(q["question"], title, s, 0, "bbc", group, b))
    return rows


def paraphrased(asked: list[dict], files: tuple[Path, ...] = PARAPHRASES) -> list[dict]:
    """The questions of `asked` that `files` word again, each in its new words: the same answer
    from the same sentence (or, for a twin, the same thing not stated), asked with other words
    than the sentence's, so that the reader learns the fact, not the words."""
    again = {r["id"]: r["paraphrase"] for path in files for r in read_jsonl(path)}
    return [q | {"question": again[q["id"]]} for q in asked if q["id"] in again]


def near_misses() -> list[dict]:
    """The near misses of `near-misses.jsonl`: for an answering sentence of a written question, a
    question on its people or event that it seems to answer and does not ("Where did Nazarbayev
    fly to?" over "Nazarbayev flew out of Kazakhstan"), nor does its article; each an
    unanswerable question whose closest sentence is that one."""
    checked = checked_articles()
    return [
        r | {"kind": "unanswerable", "answer": None}
        for r in read_jsonl(HERE / "near-misses.jsonl")
        if r["article_id"] not in checked
    ]


def people(text: str) -> list[str]:
    """The people an article names, as far as its words tell: a name of one to three
    capitalised words whose last follows a title ("Mr Schwartz") or speaks ("Sella admitted",
    "said Aragones")."""
    found = []
    for name in names(text, openings=False):
        words = [w for w in name.split() if w not in TITLES]
        if not 1 <= len(words) <= 3 or not all(w[:1].isupper() and w[1:].islower() for w in words):
            continue
        last, titled = re.escape(words[-1]), "|".join(TITLES)
        pattern = rf"\b(?:(?:{titled}) {last}|{last} {SPEAKS}|{SPEAKS} (?:[A-Z][a-z]+ )?{last})\b"
        if re.search(pattern, text):
            found.append(" ".join(words))
    return list(dict.fromkeys(found))


def mentions(text: str, person: str) -> bool:
    return bool(re.search(rf"\b{re.escape(person.split()[-1])}\b", text))


def swapped(question: str, sentence: str, cast: list[str], rng: random.Random) -> list[str]:
    """The question asked of other people of its article ("How old is Putin?" for "How old is
    Tokayev?" and "Tokayev, 68, asked Putin ..."), those its answering sentence also names first:
    twins that sentence does not answer though it may hold both names, to teach the reader whom a
    fact is about. None when the question names no person of the sentence."""
    asked = [p for p in cast if mentions(question, p) and mentions(sentence, p)]
    if not asked:
        return []
    name = max(asked, key=len)
    held = name if re.search(rf"\b{re.escape(name)}\b", question) else name.split()[-1]
    taken = {w for n in names(question, openings=False) for w in n.split()}
    others = [p for p in cast if not set(p.split()) & taken]
    near = [p for p in others if mentions(sentence, p)]
    far = [p for p in others if p not in near]
    chosen = rng.sample(near, min(SWAPS, len(near)))
    chosen += rng.sample(far, min(SWAPS - len(chosen), len(far)))
    return [
        re.sub(rf"\b{re.escape(held)}\b", p if " " in held else p.split()[-1], question, count=1)
        for p in chosen
    ]


def swap_pairs(rng: random.Random, asked: list[dict]) -> list[dict]:
    """Each answerable question's answering sentence, a negative for the same question asked of
    other people of the article (`swapped`)."""
    articles = by_id(BBC)
    rows = []
    for q in asked:
        if q["kind"] != "answerable":
            continue
        article = articles[q["article_id"]]
        if (gold := written(with_before(sentences(article["text"])), q)) is None:
            continue
        (sentence, before), title = gold, article["title"]
        for twin in swapped(q["question"], sentence, people(article["text"]), rng):
            rows.append(pair(twin, title, sentence, 0, "bbc-swap", q["article_id"], before))
    return rows


def rtqa_pairs(rng: random.Random) -> list[dict]:
    corpus = by_id(RTQA / "corpus.jsonl")
    rows = []
    queries = read_jsonl(RTQA / "queries.jsonl")
    for q in queries:
        if split_of(q["question"]) != "tune" or not q.get("answer_in_evidence"):
            continue
        evidence = corpus[q["evidence"][0]["article_id"]]
        found = with_before(sentences(evidence["text"]))
        if not any(holds(s, q["answer"]) for s, _ in found):
            continue
        group = "rtqa-" + q["id"]
        for s, b in found:
            label = int(holds(s, q["answer"]))
            rows.append(pair(q["question"], evidence["title"], s, label, "rtqa", group, b))
        pool = [
            (corpus[d]["title"], s, b)
            for d in q.get("search_result_ids", [])
            if d in corpus
            for s, b in with_before(sentences(corpus[d]["text"]))
            if not holds(s, q["answer"])
        ]
        for title, s, b in rng.sample(pool, min(DISTRACTORS, len(pool))):
            rows.append(pair(q["question"], title, s, 0, "rtqa", group, b))
    return rows


def labelled_traces() -> list[dict]:
    """The product's own candidates for the questions of `more/` (`train/traces.py`), each with
    its label read from `labels-NN.jsonl` (1: it answers) and its question's article as `group`.
    A batch is taken whole or not at all."""
    article_of = {q["id"]: q["article_id"] for q in read_jsonl(HERE / "more" / "questions.jsonl")}
    texts = {aid: row["text"] for aid, row in by_id(BBC).items()}
    rows = []
    for asked_file in sorted(TRACES.glob("to-label-*.jsonl")):
        done = TRACES / asked_file.name.replace("to-label", "labels")
        labels = {r["qid"]: set(r["answers"]) for r in read_jsonl(done)} if done.exists() else {}
        asked = read_jsonl(asked_file)
        if any(q["qid"] not in labels for q in asked):
            print(f"{asked_file.name} left out: {len(labels)} of {len(asked)} questions labelled")
            continue
        for q in asked:
            for c in q["candidates"]:
                label = int(c["n"] in labels[q["qid"]])
                before = before_in(texts[c["article_id"]], c["sentence"])
                rows.append(
                    pair(q["question"], c["title"], c["sentence"], label, "trace",
                         article_of[q["qid"]], before) | {"qid": q["qid"]}
                )  # fmt: skip
    return rows


def trace_pairs() -> list[dict]:
    """The labelled traces of the articles not kept for checking."""
    return [r for r in labelled_traces() if not checking(r["group"])]


def deduplicated(rows: list[dict]) -> list[dict]:
    """One pair per (question, sentence): the last one's label, so a pair labelled by reading
    the trace wins over one labelled by where the writer took the question from."""
    found: dict[tuple[str, str], dict] = {}
    for row in rows:
        found.pop((row["question"], row["sentence"]), None)
        found[(row["question"], row["sentence"])] = row
    return list(found.values())


def swapped_names(claim: str) -> str | None:
    """`claim` with its first two names exchanged ("Chelsea beat Arsenal" → "Arsenal beat
    Chelsea"), or None when it has fewer than two or they are joined ("Ask Jeeves and Blinkx"
    say the same either way)."""
    found = [n for n in names(claim) if len(n) > 2]
    distinct = [n for n in found if not any(n != m and n in m for m in found)]
    if len(distinct) < 2:
        return None
    first, second = distinct[:2]
    joiner = r"\s*(?:,|and|or|&|/)\s*"
    a, b = re.escape(first), re.escape(second)
    if re.search(a + joiner + b, claim) or re.search(b + joiner + a, claim):
        return None
    swapped = re.sub(f"{a}|{b}", lambda m: second if m.group(0) == first else first, claim)
    return swapped if swapped != claim else None


def claim_pairs() -> list[dict]:
    titles = {aid: row["title"] for aid, row in by_id(BBC).items()}
    rows = []
    excerpts: dict[str, str] = {}
    for path in CLAIMS:
        for c in read_jsonl(path):
            label = int(c["label"] == "supported")
            source = "claim" if label else f"claim-{c['error']}"
            title = titles[c["article_id"]]
            rows.append(pair(c["claim"], title, c["excerpt"], label, source, c["article_id"]))
            excerpts[c["excerpt"]] = c["article_id"]
            swapped = swapped_names(c["claim"]) if label else None
            if swapped:
                rows.append(pair(swapped, title, c["excerpt"], 0, "claim-swap", c["article_id"]))
    # A sentence of the excerpt, word for word, is what it says: without these the false claims,
    # written close to the excerpt's words, teach that closeness means false.
    for excerpt, article_id in excerpts.items():
        for s in sentences(excerpt):
            rows.append(pair(s, titles[article_id], excerpt, 1, "claim-copy", article_id))
    return rows


def write(rows: list[dict], name: str) -> None:
    out = HERE / name
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    positives = sum(r["label"] for r in rows)
    print(f"{len(rows)} pairs ({positives} positive) in {out.relative_to(ROOT)}")
    for source in sorted({r["source"] for r in rows}):
        part = [r for r in rows if r["source"] == source]
        print(f"  {source}: {len(part)} pairs, {sum(r['label'] for r in part)} positive")


# --flag: (on by default, what it adds). The shipped reader's data has the first two; with
# --no-swaps --no-paraphrases the older recipe; the rest were measured and not shipped.
EXTRAS = {
    "swaps": (True, "add each answerable question asked of other people"),
    "paraphrases": (True, "add each written question in other words"),
    "more-paraphrases": (False, "add the questions of more/ in other words too"),
    "second-wordings": (False, "add each answerable question in a second wording, by role"),
    "near-misses": (False, "add the questions an answering sentence seems to answer and does not"),
}


def worded(on: bool, asked: list[dict], negatives: int) -> list[dict]:
    """The pairs of questions asked again (other words, near misses), when their flag is on."""
    return bbc_pairs(random.Random(SEED), asked, negatives) if on else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, (default, text) in EXTRAS.items():
        parser.add_argument(
            f"--{flag}", action=argparse.BooleanOptionalAction, default=default, help=text
        )
    args = parser.parse_args()
    rng = random.Random(SEED)
    asked = questions()
    # a twin that is also a written question keeps the written one's label: the later wins
    swaps = swap_pairs(random.Random(SEED), asked) if args.swaps else []
    wordings = PARAPHRASES + (MORE_PARAPHRASES if args.more_paraphrases else ())
    again = worded(args.paraphrases, paraphrased(asked, wordings), PARAPHRASE_NEGATIVES)
    second = worded(
        args.second_wordings, paraphrased(asked, SECOND_WORDINGS), SECOND_WORDING_NEGATIVES
    )
    misses = worded(args.near_misses, near_misses(), NEAR_MISS_NEGATIVES)
    written_pairs = bbc_pairs(rng, asked)
    made = swaps + again + second + misses + written_pairs + rtqa_pairs(rng) + trace_pairs()
    write(deduplicated(made), "pairs.jsonl")
    write(claim_pairs(), "claim-pairs.jsonl")


if __name__ == "__main__":
    main()
