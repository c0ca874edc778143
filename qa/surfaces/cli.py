"""The `qa` command: a thin shell over the core. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.config import Settings
from qa.errors import QAError, UsageError, need

if TYPE_CHECKING:
    from qa.answer.compose import Answer
    from qa.answer.engine import Engine
    from qa.answer.retrieval import Filters

app = typer.Typer(
    help="Ask questions about a folder of news articles; answers cite the articles.\n\n"
    'Example: qa index build && qa ask "Who asked Russia for help?"',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Build and inspect the index.", no_args_is_help=True)
app.add_typer(index_app, name="index")

CorpusOpt = Annotated[
    Path | None,
    typer.Option("--corpus", help="Folder (or file) of articles (env QA_CORPUS, default seeds/)."),
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder (env QA_INDEX, default index/).")
]
IndexTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--index-type",
        help="auto, flat, hnsw or ivf: the FAISS index (env QA_INDEX_TYPE, default auto: exact "
        "up to 20,000 chunks, HNSW above).",
    ),
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write a markdown report.")]
BaselineOpt = Annotated[
    Path | None, typer.Option("--baseline", help="A --json file to hold the line against.")
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Index cache (env QA_EVAL_CACHE; .cache/eval).")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="local or ray: where the embedding runs (env QA_ENGINE, default local). ray needs "
        "pip install -e '.[distributed]'.",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="A Ray cluster to join with --engine ray, e.g. ray://head:10001 or auto (env "
        "QA_RAY_ADDRESS; default: start a local Ray for the build).",
    ),
]
PrecisionOpt = Annotated[
    str | None,
    typer.Option(
        "--precision",
        help="auto, fp32 or bf16: what the model computes in (env QA_PRECISION, default auto: "
        "bf16 where the CPU has bfloat16 instructions).",
    ),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors meant for the user: one line on stderr and their exit code, never a traceback."""
    try:
        yield
    except QAError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: the previous index is untouched.", err=True)
        raise typer.Exit(130) from None


def settings_for(**flags: object) -> Settings:
    return Settings.from_env().with_(**flags)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='The question, or "-" to read one per line.')],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON contract object.")
    ] = False,
    k: Annotated[int | None, typer.Option("-k", min=1, help="Chunks to retrieve.")] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="dense, bm25, rrf or hybrid (env QA_MODE, default hybrid)."),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only articles from this source; repeat.")
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this category; repeat.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only articles published on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only articles published on or before YYYY-MM-DD.")
    ] = None,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Also show why: passages with dense, keyword and fused scores, sentence "
            'scores, the confidence against the threshold ("trace" in JSON).',
        ),
    ] = False,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
) -> None:
    """Answer a question from the index, citing the excerpts it quotes.

    Example: qa ask "How many people were detained?" --json
    Filters: qa ask "What did the chancellor announce?" --category business --since 2005-01-01
    Batch:   printf 'q1\\nq2\\n' | qa ask --json -   (JSONL out, model loaded once)
    Follow-ups in a batch: a line may be {"question": "How old is he?", "history": ["Who leads
    Kazakhstan?"]}, the conversation's earlier questions oldest first.
    """
    from qa.answer.engine import Engine
    from qa.answer.retrieval import Filters

    with user_errors():
        filters = Filters(tuple(source or ()), tuple(category or ()), since, until)
        engine = Engine.load(settings_for(corpus=corpus, index=index, mode=mode))
        _stale_note(engine.index.data.manifest)
        chosen = engine.mode(mode)
        if chosen != engine.settings.mode and mode is None:
            typer.echo(
                "note: this index has no keyword part, so answers use dense retrieval: "
                "run `qa index update` to add it.",
                err=True,
            )
        if question != "-":
            _answer(engine, question, (), k, mode, filters, as_json, trace, first=True)
        else:
            _answer_lines(engine, k, mode, filters, as_json, trace)


