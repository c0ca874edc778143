"""Retrieval evaluation: run a dataset's queries through the chat's own retrieval and answer code.

Each query is retrieved once per mode: the chunk ranking is collapsed into an article ranking
(first occurrence order) for the article-level metrics, the top chunks are checked for the
evidence sentences, and the first `settings.top_k` chunks go to `compose.compose`, exactly as
`Engine.ask` does, for the answer-level figures. Retrieval metrics come from ranx; results are
plain dicts in the `qa eval --json` shape (see ../shared/DESIGN.md).

Modes are `retrieval`'s (dense, bm25, rrf, hybrid), each through `Engine.search(question, k,
mode=...)`; an index without its keyword part offers dense alone and the others are reported as
not available, with the command that adds them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings, choice, shown
from qa.embed.embedding import Embedder, resolve_precision
from qa.errors import QAError, UsageError, need
from qa.eval.datasets import Dataset, Query, check_evidence, corpus_digest, qrels
from qa.eval.intervals import Mark, answer_intervals
from qa.index import ann, store
from qa.index.indexing import build_index, chunking_params, keyword_params, update_index
from qa.text import holds, normalise

NOT_YET = "mode {mode} needs the index's keyword part: run `qa index update` on it"
DEPTH = 10  # metrics are @10
# hit@k is "at least one relevant item in the top k" (ranx calls it hits@k>0; we report a rate)
ARTICLE_METRICS = (
    "hit@1", "hit@4", "hit@10", "recall@10", "mrr@10", "ndcg@10", "map@10", "all@5", "all@10"
)  # fmt: skip
EVIDENCE_METRICS = ("hit@1", "hit@4", "hit@10", "recall@10", "mrr@10", "ndcg@10")
_RANX_NAMES = {
    "hit@1": "hit_rate@1",
    "hit@4": "hit_rate@4",
    "hit@10": "hit_rate@10",
    "recall@10": "recall@10",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
    "map@10": "map@10",
}
# Test of the paired differences between modes (ranx.compare), and its threshold.
STAT_TEST, MAX_P = "student", 0.05
WORST_LISTED = 20

Progress = Callable[[str, int, int], None]


# ---------------------------------------------------------------- the cached index of a corpus


def cache_folder(settings: Settings, dataset: Dataset, precision: str | None = None) -> Path:
    """`<eval_cache>/<corpus name>-<key>`: the key hashes the corpus bytes and the index
    settings, so datasets over the same corpus (BBC dev, tune and test) share one index.
    `precision` is the embedder's (default: what `settings.precision` resolves to here)."""
    key = {
        "corpus": corpus_digest(dataset.corpora),
        "model": settings.model,
        "chunking": chunking_params(settings),
        "format": store.FORMAT_VERSION,
    }
    precision = precision or resolve_precision(settings.precision)[0]
    if precision != "fp32":  # fp32 caches keep the key they had before precision was a setting
        key["precision"] = precision
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = "+".join(p.parent.name if p.stem == "corpus" else p.stem for p in dataset.corpora)
    safe = re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-") or "corpus"
    return settings.eval_cache / f"{safe}-{digest}"


def ensure_index(
    settings: Settings, dataset: Dataset, embedder: Embedder, progress: Progress | None = None
) -> tuple[Settings, bool]:
    """Settings pointing at the dataset's cached index, built first when missing; and whether
    it was built now. The user's own `settings.index` is never read or written."""
    folder = cache_folder(settings, dataset, embedder.precision)
    cached = settings.with_(corpus=_corpus_path(dataset, folder), index=folder)
    try:
        manifest = store.read_manifest(folder)
        if manifest.get("model") == settings.model and manifest.get("chunking") == (
            chunking_params(settings)
        ):
            wanted = ann.choose(settings.index_type, manifest.get("counts", {}).get("chunks", 0))
            same_kind = ann.Spec.from_json(manifest.get("faiss")) == wanted
            if manifest.get("keyword") == keyword_params() and same_kind:
                return cached, False
            update_index(cached, embedder, progress)  # keyword part or FAISS kind: no embedding
            return cached, True
    except QAError:
        pass  # nothing usable there yet: build it
    folder.mkdir(parents=True, exist_ok=True)
    build_index(cached, embedder, progress)
    return cached, True


