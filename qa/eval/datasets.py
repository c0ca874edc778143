"""Evaluation datasets: read a folder into queries and relevance judgements, or say what is wrong.

Two layouts are read as they are:

- **native** (the folders under `eval/` and `../shared/eval/`): `queries.jsonl` with one
  `{"id", "question", "answer", "type", "evidence": [{"article_id", "fact"}]}` per line (an empty
  `evidence` list marks a question the corpus cannot answer), and `corpus.jsonl` beside it or
  named by `dataset.json`: `{"name", "corpus": "relative/path.jsonl" or a list of such paths,
  "queries": "another/queries.jsonl", "held_out": true}`, every key optional.
- **BEIR**: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
  `qrels/test.tsv` (`query-id  corpus-id  score`, a header line). Only queries with a positive
  judgement are evaluated, as in BEIR itself; BEIR has no evidence sentences and no gold answers.

Relevance is binary: a query's relevant set is its evidence articles (`Query.relevant`, the one
place it is defined).

**Tune and test halves.** Every query belongs to one half by a fixed rule on its text
(`split_of`), so a set can be tuned on one half and reported on the other, and the halves never
change as code changes. A dataset whose `dataset.json` says `"held_out": true` was written to
be tested on only: it has no tune half, and asking for one is an error.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.errors import UsageError

QRELS_FILES = ("test.tsv", "dev.tsv", "train.tsv")  # BEIR splits, in the order we look for them
SPLITS = ("all", "tune", "test")


def split_of(question: str) -> str:
    """ "tune" or "test": the parity of the second byte of sha256(question). (RealTime QA's own
    dev/test rule uses the first byte's, so its dev half splits evenly by this one.)"""
    return "test" if hashlib.sha256(question.encode("utf-8")).digest()[1] % 2 else "tune"


@dataclass(frozen=True)
class Evidence:
    article_id: str
    fact: str | None = None  # an evidence sentence, verbatim from the article, when given


@dataclass(frozen=True)
class Query:
    id: str
    question: str
    type: str
    answer: str | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)

    @property
    def relevant(self) -> dict[str, int]:
        """The relevance judgements: `{article id: 1}` for each evidence article."""
        return {ev.article_id: 1 for ev in self.evidence}

    @property
    def facts(self) -> tuple[Evidence, ...]:
        """The evidence items that quote a sentence."""
        return tuple(ev for ev in self.evidence if ev.fact)


@dataclass(frozen=True)
class Dataset:
    name: str
    folder: Path
    corpora: tuple[Path, ...]  # the corpus files (or folders) its articles come from
    layout: str  # "native" or "beir"
    queries: list[Query]
    # Evidence that names an article the corpus lacks: (query id, article id). Filled by
    # `check_evidence`; such evidence is dropped from the judgements, never fatal.
    unknown_evidence: list[tuple[str, str]] = field(default_factory=list)
    held_out: bool = False  # written to be tested on only (see the module's docstring)
    split: str = "all"  # which queries `queries` holds: all, or the tune or test half

    @property
    def has_facts(self) -> bool:
        return any(q.facts for q in self.queries)


def qrels(queries: Iterable[Query]) -> dict[str, dict[str, int]]:
    """`{query id: {article id: 1}}` for the answerable queries (ranx needs non-empty sets)."""
    return {q.id: q.relevant for q in queries if q.answerable}


def load_dataset(folder: Path, split: str = "all") -> Dataset:
    """Read a dataset folder (native or BEIR layout), keeping the queries of `split`; a bad one
    raises `UsageError`."""
    folder = Path(folder)
    if split not in SPLITS:
        raise UsageError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")
    if not folder.is_dir():
        raise UsageError(
            f"Dataset folder {folder} does not exist: give a folder that holds "
            "queries.jsonl and corpus.jsonl."
        )
    meta = _read_meta(folder)
    named = meta.get("corpus") or "corpus.jsonl"
    corpora = tuple((folder / p).resolve() for p in ([named] if isinstance(named, str) else named))
    queries_path = (folder / meta.get("queries", "queries.jsonl")).resolve()
    held_out = bool(meta.get("held_out"))
    if held_out and split == "tune":
        raise UsageError(
            f"Dataset {folder} is held out (dataset.json): it has no tune half, by design. "
            "Tune on another set; evaluate this one with --split all or test."
        )
    for path, what in ((queries_path, "queries"), *((c, "corpus") for c in corpora)):
        if not path.exists():
            raise UsageError(
                f"Dataset {folder}: the {what} file {path} is missing. A dataset folder holds "
                "queries.jsonl and corpus.jsonl (or a dataset.json naming the corpus)."
            )
    rows = read_jsonl(queries_path)
    qrels_path = _qrels_path(folder)
    if qrels_path is not None:
        queries, layout = _beir_queries(rows, read_qrels(qrels_path), queries_path), "beir"
    else:
        queries, layout = [_native_query(row, queries_path, n) for n, row in rows], "native"
    if not queries:
        raise UsageError(f"Dataset {folder}: {queries_path} holds no queries to evaluate.")
    seen: set[str] = set()
    for q in queries:
        if q.id in seen:
            raise UsageError(f"Dataset {folder}: query id {q.id!r} appears twice.")
        seen.add(q.id)
    name = str(meta.get("name") or folder.resolve().name)
    if split != "all" and not held_out:
        queries = [q for q in queries if split_of(q.question) == split]
    return Dataset(name, folder, corpora, layout, queries, held_out=held_out, split=split)