def _answer_lines(
    engine: Any, k: int | None, mode: str | None, filters: Any, as_json: bool, trace: bool
) -> None:
    """`qa ask -`: one question per line of standard input; a bad line is answered with its
    error and the batch goes on."""
    bad = 0
    for n, line in enumerate(_stdin_lines(), start=1):
        text = None
        try:
            if isinstance(line, UsageError):
                raise line
            text, history = _batch_item(line)
            _answer(engine, text, history, k, mode, filters, as_json, trace, first=n == 1)
        except UsageError as error:
            bad += 1
            if as_json:
                typer.echo(json.dumps({"question": text, "line": n, "error": str(error)}))
            else:
                typer.echo(f"error on line {n}: {error}", err=True)
    if bad:
        raise UsageError(f"{bad} of the batch's lines could not be answered (see above).")


@app.command()
def chat(
    trace: Annotated[bool, typer.Option("--trace", help="Show why under each answer.")] = False,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
) -> None:
    """A conversation in the terminal: follow-up questions ("How old is he?") are read in the
    light of the earlier ones. /new starts a new conversation; /quit or Ctrl-D ends.

    Example: qa chat
    """
    from qa.answer.engine import Engine
    from qa.answer.retrieval import NO_FILTERS

    with user_errors():
        engine = Engine.load(settings_for(corpus=corpus, index=index))
        _stale_note(engine.index.data.manifest)
        typer.echo(f"{engine.describe()}\nAsk a question; /new starts over, /quit ends.", err=True)
        history: list[str] = []
        for question in _typed_lines():
            if question in ("/quit", "/exit"):
                break
            if question == "/new":
                history = []
                typer.echo("(a new conversation)", err=True)
                continue
            try:
                answer = _answer(engine, question, history, None, None, NO_FILTERS, False, trace,
                                 first=not history)  # fmt: skip
            except UsageError as error:
                typer.echo(f"error: {error}", err=True)
                continue
            if answer.query != answer.question:
                typer.echo(f"(asked as: {answer.query})", err=True)
            history.append(question)
            typer.echo("")


def _typed_lines() -> Iterator[str]:
    """Lines typed at the prompt (or piped in), stripped, until end of input."""
    prompt = "> " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt)
        except EOFError:
            return
        if line.strip():
            yield line.strip()


def _answer(
    engine: Engine, question: str, history: Sequence[str], k: int | None, mode: str | None,
    filters: Filters, as_json: bool, trace: bool, first: bool,
) -> Answer:  # fmt: skip
    answer = engine.ask(question, k, mode, filters, history=history)
    if first and engine.embedder.queries.note:
        typer.echo(f"note: {engine.embedder.queries.note}.", err=True)
    if answer.abstained and filters:
        typer.echo(f"note: {filters.describe()}; drop them to search every article.", err=True)
    if as_json:
        found = answer.to_json_traced() if trace else answer.to_json()
        typer.echo(json.dumps(found, ensure_ascii=False))
    else:
        typer.echo(_text(answer) + ("\n\n" + _trace_text(answer) if trace else ""))
    return answer


def _stdin_lines() -> Iterator[str | UsageError]:
    """Every line of standard input, in place so that errors name the line a user sees; one
    that is blank or not UTF-8 comes back as its error instead of ending the batch."""
    for raw in sys.stdin.buffer:
        try:
            line = raw.decode("utf-8-sig").strip()
        except UnicodeDecodeError as error:
            yield UsageError(f"not valid UTF-8 (byte 0x{raw[error.start]:02x}): fix its encoding")
            continue
        yield line or UsageError("the line is blank: write one question per line")


def _batch_item(line: str) -> tuple[Any, Any]:
    """A batch line: a plain question, or `{"question": ..., "history": [...]}` (what is in
    them is checked by the engine, which names a bad history item by its place)."""
    if not line.startswith("{"):
        return line, []
    try:
        item = json.loads(line)
    except (ValueError, RecursionError):
        item = None
    if not isinstance(item, dict) or "question" not in item:
        raise UsageError(
            'a line starting with "{" must be {"question": "...", "history": ["earlier '
            'question", ...]} (history optional, oldest first)'
        )
    return item["question"], item.get("history", [])