def _corpus_path(dataset: Dataset, folder: Path) -> Path:
    """The dataset's corpus as one path: itself, or for several files a folder of copies of
    them beside the cached index ("the seed article among the BBC stories")."""
    if len(dataset.corpora) == 1:
        return dataset.corpora[0]
    joined = folder.with_name(folder.name + ".corpus")
    if not joined.is_dir():
        tmp = folder.with_name(f".tmp-{folder.name}.corpus")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for n, part in enumerate(dataset.corpora):
            target = tmp / f"{n:02d}-{part.name}"
            (shutil.copytree if part.is_dir() else shutil.copy2)(part, target)
        tmp.rename(joined)
    return joined


# ---------------------------------------------------------------- modes


def available_modes(engine: Any) -> tuple[str, ...]:
    """The modes this engine can retrieve with: `dense` always, the others with a keyword part."""
    return ("dense", *(m for m in getattr(engine, "modes", ()) if m != "dense"))


def _retrieve(engine: Any, question: str, k: int, mode: str) -> tuple[np.ndarray, list]:
    return engine.search(question, k, mode=mode)


# ---------------------------------------------------------------- running the queries


@dataclass(frozen=True)
class Outcome:
    """What one query gave in one mode: the rankings, the answer, and the time each took."""

    query: Query
    articles: list[tuple[str, float]]  # article ranking: (id, best chunk score), best first
    hits: list[Any]  # the chunk ranking (`qa.answer.retrieval.Hit`), best first
    outcome: str  # "answer", "closest" or "none" (`qa.answer.compose`)
    answer: str
    # (article id, quoted text) of each citation it would give, in order, abstaining or not:
    # the risk–coverage curve asks how right answers would be at every threshold
    offered: list[tuple[str, str]]
    confidence: float  # the answer's confidence (the probability it is right)
    retrieve_ms: float  # embedding the question + the search
    answer_ms: float  # the whole answer: retrieval + composing it

    @property
    def abstained(self) -> bool:
        return self.outcome != "answer"

    @property
    def quotes(self) -> list[tuple[str, str]]:
        """The quotes given as the answer: none unless the outcome is "answer"."""
        return [] if self.abstained else self.offered

    @property
    def shown(self) -> list[tuple[str, str]]:
        """The quotes the user sees: as the answer or as the closest the articles come."""
        return [] if self.outcome == "none" else self.offered


def run_queries(
    engine: Any, queries: list[Query], mode: str, k: int, progress: Progress | None = None
) -> list[Outcome]:
    """Every query through retrieval and `compose`, as `Engine.ask` does, timed in-process.

    `compose` runs with abstention off and its confidence is then held against the threshold,
    which is what `compose` itself does, so the quotes an abstention withheld are known too.
    """
    from qa.answer.compose import CLOSEST, NOT_FOUND, compose

    depth = max(5 * k, 50)  # chunks to fetch so that about k distinct articles remain
    report = progress or (lambda stage, done, total: None)
    threshold = engine.threshold
    offer = replace(engine.policy, threshold=-math.inf)
    outcomes = []
    if queries:  # warm-up: the first call pays one-time allocations, not a user's latency
        _retrieve(engine, queries[0].question, depth, mode)
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        vector, hits = _retrieve(engine, q.question, depth, mode)
        t1 = time.perf_counter()
        split = engine.question_parts(q.question, mode=mode)
        answer = compose(
            q.question, vector, hits[: engine.settings.top_k], engine.index, offer, split
        )
        t2 = time.perf_counter()
        conf = answer.confidence
        # compose's own rule (`qa.answer.compose.compose`), held against the real threshold
        if not answer.citations:
            outcome, text = "none", NOT_FOUND
        elif replace(conf, threshold=threshold).answers:
            outcome, text = "answer", answer.text
        elif answer.trace and answer.trace["on_topic"]:
            outcome, text = "closest", f"{CLOSEST} {answer.text}"
        else:
            outcome, text = "none", NOT_FOUND
        outcomes.append(
            Outcome(
                query=q,
                articles=collapse(hits),
                hits=hits,
                outcome=outcome,
                answer=text,
                offered=[(c.article_id, c.quote) for c in answer.citations],
                confidence=conf.value if conf else 0.0,
                retrieve_ms=(t1 - t0) * 1000,
                answer_ms=(t2 - t0) * 1000,
            )
        )
        report(f"{mode} queries", i + 1, len(queries))
    return outcomes