def check_evidence(dataset: Dataset, article_ids: set[str]) -> Dataset:
    """The dataset without evidence for articles the corpus lacks; what was dropped is counted.

    A query left with no evidence at all is dropped too (it was answerable; calling it
    unanswerable would be wrong), and each dropped pair stays listed in `unknown_evidence`.
    """
    unknown: list[tuple[str, str]] = []
    kept: list[Query] = []
    for q in dataset.queries:
        evidence = tuple(ev for ev in q.evidence if ev.article_id in article_ids)
        unknown += [(q.id, ev.article_id) for ev in q.evidence if ev.article_id not in article_ids]
        if q.evidence and not evidence:
            continue
        kept.append(Query(q.id, q.question, q.type, q.answer, evidence))
    return replace(dataset, queries=kept, unknown_evidence=unknown)


def corpus_digest(paths: tuple[Path, ...]) -> str:
    """sha256 of the corpus bytes (of every file, sorted by path, for a folder)."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path) if path.is_dir() else "").encode())
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """`(line number, object)` for each non-empty line; a broken line names its number."""
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start}).") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UsageError(
                f"{path} line {number}: not valid JSON ({e.msg}, column {e.colno}); "
                "each line must be one JSON object."
            ) from None
        if not isinstance(row, dict):
            raise UsageError(f"{path} line {number}: expected a JSON object, got {row!r:.40}.")
        rows.append((number, row))
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels: tab-separated `query-id corpus-id score`, an optional header line."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            if not row or (number == 1 and row[0] == "query-id"):
                continue
            try:
                qid, doc, score = row[0], row[1], int(row[2])
            except (IndexError, ValueError):
                raise UsageError(
                    f"{path} line {number}: expected 'query-id<TAB>corpus-id<TAB>score' "
                    f"with an integer score, got {chr(9).join(row)!r:.80}."
                ) from None
            if score > 0:
                qrels.setdefault(qid, {})[doc] = score
    return qrels


def _read_meta(folder: Path) -> dict:
    path = folder / "dataset.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON ({e.msg}, line {e.lineno}).") from None
    if not isinstance(meta, dict):
        raise UsageError(f'{path}: expected a JSON object like {{"corpus": "..."}}.')
    corpus, queries = meta.get("corpus"), meta.get("queries")
    paths_ok = isinstance(corpus, list) and corpus and all(isinstance(c, str) for c in corpus)
    if corpus is not None and not (isinstance(corpus, str) or paths_ok):
        raise UsageError(f'{path}: "corpus" must be a relative path or a list of them.')
    if queries is not None and not isinstance(queries, str):
        raise UsageError(f'{path}: "queries" must be a relative path.')
    return meta


def _qrels_path(folder: Path) -> Path | None:
    for name in QRELS_FILES:
        if (folder / "qrels" / name).is_file():
            return folder / "qrels" / name
    return None


def _native_query(row: dict, path: Path, number: int) -> Query:
    question = row.get("question") or row.get("query")
    qid = row.get("id") or row.get("_id")
    if not isinstance(question, str) or not question.strip() or qid is None:
        raise UsageError(f'{path} line {number}: a query needs an "id" and a non-empty "question".')
    evidence = []
    for ev in row.get("evidence") or []:
        if not isinstance(ev, dict) or not ev.get("article_id"):
            raise UsageError(
                f'{path} line {number}: each evidence item needs an "article_id" '
                '(and, optionally, a "fact" quoted from that article).'
            )
        evidence.append(Evidence(str(ev["article_id"]), ev.get("fact") or None))
    answer = row.get("answer")
    kind = row.get("type") or ("answerable" if evidence else "unanswerable")
    return Query(
        str(qid), question.strip(), str(kind), str(answer) if answer else None, tuple(evidence)
    )


def _beir_queries(
    rows: list[tuple[int, dict]], qrels: dict[str, dict[str, int]], path: Path
) -> list[Query]:
    queries = []
    for number, row in rows:
        qid, text = row.get("_id", row.get("id")), row.get("text", row.get("question"))
        if qid is None or not isinstance(text, str):
            raise UsageError(f'{path} line {number}: a BEIR query needs "_id" and "text".')
        judged = qrels.get(str(qid))
        if judged:  # BEIR evaluates only the queries its qrels judge
            evidence = tuple(Evidence(doc) for doc in judged)
            queries.append(Query(str(qid), text.strip(), "beir", None, evidence))
    return queries