def _trace_text(answer: Answer) -> str:
    """The trace as a reader would want it in a terminal: query, passages, sentences, verdict."""
    why = answer.trace or {}
    lines = ["Why these sources:"]
    if why.get("rewritten"):
        lines.append(f"  asked as: {why['query']}")
    lines.append("  passages (fused = dense + keyword; ranks within each retriever):")
    for p in why.get("passages", []):
        lines.append(
            f"    {p['rank']:>2}. {p['chunk_id']}  fused {p['fused']:.3f}  dense {p['dense']:.3f} "
            f"(#{p['dense_rank'] or '-'})  keyword {p['keyword']:.2f} (#{p['keyword_rank'] or '-'})"
        )
    lines.append("  best sentences (* quoted):")
    for x in why.get("sentences", []):
        mark = "*" if x["quoted"] else " "
        lines.append(f"   {mark} {x['score']:+.2f}  {x['text'][:100]}")
    conf = why.get("confidence", {})
    if conf:
        verdict = "answers" if conf["answers"] else "abstains"
        lines.append(f"  confidence {conf['value']:.3f} against {conf['threshold']:.3f}: {verdict}")
    lines.append(
        "  timings ms: " + ", ".join(f"{k} {v}" for k, v in why.get("timings_ms", {}).items())
    )
    return "\n".join(lines)


def _text(answer: Answer) -> str:
    lines = [answer.text, *(f"({note})" for note in answer.notes), ""]
    if answer.citations:
        lines.append("Closest passages (they may not answer):" if answer.abstained else "Sources:")
    for c in answer.citations:
        meta = ", ".join(x for x in (c.published, c.source) if x)
        lines.append(f"[{c.n}] {c.title}" + (f" ({meta})" if meta else ""))
        lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


@index_app.command("build")
def index_build(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="Do nothing when the index matches the corpus.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Re-embed every article, even unchanged ones.")
    ] = False,
    precision: PrecisionOpt = None,
    index_type: IndexTypeOpt = None,
    engine: EngineOpt = None,
    address: AddressOpt = None,
) -> None:
    """Build the index from the corpus folder, with a progress bar and a summary.

    When an index built with the same model and chunking exists, only what changed is embedded
    (as `qa index update` does); --full re-embeds everything.

    Example: qa index build --corpus ~/articles --index ~/articles-index --precision bf16
             qa index build --engine ray --address auto   (embed on a running Ray cluster)
    """
    from qa.index.indexing import build_index, is_up_to_date, update_index
    from qa.ingest.corpus import read_corpus

    with user_errors():
        settings = settings_for(
            corpus=corpus, index=index, precision=precision, index_type=index_type,
            engine=engine, ray_address=address,
        )  # fmt: skip
        read = read_corpus(settings.corpus)
        if if_stale and is_up_to_date(settings, read):
            typer.echo(f"Index in {settings.index} is up to date ({len(read.articles)} articles).")
            return
        embedder = _embedder(settings)
        build = build_index if full else update_index
        with _progress_bar() as progress:
            report = build(settings, embedder, progress, corpus=read)
        _print_report(report)


@index_app.command("update")
def index_update(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    precision: PrecisionOpt = None,
    index_type: IndexTypeOpt = None,
    engine: EngineOpt = None,
    address: AddressOpt = None,
) -> None:
    """Update the index after articles were added, changed or removed; embeds only new text.

    Reads the corpus the index was built from, unless --corpus or QA_CORPUS names another.
    Prints what was added, changed, removed and unchanged, and the seconds it took.

    Example: qa index update --index ~/articles-index
    """

    from qa.index.indexing import indexed_corpus, update_index
    from qa.index.store import read_manifest

    with user_errors():
        settings = settings_for(
            corpus=corpus, index=index, precision=precision, index_type=index_type,
            engine=engine, ray_address=address,
        )  # fmt: skip
        if not settings.corpus_named:
            try:
                built_from = indexed_corpus(read_manifest(settings.index))
            except QAError:
                built_from = None  # no index yet: update builds one from the default corpus
            settings = settings.with_(corpus=built_from)
        embedder = _embedder(settings)
        with _progress_bar() as progress:
            report = update_index(settings, embedder, progress)
        _print_report(report)


def _embedder(settings: Settings) -> object:
    """The model for a build, saying on stderr when it cannot use the precision asked for."""
    from qa.embed.embedding import Embedder

    embedder = Embedder.load(settings.model, settings.precision)
    if embedder.note:
        typer.echo(f"note: {embedder.note}", err=True)
    return embedder