def collapse(hits: list[Any]) -> list[tuple[str, float]]:
    """The chunk ranking as an article ranking: each article at its first (best) chunk."""
    seen: dict[str, float] = {}
    for hit in hits:
        seen.setdefault(hit.chunk.article_id, hit.score)
    return list(seen.items())


# ---------------------------------------------------------------- metrics


def ranking_metrics(
    qrels: dict[str, dict[str, int]], run: dict[str, list[str]], k: int = DEPTH
) -> dict[str, dict[str, float]]:
    """Per-query retrieval metrics: `{metric: {query id: value}}`, from ranx plus `all@k`.

    `run` gives each query's ranked ids, best first. ranx orders a run by score, so the scores
    handed to it are decreasing by rank (`len - position`): ties cannot reorder the ranking.
    Every query in `qrels` must have a non-empty relevant set (ranx needs one).
    """
    import warnings

    need("ranx", "eval", "qa eval")
    from ranx import Qrels, Run, evaluate

    names = metric_names(k)
    ranx_names = [_ranx_name(m) for m in names if not m.startswith("all@")]
    runs = {qid: _scored(run.get(qid, [])) for qid in qrels}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 cast notice inside ranx
        ranx_run = Run(runs)
        evaluate(Qrels(qrels), ranx_run, ranx_names, make_comparable=True)
    per_query: dict[str, dict[str, float]] = {}
    for name in names:
        if name.startswith("all@"):
            # all@n (not in ranx): 1 when every relevant id is in the top n, else 0.
            n = int(name.split("@")[1])
            per_query[name] = {
                qid: float(set(rel) <= set(run.get(qid, [])[:n])) for qid, rel in qrels.items()
            }
        else:
            scores = ranx_run.scores[_ranx_name(name)]
            per_query[name] = {qid: float(scores[qid]) for qid in qrels}
    return per_query


def metric_names(k: int = DEPTH) -> list[str]:
    cutoffs = [c for c in (1, 4) if c < k]
    return (
        [f"hit@{c}" for c in cutoffs]
        + [f"{m}@{k}" for m in ("hit", "recall", "mrr", "ndcg", "map")]
        + ["all@5"] * (5 < k)
        + [f"all@{k}"]
    )


def _ranx_name(name: str) -> str:
    metric, cutoff = name.split("@")
    return f"{'hit_rate' if metric == 'hit' else metric}@{cutoff}"


def _scored(ids: list[str]) -> dict[str, float]:
    if not ids:
        return {"\x00none": 0.0}  # ranx needs at least one entry; this id is never relevant
    return {doc: float(len(ids) - i) for i, doc in enumerate(dict.fromkeys(ids))}


def mean(per_query: dict[str, dict[str, float]], ids: list[str] | None = None) -> dict[str, float]:
    """The mean of each metric over `ids` (all queries when None), rounded for reading."""
    out = {}
    for name, values in per_query.items():
        chosen = [values[i] for i in (values if ids is None else ids) if i in values]
        out[name] = round(float(np.mean(chosen)), 4) if chosen else None
    return out


def evidence_run(outcome: Outcome, k: int) -> tuple[dict[str, int], list[str]]:
    """Evidence level: the query's facts as relevant ids, and the top-k chunk ranking written
    as ids: a chunk that holds a fact not seen higher up stands for that fact, any other chunk
    for itself (`~rank`, never relevant), so ranks stay chunk ranks. A chunk holds a fact when
    its article matches and its text contains the fact after whitespace normalisation; a chunk
    holding two new facts takes two places (rare: the second fact is ranked one lower)."""
    facts = outcome.query.facts
    relevant = {f"fact{j}": 1 for j in range(len(facts))}
    ranking: list[str] = []
    for rank, hit in enumerate(outcome.hits[:k], start=1):
        text = normalise(hit.chunk.text)
        held = [
            f"fact{j}"
            for j, ev in enumerate(facts)
            if ev.article_id == hit.chunk.article_id
            and normalise(ev.fact) in text
            and f"fact{j}" not in ranking
        ]
        ranking += held or [f"~{rank}"]
    return relevant, ranking


