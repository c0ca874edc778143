"""Evaluation datasets: read a folder into queries and relevance judgements, or say what is wrong.

Two layouts are read as they are:

- **native** (the folders under `eval/` and `../shared/eval/`): `queries.jsonl` with one
  `{"id", "question", "answer", "type", "evidence": [{"article_id", "fact"}]}` per line (an empty
  `evidence` list marks a question the corpus cannot answer), and `corpus.jsonl` beside it or
  named by `dataset.json` (`{"name", "corpus": "relative/path.jsonl"}`).
- **BEIR**: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`) and
  `qrels/test.tsv` (`query-id  corpus-id  score`, a header line). Only queries with a positive
  judgement are evaluated, as in BEIR itself; BEIR has no evidence sentences and no gold answers.

Relevance is binary: a query's relevant set is its evidence articles.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import UsageError

QRELS_FILES = ("test.tsv", "dev.tsv", "train.tsv")  # BEIR splits, in the order we look for them


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


@dataclass(frozen=True)
class Dataset:
    name: str
    folder: Path
    corpus: Path
    layout: str  # "native" or "beir"
    queries: list[Query]
    # Evidence that names an article the corpus lacks: (query id, article id). Filled by
    # `check_evidence`; such evidence is dropped from the judgements, never fatal.
    unknown_evidence: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_facts(self) -> bool:
        return any(ev.fact for q in self.queries for ev in q.evidence)

    def qrels(self) -> dict[str, dict[str, int]]:
        """`{query id: {article id: 1}}` for the answerable queries (ranx needs non-empty sets)."""
        return {q.id: {ev.article_id: 1 for ev in q.evidence} for q in self.queries if q.answerable}


def load_dataset(folder: Path) -> Dataset:
    """Read a dataset folder (native or BEIR layout); a bad one raises `UsageError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(
            f"Dataset folder {folder} does not exist: give a folder that holds "
            "queries.jsonl and corpus.jsonl."
        )
    meta = _read_meta(folder)
    corpus = (folder / meta["corpus"]).resolve() if meta.get("corpus") else folder / "corpus.jsonl"
    queries_path = folder / "queries.jsonl"
    for path, what in ((queries_path, "queries"), (corpus, "corpus")):
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
    return Dataset(name, folder, corpus, layout, queries)


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
    return Dataset(dataset.name, dataset.folder, dataset.corpus, dataset.layout, kept, unknown)


def corpus_digest(path: Path) -> str:
    """sha256 of the corpus bytes (of every file, sorted by path, for a folder)."""
    digest = hashlib.sha256()
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
