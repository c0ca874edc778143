"""How `qa eval` results read: a terminal table (rich), a markdown report and a PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from qa.errors import need

ANSWER_ROWS = (
    ("null_abstain_rate", "no answer when unanswerable (closest or none)"),
    ("null_none_rate", "nothing quoted when unanswerable (none)"),
    ("quoted", "gold answer quoted, as answer or closest"),
    ("single_quoted", "single-article gold quoted"),
    ("multi_quoted", "multi-article every fact quoted"),
    ("quoted_as_answer", "of those quoted: outcome answer"),
    ("auroc", "confidence AUROC, answerable vs not"),
    ("answerable_answer_rate", "answers when answerable"),
    ("right", "answered right (answerable)"),
    ("single_right", "single-article right"),
    ("multi_right", "multi-article right (every fact quoted)"),
    ("first_quote_right", "first quote right (answered, single)"),
    ("any_quote_right", "some quote right (answered, single)"),
    ("aurc", "risk–coverage area (lower is better)"),
    ("answer_contains_gold", "answer holds the gold answer"),
    ("quote_overlaps_evidence", "a quote overlaps the evidence"),
    ("answer_in_top4_chunks", "gold answer in the top 4 chunks"),
)
LATENCY_ROWS = ("retrieve_p50", "retrieve_p95", "answer_p50", "answer_p95")
TYPE_COLUMNS = ("hit@1", "hit@10", "mrr@10", "ndcg@10", "all@5", "all@10")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def with_interval(value: float | None, interval: list[float] | None) -> str:
    """An answer figure, with its 95 % bootstrap interval where one was drawn
    (`qa.eval.intervals`): "0.833 (0.78–0.89)"."""
    if value is None or not interval:
        return _fmt(value)
    return f"{value:.3f} ({interval[0]:.2f}–{interval[1]:.2f})"


def _available(results: list[dict]) -> list[dict]:
    return [r for r in results if r.get("available")]


def rows(results: list[dict]) -> list[tuple[str, list[str]]]:
    """The main table as (label, one cell per mode), shared by the terminal and markdown."""
    out: list[tuple[str, list[str]]] = []

    def add(label: str, get: Any, digits: int = 3) -> None:
        cells = []
        for r in results:
            cells.append(_fmt(get(r), digits) if r.get("available") else "not available yet")
        out.append((label, cells))

    first = next(iter(_available(results)), None)
    if first is None:
        return [("status", [r.get("reason", "") for r in results])]
    for name in first["metrics"]["article"] or {}:
        add(f"article {name}", lambda r, n=name: (r["metrics"]["article"] or {}).get(n))
    for name in first["metrics"]["evidence"] or {}:
        add(f"evidence {name}", lambda r, n=name: (r["metrics"]["evidence"] or {}).get(n))
    for key, label in ANSWER_ROWS:
        add(
            label,
            lambda r, k=key: with_interval(r["answer"][k], r.get("answer_intervals", {}).get(k)),
        )
    for key in LATENCY_ROWS:
        add(f"{key} ms", lambda r, k=key: r["latency_ms"][k], 1)
    return out


def significant_lines(results: list[dict]) -> list[str]:
    lines = []
    for i, r in enumerate(results):
        for other, by_metric in (r.get("significance") or {}).items():
            if [x["mode"] for x in results].index(other) < i:
                continue  # each pair once
            for metric, test in by_metric.items():
                mark = "significant" if test["significant"] else "not significant"
                lines.append(f"{r['mode']} vs {other} {metric}: p = {test['p_value']} ({mark})")
    return lines


def print_table(results: list[dict], console: Console | None = None) -> None:
    console = console or Console()
    head = results[0]
    table = Table(title=f"{head['dataset']}: {head['n_queries']} queries")
    table.add_column("metric")
    for r in results:
        table.add_column(r["mode"], justify="right")
    for label, cells in rows(results):
        table.add_row(label, *cells)
    console.print(table)
    for r in results:
        if not r.get("available"):
            console.print(f"[yellow]{r['reason']}[/yellow]")
    for r in _available(results):
        types = Table(title=f"{r['mode']}: by question type")
        for col in ("type", "n", *TYPE_COLUMNS, "abstain", "answered", "right"):
            types.add_column(col, justify="left" if col == "type" else "right")
        for kind, row in r["by_type"].items():
            art = row["article"] or {}
            types.add_row(
                kind,
                str(row["n_queries"]),
                *(_fmt(art.get(c)) for c in TYPE_COLUMNS),
                _fmt(row["answer"]["null_abstain_rate"]),
                _fmt(row["answer"]["answerable_answer_rate"]),
                _fmt(row["answer"]["right"]),
            )
        console.print(types)
        run = r["run"]
        console.print(
            f"{r['mode']}: {r['failures']['n']} answerable queries with no gold article in the "
            f"top {run['k']} ({r['failures']['n_partial']} more with some but not all); "
            f"{run['queries_seconds']} s for the queries "
            f"({run['seconds_per_1000_queries']} s per 1,000)."
        )
        problems = r["dataset_problems"]
        if problems["unknown_evidence"]:
            console.print(
                f"[yellow]{problems['unknown_evidence']} evidence item(s) name articles not in "
                f"the corpus (e.g. {', '.join(problems['unknown_evidence_examples'])}); "
                f"{problems['queries_dropped']} queries dropped.[/yellow]"
            )
    for line in significant_lines(results):
        console.print(line)


def markdown(results: list[dict], command: str = "") -> str:
    """The report: the table, the per-type breakdown, dataset problems and the worst queries."""
    head = results[0]
    out = [f"# Retrieval evaluation: {head['dataset']}", ""]
    if command:
        out += [f"Command: `{command}`", ""]
    out += [
        f"{head['n_queries']} queries. Article level: a query's relevant set is its evidence "
        "articles; the chunk ranking is collapsed to articles in first-occurrence order. "
        "Evidence level: a retrieved chunk (top 10 chunks) counts when it contains an evidence "
        "sentence after whitespace normalisation. Unanswerable queries count only in "
        "abstention.",
        "",
    ]
    modes = [r["mode"] for r in results]
    out += ["| metric | " + " | ".join(modes) + " |", "|---" * (len(modes) + 1) + "|"]
    out += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows(results)]
    out.append("")
    lines = significant_lines(results)
    if lines:
        out += ["## Differences between modes (paired t-test, ranx.compare)", ""]
        out += [f"- {line}" for line in lines] + [""]
    for r in _available(results):
        out += _by_type(r) + _run_and_checks(r) + _worst(r)
    for r in results:
        if not r.get("available"):
            out += [f"- {r['reason']}."]
    return "\n".join(out).rstrip() + "\n"


def _by_type(r: dict) -> list[str]:
    """One mode's figures by question type."""
    out = [f"## {r['mode']}: by question type", ""]
    out += [
        "| type | n | " + " | ".join(TYPE_COLUMNS) + " | abstains | answers | right | "
        "first quote right | holds gold |",
        "|---" * (len(TYPE_COLUMNS) + 7) + "|",
    ]
    for kind, row in r["by_type"].items():
        art, ans = row["article"] or {}, row["answer"]
        cells = [_fmt(art.get(c)) for c in TYPE_COLUMNS] + [
            _fmt(ans["null_abstain_rate"]),
            _fmt(ans["answerable_answer_rate"]),
            _fmt(ans["right"]),
            _fmt(ans["first_quote_right"]),
            _fmt(ans["answer_contains_gold"]),
        ]
        out.append(f"| {kind} | {row['n_queries']} | " + " | ".join(cells) + " |")
    return out