def quote_overlaps(quote: str, fact: str, min_chars: int = 60) -> bool:
    """A quote holds a fact when they share a run of `min_chars` characters (or the whole of
    the shorter one) after whitespace normalisation: the one definition of "quoted", used by
    `qa eval`, the fitting script and the tests."""
    from difflib import SequenceMatcher

    a, b = normalise(quote).casefold(), normalise(fact).casefold()
    if not a or not b:
        return False
    m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return m.size >= min(min_chars, len(a), len(b))


def facts_quoted(query: Query, quotes: list[tuple[str, str]]) -> list[bool]:
    """For each evidence fact of the query: whether a quote holds its text. The quote may come
    from another article: news corpora carry copies of a story under other ids (133 exact
    duplicates in BBC), and a copy's sentence is the same fact."""
    return [any(quote_overlaps(text, ev.fact) for _, text in quotes) for ev in query.facts]


def is_right(query: Query, quotes: list[tuple[str, str]]) -> bool:
    """An answer (its quotes; none when it abstained) is right for an answerable query when
    the gold answer is in the quoted text as whole words (case-insensitive: "18" is not in
    "2018"); a question over two or more articles, or one with no gold answer, needs every fact
    quoted instead."""
    if not quotes or not query.answerable:
        return False
    if len(query.relevant) > 1 or not query.answer:
        found = facts_quoted(query, quotes)
        return bool(found) and all(found)
    return holds(" ".join(text for _, text in quotes), query.answer)


def auroc(outcomes: list[Outcome]) -> float | None:
    """How well the confidence ranks answerable questions above unanswerable ones: the chance
    that a random answerable one scores higher than a random unanswerable one (ties half)."""
    pos = np.array([o.confidence for o in outcomes if o.query.answerable])
    neg = np.array([o.confidence for o in outcomes if not o.query.answerable])
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return round(float(wins / (len(pos) * len(neg))), 4)


def single_article(query: Query) -> bool:
    return len(query.relevant) == 1


def risk_coverage(outcomes: list[Outcome]) -> dict[str, Any]:
    """The risk–coverage curve of the confidence: answering the most confident share of the
    questions (coverage), the share of those answers that are wrong (risk; an answer to an
    unanswerable question is wrong), and its area (AURC: lower is better)."""
    ranked = sorted(outcomes, key=lambda o: -o.confidence)
    wrong = np.array([not is_right(o.query, o.offered) for o in ranked], float)
    if not len(wrong):
        return {"coverage": [], "risk": [], "aurc": None, "answered": None}
    n = np.arange(1, len(wrong) + 1)
    risk = np.cumsum(wrong) / n
    return {
        "coverage": [round(float(c), 4) for c in n / len(wrong)],
        "risk": [round(float(r), 4) for r in risk],
        "confidence": [round(o.confidence, 4) for o in ranked],
        "aurc": round(float(risk.mean()), 4),
        "answered": round(sum(not o.abstained for o in outcomes) / len(outcomes), 4),
    }