def _print_report(report: object) -> None:
    """The summary of a build or update on stdout, and each skipped file or article on stderr."""
    for skip in report.skipped:  # type: ignore[attr-defined]
        typer.echo(f"skipped {skip.path}: {skip.reason}", err=True)
    for renamed in report.renamed:  # type: ignore[attr-defined]
        typer.echo(f"renamed {renamed.path}: {renamed.reason}", err=True)
    typer.echo(report.summary())  # type: ignore[attr-defined]


def _stale_note(manifest: dict) -> None:
    """Say on stderr when the corpus changed since the index was built; answers go on."""
    from qa.index.indexing import corpus_changes

    try:
        note = corpus_changes(manifest).stale_note()
    except QAError:
        return
    if note:
        typer.echo(f"note: {note}", err=True)


@contextmanager
def _progress_bar() -> Iterator:
    """A rich progress bar, one task per stage, fed by the build's progress callback."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second of the stage (throughput), once there is one."""

        def render(self, task):  # rich calls it with the task to draw
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f}/s" if speed else "", style="progress.data.speed")

    columns = (
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, int] = {}
    with Progress(*columns, transient=False) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@index_app.command("info")
def index_info(
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole manifest.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check every file against the manifest's checksums.")
    ] = False,
) -> None:
    """Show what the index holds: model, chunking, counts, build time.

    Example: qa index info --json
    Check:   qa index info --verify   (exit 1 naming the damaged file)
    """
    from qa.index import ann
    from qa.index.store import read_manifest
    from qa.index.store import verify as verify_files

    with user_errors():
        settings = settings_for(index=index)
        if verify:
            from qa.index.indexing import manifest_expectations

            manifest = verify_files(settings.index, manifest_expectations(settings))
        else:
            manifest = read_manifest(settings.index)
        if as_json:
            typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))
            return
        counts = manifest.get("counts", {})
        for key in ("generation", "model", "dimension", "built_at", "corpus"):
            typer.echo(f"{key:>12}: {manifest.get(key)}")
        typer.echo(f"{'precision':>12}: {manifest.get('precision', 'fp32 (not recorded)')}")
        spec = ann.Spec.from_json(manifest.get("faiss"))
        typer.echo(f"{'faiss':>12}: {ann.describe(spec, settings.ef_search, settings.nprobe)}")
        typer.echo(f"{'chunking':>12}: {json.dumps(manifest.get('chunking'))}")
        from qa.index.indexing import corpus_changes, keyword_params

        kw = manifest.get("keyword")
        if kw is None:
            kw_line = "none (dense only): run `qa index update` to add it"
        else:
            kw_line = json.dumps({k: kw[k] for k in ("k1", "b", "field") if k in kw})
            if kw != keyword_params():
                kw_line += " (other settings than this version's: run `qa index update`)"
        typer.echo(f"{'keyword':>12}: {kw_line}")
        typer.echo(f"{'abstention':>12}: {_abstention_line(settings, manifest)}")
        typer.echo(f"{'counts':>12}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        note = corpus_changes(manifest).stale_note()
        typer.echo(f"{'status':>12}: {note or 'up to date with the corpus'}")
        if verify:
            files = len(manifest["files"])
            typer.echo(f"{'verified':>12}: {files} files match their sizes and SHA-256; it loads")


def _abstention_line(settings: Settings, manifest: dict) -> str:
    """The threshold answers are held against, where it comes from, and the index's background."""
    from qa.answer import fitted
    from qa.index.calibration import Background

    fitted = fitted.load()
    if settings.abstain_below is not None:
        line = f"answers at confidence >= {settings.abstain_below} (QA_ABSTAIN_BELOW)"
    else:
        line = (
            f"answers at confidence >= {fitted.threshold} (fitted on tune halves, "
            f"{fitted.fitted.get('date', '?')}; QA_ABSTAIN_BELOW overrides)"
        )
    try:
        background = Background.from_json(manifest["calibration"])
    except (KeyError, TypeError, ValueError):
        return line + "; off-topic background: not measured yet (measured when loaded)"
    return line + (
        f"; off-topic background: best cosine {background.mean:.2f} ± {background.std:.2f} "
        f"over {background.probes} probe questions"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (env QA_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env QA_PORT, 7860).")] = None,
    mcp: Annotated[
        bool | None,
        typer.Option(
            "--mcp/--no-mcp",
            help="Also serve ask and search as MCP tools at /gradio_api/mcp/ (env QA_MCP; "
            "pip install -e '.[mcp]').",
        ),
    ] = None,
    index: IndexOpt = None,
) -> None:
    """Serve the web chat (Gradio) on http://127.0.0.1:7860.

    Example: qa serve --port 8080
    Agents:  qa serve --mcp   (MCP tools ask and search at http://127.0.0.1:7860/gradio_api/mcp/)
    """
    from qa.surfaces.ui import serve as serve_ui

    with user_errors():
        serve_ui(settings_for(host=host, port=port, index=index, mcp=mcp))


@app.command("eval")
def eval_(
    dataset: Annotated[
        Path, typer.Argument(help="Folder with queries.jsonl and corpus.jsonl (or BEIR layout).")
    ],
    mode: Annotated[
        list[str] | None,
        typer.Option(
            "--mode",
            help="dense, bm25, rrf or hybrid; repeat or comma-separate to compare "
            "(default: QA_MODE, hybrid).",
        ),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the results.")] = None,
    report: ReportOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG plot.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="First N queries.")] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split", help="all, or the tune or test half (a fixed rule on each question)."
        ),
    ] = "all",
    k: Annotated[int, typer.Option("-k", min=1, help="Metric cutoff (articles).")] = 10,
    baseline: BaselineOpt = None,
    max_drop: Annotated[
        float, typer.Option("--max-drop", help="Allowed drop of any article metric.")
    ] = 0.01,
    cache: CacheOpt = None,
) -> None:
    """Measure retrieval and answers on a dataset; the index is cached, never your index/.

    Example: qa eval eval/bbc-dev --split test --json out.json --report out.md --plot out.png
    Gate:    qa eval eval/seed-test --baseline eval/baselines/seed-test.json --max-drop 0.01
    """
    from qa.eval.datasets import load_dataset
    from qa.eval.evaluation import evaluate_dataset, read_baseline, regressions
    from qa.eval.report import print_table

    with user_errors():
        need("ranx", "eval", "qa eval")  # before an index is built, not after
        if plot:
            need("matplotlib", "eval", "qa eval --plot")
        settings = settings_for(eval_cache=cache)
        given = mode or [settings.mode]
        modes = [m.strip() for value in given for m in value.split(",") if m.strip()]
        data = load_dataset(dataset, split)
        old = read_baseline(baseline) if baseline else None
        with _progress_bar() as progress:
            results = evaluate_dataset(settings, data, modes, k=k, limit=limit, progress=progress)
        print_table(results)
        command = _eval_command(dataset, modes, k, limit, split)
        _write_results(results, command, json_file, report, plot)
        drops = regressions(results, old, max_drop) if old is not None else []
        for line in drops:
            typer.echo(f"regression: {line}", err=True)
        if drops:
            raise typer.Exit(1)


def _eval_command(dataset: Path, modes: list[str], k: int, limit: int | None, split: str) -> str:
    """The `qa eval` command that makes these results, as the report records it."""
    command = f"qa eval {dataset} " + " ".join(f"--mode {m}" for m in modes) + f" -k {k}"
    command += f" --limit {limit}" if limit else ""
    return command + (f" --split {split}" if split != "all" else "")


def _write_results(
    results: list[dict],
    command: str,
    json_file: Path | None,
    report: Path | None,
    plot: Path | None,
) -> None:
    """`qa eval`'s files: the JSON results, the markdown report, the plot; each when asked."""
    from qa.eval.evaluation import public
    from qa.eval.report import markdown
    from qa.eval.report import plot as plot_results

    out = [public(r) for r in results]
    if json_file:
        json_file.write_text(
            json.dumps(out[0] if len(out) == 1 else out, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    if report:
        report.write_text(markdown(results, command), encoding="utf-8")
    if plot:
        plot_results(results, plot)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