def _run_and_checks(r: dict) -> list[str]:
    """How one mode ran, and what the dataset's checks found."""
    run, problems = r["run"], r["dataset_problems"]
    cov = problems["evidence_coverage"]
    return [
        "",
        f"Run: k={run['k']}, {run['queries_seconds']} s for the queries "
        f"({run['seconds_per_1000_queries']} s per 1,000), settings {run['settings']}.",
        "",
        f"Dataset checks: {problems['unknown_evidence']} evidence item(s) name an article "
        f"missing from the corpus ({problems['queries_dropped']} queries dropped); of "
        f"{cov['facts']} evidence sentences, {cov['in_article_text']} are found in their "
        f"article's cleaned text and {cov['in_one_chunk']} inside a single chunk.",
        "",
    ]


def _worst(r: dict) -> list[str]:
    """One mode's worst queries: what was missing, and what came instead."""
    k = r["run"]["k"]
    out = [
        f"## {r['mode']}: worst queries ({r['failures']['n']} answerable queries with no "
        f"gold article in the top {k}, {r['failures']['n_partial']} with some but not "
        f"all; {len(r['failures']['worst'])} listed)",
        "",
    ]
    for miss in r["failures"]["worst"]:
        titles = dict(zip(miss["gold"], miss.get("gold_titles", miss["gold"]), strict=True))
        wanted = "; ".join(
            f"`{g}` {titles[g]} ("
            + (f"article rank {rank}" if rank else "in no retrieved chunk")
            + ")"
            for g, rank in miss["missing_ranks"].items()
        )
        got = "; ".join(
            f"`{x['article_id']}` {x.get('title', '')} ({x['score']:.2f})"
            for x in miss["retrieved"]
        )
        excerpt = miss["top_excerpt"].replace("\n", " ")
        out += [
            f"- **{miss['id']}** ({miss['type']}) {miss['question']}",
            f"  - missing: {wanted}",
            f"  - got instead: {got}",
            f"  - top excerpt: “{excerpt}…”",
        ]
    return [*out, ""]