def answer_figures(outcomes: list[Outcome]) -> dict[str, Any]:
    """Answer level: abstention on unanswerable queries, answering and being right otherwise."""
    unanswerable = [o for o in outcomes if not o.query.answerable]
    answerable = [o for o in outcomes if o.query.answerable]
    single = [o for o in answerable if single_article(o.query)]
    multi = [o for o in answerable if not single_article(o.query)]
    answered_single = [o for o in single if not o.abstained]
    with_gold = [o for o in answerable if o.query.answer]
    with_facts = [o for o in answerable if o.query.facts]

    def rate(items: list[Outcome], test: Callable[[Outcome], bool]) -> float | None:
        return round(sum(map(test, items)) / len(items), 4) if items else None

    return {
        "n_answerable": len(answerable),
        "n_single": len(single),
        "n_multi": len(multi),
        "n_unanswerable": len(unanswerable),
        "null_abstain_rate": rate(unanswerable, lambda o: o.abstained),
        "null_none_rate": rate(unanswerable, lambda o: o.outcome == "none"),
        # the gold answer among the quotes shown, as the answer or as the closest sentences
        "quoted": rate(answerable, lambda o: is_right(o.query, o.shown)),
        "single_quoted": rate(single, lambda o: is_right(o.query, o.shown)),
        "multi_quoted": rate(multi, lambda o: is_right(o.query, o.shown)),
        # of those quoted, the share given as an answer (outcome "answer")
        "quoted_as_answer": rate(
            [o for o in answerable if is_right(o.query, o.shown)], lambda o: not o.abstained
        ),
        "auroc": auroc(outcomes),
        "answerable_answer_rate": rate(answerable, lambda o: not o.abstained),
        # not abstained, and the gold answer in the quotes (every fact, over two articles)
        "right": rate(answerable, lambda o: is_right(o.query, o.quotes)),
        "single_right": rate(single, lambda o: is_right(o.query, o.quotes)),
        "multi_right": rate(multi, lambda o: is_right(o.query, o.quotes)),
        # of the answered single-article questions: the first quote alone is right, or any one
        "first_quote_right": rate(answered_single, lambda o: is_right(o.query, o.quotes[:1])),
        "any_quote_right": rate(
            answered_single, lambda o: any(is_right(o.query, [q]) for q in o.quotes)
        ),
        # case-insensitive: the gold answer string inside the answer text (abstaining fails)
        "answer_contains_gold": rate(
            with_gold,
            lambda o: not o.abstained and holds(o.answer, o.query.answer),
        ),
        "quote_overlaps_evidence": rate(with_facts, lambda o: any(facts_quoted(o.query, o.quotes))),
        # retrieval's share of the answer: the gold answer string in one of the top 4 chunks
        "answer_in_top4_chunks": rate(
            with_gold,
            lambda o: any(o.query.answer.casefold() in h.chunk.text.casefold() for h in o.hits[:4]),
        ),
        "aurc": risk_coverage(outcomes)["aurc"],
    }


def marks(outcomes: list[Outcome]) -> list[Mark]:
    """What each question gave, as far as the answer figures go: their intervals are drawn from
    these, and two runs are compared question by question (`qa.eval.intervals`)."""
    return [
        Mark(
            o.query.id,
            o.query.answerable,
            o.query.answerable and single_article(o.query),
            o.query.answerable and is_right(o.query, o.shown),
            not o.abstained,
            round(float(o.confidence), 4),
        )
        for o in outcomes
    ]


def summarise(
    dataset: Dataset, mode: str, outcomes: list[Outcome], k: int = DEPTH
) -> dict[str, Any]:
    """The `qa eval --json` object of one mode (see ../shared/DESIGN.md), from its outcomes."""
    # unanswerable queries count only in abstention
    judged = qrels(o.query for o in outcomes)
    article = (
        ranking_metrics(judged, {o.query.id: [a for a, _ in o.articles] for o in outcomes}, k)
        if judged
        else {}
    )
    fact_runs = {o.query.id: evidence_run(o, k) for o in outcomes if o.query.facts}
    evidence = (
        ranking_metrics(
            {q: rel for q, (rel, _) in fact_runs.items()},
            {q: found for q, (_, found) in fact_runs.items()},
            k,
        )
        if fact_runs
        else {}
    )
    evidence = {m: v for m, v in evidence.items() if not m.startswith(("map@", "all@"))}
    by_type = _by_type(outcomes, article, evidence, set(judged), set(fact_runs))
    answers = answer_figures(outcomes)
    retrieve = [o.retrieve_ms for o in outcomes]
    full = [o.answer_ms for o in outcomes]
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "mode": mode,
        "available": True,
        "n_queries": len(outcomes),
        "n_answerable": answers["n_answerable"],
        "metrics": {
            "article": mean(article) if article else None,
            "evidence": mean(evidence) if evidence else None,
        },
        "by_type": by_type,
        "abstention": {
            "null_abstain_rate": answers["null_abstain_rate"],
            "answerable_answer_rate": answers["answerable_answer_rate"],
        },
        "answer": answers,
        "answer_intervals": answer_intervals(marks(outcomes)),
        "risk_coverage": risk_coverage(outcomes),
        "latency_ms": {
            "retrieve_p50": _pct(retrieve, 50),
            "retrieve_p95": _pct(retrieve, 95),
            "answer_p50": _pct(full, 50),
            "answer_p95": _pct(full, 95),
        },
        "failures": failures(outcomes, k),
        "_per_query": {"article": article, "retrieve_ms": retrieve, "answer_ms": full},
    }


