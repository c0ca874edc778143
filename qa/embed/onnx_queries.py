"""Questions encoded through ONNX Runtime: the vector sentence-transformers gives (within
2e-7) in about 7 ms instead of 18 ms on 2 cores, since for one short question PyTorch's time
goes on per-operator overhead, not arithmetic (`benchmarks/query_runtime.py`).

The transformer with its mean pooling and normalisation is exported once per model folder into
the model cache (about 90 MB, a few seconds), written under a temporary name and renamed, so a
crash or a second process never leaves half a file. Every load checks the exported model
against PyTorch on a probe question; where export is impossible or the two disagree, questions
go through PyTorch and `note` says why. Documents are always encoded in PyTorch: their late
chunking needs the token vectors, and in batches PyTorch (with bf16) is as fast or faster.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch
from onnxruntime.capi import onnxruntime_pybind11_state as state

EXPORT_VERSION = 1  # bump when the exported graph changes, so old exports are not reused
AGREEMENT = 1e-4  # largest difference to PyTorch's vector that still counts as the same model
PROBE = "Who asked for the 2,500 troops that arrived in Almaty on 6 January, and why?"


@dataclass(frozen=True)
class OnnxQueries:
    """A loaded ONNX Runtime session for one model, and the tokenizer that feeds it."""

    session: Any
    tokenizer: Any
    inputs: tuple[str, ...]
    max_tokens: int

    def encode(self, text: str) -> np.ndarray:
        """One question as a `(1, dim)` float32 unit vector."""
        batch = self.tokenizer(
            [text], truncation=True, max_length=self.max_tokens, return_tensors="np"
        )
        feed = {name: batch[name].astype(np.int64) for name in self.inputs}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)


def load(model: Any, cache: Path) -> tuple[OnnxQueries | None, str | None]:
    """The ONNX encoder for a loaded sentence-transformers `model` (exported into `cache`
    the first time), or None and the reason questions stay in PyTorch."""
    path = cache / f"{_key(model[0].auto_model.name_or_path)}.onnx"
    inputs = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids")
                   if n in model.tokenizer.model_input_names)  # fmt: skip
    session = _session(path) if path.is_file() else None
    if session is None:  # not exported yet, or a damaged file: export (again)
        reason = _export(model, inputs, path)
        if reason:
            return None, f"{reason}: questions use PyTorch"
        session = _session(path)
        if session is None:
            return None, f"the model exported to {path} does not load: questions use PyTorch"
    # a tokenizer of its own: a fast tokenizer's truncation settings are state, and a build
    # counting tokens in another thread would change them under a question being encoded
    tokenizer = copy.deepcopy(model.tokenizer)
    queries = OnnxQueries(session, tokenizer, inputs, int(model.max_seq_length))
    reference = model.encode([PROBE], normalize_embeddings=True, convert_to_numpy=True)
    gap = float(np.abs(queries.encode(PROBE) - reference).max())
    if gap > AGREEMENT:
        return None, f"the exported model differs from PyTorch by {gap:.1e}: questions use PyTorch"
    return queries, None


def _session(path: Path) -> Any:
    """An inference session on `path`, or None when the file is not a loadable model."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # no spinning between questions: its threads would take the cores a build or the chat needs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 4  # a damaged file is handled here; ONNX Runtime need not log it
    unloadable = (state.InvalidProtobuf, state.InvalidGraph, state.Fail, state.NoSuchFile)
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except unloadable:
        return None


def _key(model_path: str) -> str:
    """Names the export after what it was made from: the model's files (names, sizes, dates)
    and the versions of the exporter."""
    root = Path(model_path)
    files = sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*") if p.is_file()
    )  # fmt: skip
    payload = json.dumps([EXPORT_VERSION, torch.__version__, str(root.resolve()), files])
    return f"{root.name}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _export(model: Any, inputs: tuple[str, ...], path: Path) -> str | None:
    """Write the model as ONNX to `path`; None, or what went wrong."""
    graph = _Pooled(model[0].auto_model).eval()
    example = model.tokenizer([PROBE], return_tensors="pt")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".onnx")
        os.close(fd)
    except OSError as err:
        return f"the model cache {path.parent} is not writable ({err.strerror}; set QA_MODEL_CACHE)"
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                tuple(example[name] for name in inputs),
                tmp,
                input_names=list(inputs),
                output_names=["vector"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in inputs},
                opset_version=17,
                dynamo=False,
            )
        os.chmod(tmp, 0o644)  # readable like any cache file, not mkstemp's owner-only
        os.replace(tmp, path)
    except (RuntimeError, OSError, torch.onnx.OnnxExporterError) as err:
        return f"the model could not be exported to ONNX ({_first_line(err)})"
    finally:
        Path(tmp).unlink(missing_ok=True)
    return None


class _Pooled(torch.nn.Module):
    """The transformer, mean pooling over real tokens and unit length: sentence-transformers'
    pipeline for MiniLM, as one graph (the probe check catches a model pooled otherwise)."""

    def __init__(self, transformer: Any) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: Any, attention_mask: Any, *rest: Any) -> Any:
        extra = {"token_type_ids": rest[0]} if rest else {}
        tokens = self.transformer(
            input_ids=input_ids, attention_mask=attention_mask, **extra
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
