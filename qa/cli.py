"""The `qa` command: a thin shell over the core. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qa.config import Settings
from qa.errors import QAError

if TYPE_CHECKING:
    from qa.answer import Answer

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
    typer.Option("--corpus", help="Folder (or file) of articles [env QA_CORPUS, default seeds/]."),
]
IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="Index folder [env QA_INDEX, default index/].")
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
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
) -> None:
    """Answer a question from the index, citing the excerpts it quotes.

    Example: qa ask "How many people were detained?" --json
    Batch:   printf 'q1\\nq2\\n' | qa ask --json -   (JSONL out, model loaded once)
    """
    from qa.engine import Engine

    with user_errors():
        engine = Engine.load(settings_for(corpus=corpus, index=index))
        questions = _stdin_questions() if question == "-" else [question]
        for q in questions:
            answer = engine.ask(q, k)
            typer.echo(
                json.dumps(answer.to_json(), ensure_ascii=False) if as_json else _text(answer)
            )


def _stdin_questions() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _text(answer: Answer) -> str:
    lines = [answer.text, ""]
    sources = answer.citations or answer.related
    if sources:
        lines.append("Sources:" if answer.citations else "Related, but not an answer:")
    for c in sources:
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
) -> None:
    """Build the index from the corpus folder, with a progress bar and a summary.

    Example: qa index build --corpus ~/articles --index ~/articles-index
    """
    from qa.corpus import read_corpus
    from qa.embedding import Embedder
    from qa.indexing import build_index, is_up_to_date

    with user_errors():
        settings = settings_for(corpus=corpus, index=index)
        read = read_corpus(settings.corpus)
        if if_stale and is_up_to_date(settings, read):
            typer.echo(f"Index in {settings.index} is up to date ({len(read.articles)} articles).")
            return
        embedder = Embedder.load(settings.model)
        with _progress_bar() as progress:
            report = build_index(settings, embedder, progress, corpus=read)
        for skip in report.skipped:
            typer.echo(f"skipped {skip.path}: {skip.reason}", err=True)
        typer.echo(
            f"Indexed {report.articles} articles into {report.chunks} chunks "
            f"({report.sentences} sentences) in {report.seconds:.1f} s; "
            f"{len(report.skipped)} skipped. Index: {report.generation}"
        )


@contextmanager
def _progress_bar() -> Iterator:
    """A rich progress bar, one task per stage, fed by the build's progress callback."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
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
) -> None:
    """Show what the index holds: model, chunking, counts, build time.

    Example: qa index info --json
    """
    from qa.store import read_manifest

    with user_errors():
        settings = settings_for(index=index)
        manifest = read_manifest(settings.index)
        if as_json:
            typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))
            return
        counts = manifest.get("counts", {})
        for key in ("generation", "model", "dimension", "built_at", "corpus"):
            typer.echo(f"{key:>12}: {manifest.get(key)}")
        typer.echo(f"{'chunking':>12}: {json.dumps(manifest.get('chunking'))}")
        typer.echo(f"{'counts':>12}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address [env QA_HOST, 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env QA_PORT, 7860].")] = None,
    index: IndexOpt = None,
) -> None:
    """Serve the web chat (Gradio) on http://127.0.0.1:7860.

    Example: qa serve --port 8080
    """
    from qa.ui import serve as serve_ui

    with user_errors():
        serve_ui(settings_for(host=host, port=port, index=index))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