def _by_type(
    outcomes: list[Outcome],
    article: dict[str, dict[str, float]],
    evidence: dict[str, dict[str, float]],
    judged: set[str],
    with_facts: set[str],
) -> dict[str, Any]:
    """The article, evidence and answer figures of each question type."""
    by_type: dict[str, Any] = {}
    for kind in dict.fromkeys(o.query.type for o in outcomes):
        of_kind = [o for o in outcomes if o.query.type == kind]
        ids = [o.query.id for o in of_kind]
        by_type[kind] = {
            "n_queries": len(of_kind),
            "article": mean(article, ids) if any(i in judged for i in ids) else None,
            "evidence": mean(evidence, ids) if any(i in with_facts for i in ids) else None,
            "answer": answer_figures(of_kind),
        }
    return by_type


def _pct(values: list[float], q: int) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def failures(outcomes: list[Outcome], k: int = DEPTH) -> dict[str, Any]:
    """Answerable queries with a gold article outside the top k, with what came instead.

    `n` counts the queries that missed every gold article; `n_partial` those that found some
    but not all (a two-article question with one article found). Listed: complete misses
    first, the deepest-sunk gold first, then the partial ones.
    """
    listed = []
    for o in outcomes:
        gold = set(o.query.relevant)
        ranked = [a for a, _ in o.articles]
        missing = gold - set(ranked[:k])
        if not missing:
            continue
        # rank of each missing gold article among all retrieved chunks' articles (None: absent)
        ranks = {g: (ranked.index(g) + 1 if g in ranked else None) for g in sorted(missing)}
        best_hit = o.hits[0] if o.hits else None
        listed.append(
            {
                "id": o.query.id,
                "type": o.query.type,
                "question": o.query.question,
                "gold": sorted(gold),
                "missing": sorted(missing),
                "complete_miss": missing == gold,
                "missing_ranks": ranks,
                "retrieved": [{"article_id": a, "score": round(s, 4)} for a, s in o.articles[:3]],
                "top_excerpt": best_hit.chunk.text[:200] if best_hit else "",
            }
        )

    def depth(item: dict) -> int:
        return max((r or 10**6) for r in item["missing_ranks"].values())

    listed.sort(key=lambda m: (not m["complete_miss"], -depth(m)))
    complete = sum(m["complete_miss"] for m in listed)
    return {"n": complete, "n_partial": len(listed) - complete, "worst": listed[:WORST_LISTED]}


def unavailable(dataset: Dataset, mode: str) -> dict[str, Any]:
    """The object for a mode the engine does not offer yet: same keys, no figures."""
    return {
        "dataset": dataset.name,
        "mode": mode,
        "available": False,
        "reason": NOT_YET.format(mode=mode),
        "n_queries": len(dataset.queries),
        "metrics": {"article": None, "evidence": None},
        "by_type": {},
        "abstention": {"null_abstain_rate": None, "answerable_answer_rate": None},
        "answer": None,
        "latency_ms": None,
    }