def plot(results: list[dict], path: Path) -> None:
    """Four panels: article metrics by mode; hit@1, MRR@10, all@10 by question type; the
    risk–coverage curve of the answers' confidence; latency."""
    need("matplotlib", "eval", "qa eval --plot")
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    done = _available(results)
    fig, axes = plt.subplots(1, 4, figsize=(21, 4.8))
    title = f"{results[0]['dataset']}: {results[0]['n_queries']} queries"
    fig.suptitle(
        title
        + "".join(f" · {r['mode']} not available yet" for r in results if not r.get("available"))
    )
    _by_mode(axes[0], done)
    _by_question_type(axes[1], done)
    _risk_coverage(axes[2], done)
    _latency(axes[3], done)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _by_mode(ax: Any, done: list[dict]) -> None:
    """Article-level metrics, a bar per mode."""
    names = list((done[0]["metrics"]["article"] or {}) if done else [])
    width = 0.8 / max(1, len(done))
    for i, r in enumerate(done):
        values = [(r["metrics"]["article"] or {}).get(n) or 0.0 for n in names]
        ax.bar(np.arange(len(names)) + i * width, values, width, label=r["mode"])
    ax.set_xticks(np.arange(len(names)) + width * (len(done) - 1) / 2, names, rotation=45)
    ax.set_ylim(0, 1.15)
    ax.set_title("article level, by mode")
    ax.legend(loc="upper right")


def _by_question_type(ax: Any, done: list[dict]) -> None:
    """hit@1, MRR@10 and all@10 by question type."""
    types = [t for t in (done[0]["by_type"] if done else {}) if done[0]["by_type"][t]["article"]]
    bars = [(r["mode"], m) for r in done for m in ("hit@1", "mrr@10", "all@10")]
    width = 0.8 / max(1, len(bars))
    for i, (mode, metric) in enumerate(bars):
        r = next(x for x in done if x["mode"] == mode)
        values = [(r["by_type"][t]["article"] or {}).get(metric) or 0.0 for t in types]
        ax.bar(np.arange(len(types)) + i * width, values, width, label=f"{mode} {metric}")
    ax.set_xticks(np.arange(len(types)) + width * (len(bars) - 1) / 2, types, rotation=20)
    ax.set_ylim(0, 1.25)  # headroom for the legend
    ax.set_title("article level, by question type")
    ax.legend(loc="upper right", ncols=max(1, len(bars) // 2))


def _risk_coverage(ax: Any, done: list[dict]) -> None:
    """How often the answers are wrong as fewer are given, most confident first."""
    for r in done:
        curve = r.get("risk_coverage") or {}
        if curve.get("coverage"):
            line = ax.plot(curve["coverage"], curve["risk"], label=f"{r['mode']}")[0]
            ax.axvline(curve["answered"], color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_xlabel("coverage: share of questions answered, most confident first")
    ax.set_ylabel("risk: share of those answers wrong")
    ax.set_ylim(0, 1)
    ax.set_title("risk–coverage (dotted: the threshold)")
    if done:
        ax.legend()


def _latency(ax: Any, done: list[dict]) -> None:
    """The distribution of retrieval and answer time per query."""
    for r in done:
        per = r.get("_per_query", {})
        for key, style in (("retrieve_ms", "--"), ("answer_ms", "-")):
            values = np.sort(per.get(key, []))
            if len(values):
                ax.plot(
                    values,
                    np.arange(1, len(values) + 1) / len(values),
                    style,
                    label=f"{r['mode']} {key.replace('_ms', '')}",
                )
    ax.set_xlabel("ms per query (in-process, model loaded)")
    ax.set_ylabel("share of queries at or under")
    ax.set_title("latency distribution")
    ax.legend()