def significance(results: list[dict[str, Any]]) -> None:
    """Add `significance` to each available mode: paired tests (ranx.compare) of its article
    metrics against every other mode on the same queries; p < MAX_P counts as significant."""
    import warnings

    need("ranx", "eval", "qa eval")
    from ranx import Qrels, Run, compare

    done = [r for r in results if r.get("available")]
    if len(done) < 2:
        return
    judged = Qrels(done[0]["_qrels"])
    runs = [Run({q: _scored(ids) for q, ids in r["_run"].items()}, name=r["mode"]) for r in done]
    metrics = [_ranx_name(m) for m in done[0]["metrics"]["article"] if not m.startswith("all@")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(
            judged,
            runs=runs,
            metrics=metrics,
            max_p=MAX_P,
            stat_test=STAT_TEST,
            make_comparable=True,
        ).to_dict()
    back = {_ranx_name(m): m for m in done[0]["metrics"]["article"]}
    for r in done:
        r["significance"] = {
            other: {
                back[m]: {"p_value": round(float(p), 4), "significant": bool(p < MAX_P)}
                for m, p in pvalues.items()
            }
            for other, pvalues in report[r["mode"]]["comparisons"].items()
        }


def evidence_coverage(dataset: Dataset, index: Any) -> dict[str, int]:
    """How many evidence sentences can be found at all: in their article's text, in one chunk.
    A fact split across two chunks can never count at evidence level; this says how often."""
    chunks_of: dict[str, list[str]] = {}
    for chunk in index.data.chunks:
        chunks_of.setdefault(chunk.article_id, []).append(normalise(chunk.text))
    facts = [ev for q in dataset.queries for ev in q.facts]
    in_article = in_chunk = 0
    for ev in facts:
        article = index.data.articles.get(ev.article_id)
        fact = normalise(ev.fact)
        in_article += bool(article and fact in normalise(article.text))
        in_chunk += any(fact in text for text in chunks_of.get(ev.article_id, []))
    return {"facts": len(facts), "in_article_text": in_article, "in_one_chunk": in_chunk}


# ---------------------------------------------------------------- the whole run


def evaluate_dataset(
    settings: Settings,
    dataset: Dataset,
    modes: list[str],
    k: int = DEPTH,
    limit: int | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """One result object per mode, in the order given: build or reuse the cached index, run
    every query in each available mode, score, and test the differences between modes."""
    from qa.answer.engine import Engine

    for m in modes:
        choice("mode", m)
    if k < 1:
        raise UsageError(f"-k must be at least 1, got {k}.")
    embedder = embedder or Embedder.load(
        settings.model, settings.precision, settings.query_runtime, settings.model_cache
    )
    t0 = time.perf_counter()
    cached, built = ensure_index(settings, dataset, embedder, progress)
    engine = Engine.load(cached, embedder)
    build_s = time.perf_counter() - t0
    checked = check_evidence(dataset, set(engine.index.data.articles))
    queries = checked.queries[:limit] if limit else checked.queries
    problems = _problems(dataset, checked, engine.index)
    titles = {aid: a.title for aid, a in engine.index.data.articles.items()}
    results = []
    for mode in dict.fromkeys(modes):
        if mode not in available_modes(engine):
            results.append(unavailable(checked, mode))
            continue
        t = time.perf_counter()
        outcomes = run_queries(engine, queries, mode, k, progress)
        run_s = time.perf_counter() - t
        result = summarise(checked, mode, outcomes, k)
        _name_titles(result["failures"]["worst"], titles)
        result["run"] = {
            "k": k,
            "limit": limit,
            "index": shown(cached.index),
            "index_built_now": built,
            "index_seconds": round(build_s, 2),
            "queries_seconds": round(run_s, 2),
            "seconds_per_1000_queries": round(run_s / max(1, len(outcomes)) * 1000, 1),
            # other work on the machine inflates every latency figure: say how much there was
            "load_average_1m": round(os.getloadavg()[0], 2),
            "settings": _run_settings(settings, engine.threshold),
            "code": code_version(),
        }
        result["dataset_problems"] = problems
        result["_qrels"] = qrels(o.query for o in outcomes)
        result["_run"] = {o.query.id: [a for a, _ in o.articles] for o in outcomes}
        results.append(result)
    significance(results)
    return results


def _problems(dataset: Dataset, checked: Dataset, index: Any) -> dict[str, Any]:
    """What the dataset's checks found: evidence naming no article, and evidence sentences
    not found in their article's text or in one chunk."""
    return {
        "unknown_evidence": len(checked.unknown_evidence),
        "unknown_evidence_examples": [f"{q} -> {a}" for q, a in checked.unknown_evidence[:5]],
        "queries_dropped": len(dataset.queries) - len(checked.queries),
        "evidence_coverage": evidence_coverage(checked, index),
    }


def _name_titles(worst: list[dict[str, Any]], titles: dict[str, str]) -> None:
    """Give the worst queries' gold and retrieved articles their headlines, for the report."""
    for miss in worst:
        miss["gold_titles"] = [titles.get(g, "?") for g in miss["gold"]]
        for item in miss["retrieved"]:
            item["title"] = titles.get(item["article_id"], "?")


def code_version() -> dict[str, Any] | None:
    """The commit the package ran from, and whether `qa/` had uncommitted changes: recorded with
    every result. None outside a git checkout (an installed package)."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        except OSError:  # no git on this machine
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return None
    return {"commit": commit, "qa_changed": bool(git("status", "--porcelain", "qa"))}


def _run_settings(settings: Settings, threshold: float) -> dict[str, Any]:
    """The settings a result depends on, recorded beside it."""
    return {
        "model": settings.model,
        "chunk_tokens": settings.chunk_tokens,
        "top_k": settings.top_k,
        "abstain_below": threshold,
    }


def public(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its private per-query working data (keys starting with `_`)."""
    return {key: value for key, value in result.items() if not key.startswith("_")}


# ---------------------------------------------------------------- the regression gate


def regressions(results: list[dict[str, Any]], baseline: Any, max_drop: float) -> list[str]:
    """One line per article-level or answer-level metric (`ANSWER_GATED`) that fell by more
    than `max_drop` from the baseline (a `qa eval --json` file: one object or a list), matched
    by mode."""
    old_by_mode = {
        b.get("mode"): b
        for b in (baseline if isinstance(baseline, list) else [baseline])
        if isinstance(b, dict)
    }
    if not old_by_mode.keys() & {r["mode"] for r in results}:
        raise UsageError(
            f"The baseline holds mode(s) {', '.join(map(str, old_by_mode))} and this run "
            f"{', '.join(r['mode'] for r in results)}: pass the same --mode, or write a new "
            "baseline with --json."
        )
    lines = []
    for new in results:
        old = old_by_mode.get(new["mode"])
        if not old or not old.get("available", True) or not new.get("available"):
            continue
        same = ("dataset", "n_queries", "split")
        if any(old.get(key, "all") != new.get(key, "all") for key in same):
            raise UsageError(
                f"The baseline was made on {old.get('dataset')!r} ({old.get('split', 'all')}) "
                f"with {old.get('n_queries')} queries, this run is {new['dataset']!r} "
                f"({new.get('split', 'all')}) with {new['n_queries']}: compare like with like "
                "(same dataset and split, no --limit)."
            )
        levels = {
            "article": ((old.get("metrics") or {}).get("article"), new["metrics"]["article"]),
            "answer": (_gated(old.get("answer")), _gated(new.get("answer"))),
        }
        for level, (before, after) in levels.items():
            for name, value in (before or {}).items():
                now = (after or {}).get(name)
                if value is None or now is None:
                    continue
                if value - now > max_drop + 1e-9:
                    lines.append(
                        f"{new['mode']} {level} {name} dropped from {value:.4f} to {now:.4f} "
                        f"(by {value - now:.4f}, more than {max_drop})"
                    )
    return lines


# Answer-level figures the gate holds (higher is better for each).
ANSWER_GATED = (
    "right",
    "single_right",
    "multi_right",
    "first_quote_right",
    "null_abstain_rate",
    "answerable_answer_rate",
)


def _gated(answer: dict[str, Any] | None) -> dict[str, Any]:
    return {name: (answer or {}).get(name) for name in ANSWER_GATED}


def read_baseline(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"Baseline {path} does not exist: write one with --json.") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"Baseline {path}: not valid JSON ({e.msg}, line {e.lineno}).") from None
