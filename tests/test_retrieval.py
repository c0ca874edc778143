"""Retrieval: the keyword index, the four modes, and filters applied inside the search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.answer.engine import Engine
from qa.answer.retrieval import Filters, retrieve
from qa.config import MODES, Settings
from qa.errors import IndexCorrupt, UsageError
from qa.index import bm25, store
from qa.index.indexing import build_index
from tests.conftest import bbc_lines, write_bbc_subset

# ---------------------------------------------------------------- the keyword index, pure


def test_tokenize_stems_and_drops_stopwords() -> None:
    (words,) = bm25.tokenize(["The bankers were banking on the banks"])
    assert words.count("bank") == 2 and "banker" in words  # banking, banks -> bank
    assert "the" not in words and "on" not in words


def test_bm25_ranks_the_chunk_with_the_rare_word_first() -> None:
    texts = ["Oil prices rose.", "The Yukos oil firm was sold.", "Prices of oil and gas fell."]
    index = bm25.build(bm25.tokenize(texts))
    scores = bm25.scores(index, "What happened to Yukos?")
    assert scores.argmax() == 1 and scores[0] == 0 == scores[2]
    assert not bm25.scores(index, "zebra crossings").any()  # no word in common: all zero
    allowed = np.array([True, False, True])
    assert not bm25.scores(index, "Yukos", allowed).any()  # the filter zeroes its row


def test_bm25_matrix_built_in_blocks_is_bm25s_own_bit_for_bit(monkeypatch) -> None:
    """`bm25.build` makes bm25s's score matrix itself, a block of chunks at a time; it is
    exactly the one `bm25s.BM25.index` makes from the same token ids, and scores as it does."""
    import bm25s
    from bm25s.tokenization import Tokenized

    texts = [row["text"] for row in bbc_lines()[:300]] + ["", "the of and"]
    tokens = bm25.tokenize(texts)
    monkeypatch.setattr(bm25, "_BLOCK_ROWS", 37)  # many blocks, a word's postings in several
    ours = bm25.build(iter(tokens))
    ids = [
        ours.tokens[a:b].tolist() for a, b in zip(ours.offsets[:-1], ours.offsets[1:], strict=True)
    ]
    params = bm25.PARAMS
    theirs = bm25s.BM25(k1=params["k1"], b=params["b"], method=params["method"])
    theirs.index(Tokenized(ids=ids, vocab=ours.vocab), show_progress=False)
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(ours.model.scores[part], theirs.scores[part])
        assert ours.model.scores[part].dtype == theirs.scores[part].dtype
    assert ours.model.scores["num_docs"] == theirs.scores["num_docs"] == 302
    for question in ("oil prices", "Yukos shares", "rugby world cup"):
        words = [w for w in bm25.tokenize([question])[0] if w in ours.vocab]
        np.testing.assert_array_equal(bm25.scores(ours, question), theirs.get_scores(words))
    assert not bm25.scores(ours, "the")[-2:].any()
    wordless = bm25.build([[], []])  # a block without a word (stopwords only, say)
    assert wordless.size == 2 and not bm25.scores(wordless, "oil").any()


def test_bm25_built_into_scratch_files_equals_one_built_in_memory(tmp_path: Path) -> None:
    """A build writes the token ids and the matrix to its temporary generation as it goes;
    the index is the same as one held in memory, built afresh or rebuilt from a previous."""
    texts = [row["text"] for row in bbc_lines()[:60]] + [""]
    tokens = bm25.tokenize(texts)
    held, spilled = bm25.build(tokens), bm25.build(tokens, tmp_path)
    assert isinstance(spilled.tokens, np.memmap) and (tmp_path / "bm25-data.npy").is_file()
    rows = [5, 0, *tokens[40:], 3]
    again = tmp_path / "again"
    again.mkdir()
    pairs = [(held, spilled), (bm25.rebuild(held, rows), bm25.rebuild(held, rows, again))]
    for a, b in pairs:
        np.testing.assert_array_equal(a.tokens, b.tokens)
        np.testing.assert_array_equal(a.offsets, b.offsets)
        assert a.vocab == b.vocab
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(a.model.scores[part], b.model.scores[part])
    bm25.save(spilled, tmp_path)
    np.testing.assert_array_equal(bm25.load(tmp_path).tokens, held.tokens)


def test_rebuild_from_stored_tokens_equals_a_fresh_build(tmp_path: Path) -> None:
    texts = ["Oil prices rose sharply.", "Yukos was sold.", "Gas and oil fell.", "Rugby news."]
    old = bm25.build(bm25.tokenize(texts))
    bm25.save(old, tmp_path)
    loaded = bm25.load(tmp_path)
    # keep rows 2 and 0, drop 1 and 3, add one new text
    new = bm25.rebuild(loaded, [2, 0, bm25.tokenize(["Yukos shares fell."])[0]])
    fresh = bm25.build(bm25.tokenize([texts[2], texts[0], "Yukos shares fell."]))
    for question in ("oil prices", "Yukos shares", "rugby"):
        np.testing.assert_allclose(bm25.scores(new, question), bm25.scores(fresh, question))
    assert "rugbi" not in new.vocab and set(new.vocab) == set(fresh.vocab)


# ---------------------------------------------------------------- modes on a real index

CATEGORIES = ("business", "sport", "tech")


@pytest.fixture(scope="module")
def bbc_engine(tmp_path_factory: pytest.TempPathFactory, embedder) -> Engine:
    """A real index of 12 BBC articles from each of three categories, two of them dated."""
    rows = bbc_lines()
    ids = {r["id"] for c in CATEGORIES for r in [x for x in rows if x["category"] == c][:12]}
    folder = tmp_path_factory.mktemp("bbc-retrieval")
    corpus = write_bbc_subset(folder / "corpus" / "bbc.jsonl", ids)
    picked = [json.loads(line) for line in corpus.read_text().splitlines()]
    picked[0]["published"], picked[-1]["published"] = "2005-01-10", "2005-03-02"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in picked))
    settings = Settings(corpus=corpus.parent, index=folder / "index")
    build_index(settings, embedder)
    return Engine.load(settings, embedder)


def test_every_mode_answers_and_hybrid_hits_carry_both_scores(bbc_engine: Engine) -> None:
    question = "Which company's shares rose after the takeover bid?"
    assert bbc_engine.modes == MODES and bbc_engine.mode(None) == "hybrid"
    for mode in MODES:
        _, hits = bbc_engine.search(question, 6, mode=mode)
        assert len(hits) == 6 and [h.rank for h in hits] == list(range(1, 7))
        assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    _, hybrid = bbc_engine.search(question, 6, mode="hybrid")
    assert all(-1 <= h.dense <= 1 for h in hybrid) and any(h.keyword > 0 for h in hybrid)
    _, dense = bbc_engine.search(question, 6, mode="dense")
    assert all(h.keyword == 0 and h.score == pytest.approx(h.dense) for h in dense)


def test_bm25_puts_the_one_article_holding_a_rare_word_first(bbc_engine: Engine) -> None:
    """Pick a name whose stemmed token occurs in exactly one article (headline included)."""
    articles = list(bbc_engine.index.data.articles.values())
    tokens = [set(t) for t in bm25.tokenize([f"{a.title}\n{a.text}" for a in articles])]
    holders: dict[str, list[str]] = {}
    for article, held in zip(articles, tokens, strict=True):
        for token in held:
            holders.setdefault(token, []).append(article.id)
    names = sorted({w for a in articles for w in a.text.split() if w.isalpha() and w.istitle()})
    word, token = next(
        (w, t)
        for w in names
        if len(w) > 6 and len(t := bm25.tokenize([w])[0]) == 1 and len(holders[t[0]]) == 1
    )
    _, hits = bbc_engine.search(f"What about {word}?", 3, mode="bm25")
    assert hits[0].chunk.article_id == holders[token[0]][0]
    assert hits[0].keyword > 0 and all(h.keyword < hits[0].keyword for h in hits[1:])


def test_filters_apply_inside_the_search_so_k_stays_k(bbc_engine: Engine) -> None:
    question = "What did the company report about its profits?"
    for mode in MODES:
        _, hits = bbc_engine.search(question, 8, mode=mode, filters=Filters(categories=("Sport",)))
        if mode == "bm25":  # only chunks sharing a word with the question are keyword hits
            assert 0 < len(hits) <= 8 and all(h.keyword > 0 for h in hits)
        else:
            assert len(hits) == 8  # 12 sport articles hold more than 8 chunks
        articles = bbc_engine.index.data.articles
        assert {articles[h.chunk.article_id].category for h in hits} == {"sport"}


def test_date_filters_keep_dated_articles_in_range_only(bbc_engine: Engine) -> None:
    articles = bbc_engine.index.data.articles
    _, hits = bbc_engine.search("news", 5, filters=Filters(since="2005-02-01"))
    assert hits and {articles[h.chunk.article_id].published for h in hits} == {"2005-03-02"}
    _, hits = bbc_engine.search("news", 5, filters=Filters(until="2005-01-31"))
    assert {articles[h.chunk.article_id].published for h in hits} == {"2005-01-10"}
    answer = bbc_engine.ask("What happened?", filters=Filters(since="2010-01-01"))
    assert answer.outcome == "none" and not answer.citations  # nothing passes: nothing shown
    assert bbc_engine.facets()["dates"] == ["2005-01-10", "2005-03-02"]
    assert bbc_engine.facets()["categories"] == list(CATEGORIES)


def test_bad_filters_and_modes_say_what_to_do(bbc_engine: Engine) -> None:
    for bad in ("31/01/2005", "20050131", "2005-W05-1", "2005-02-30"):
        with pytest.raises(UsageError, match="YYYY-MM-DD"):
            Filters(since=bad)
    assert Filters(until="2005-01-31T12:00:00").until  # a timestamp's day is the date
    with pytest.raises(UsageError, match="swap them"):
        Filters(since="2005-02-01", until="2005-01-01")
    with pytest.raises(UsageError, match="Unknown mode 'sparse'"):
        bbc_engine.ask("What happened?", mode="sparse")


def test_an_index_without_its_keyword_part_answers_dense(
    bbc_engine: Engine, tmp_path: Path, embedder
) -> None:
    """An index written before the keyword part existed still loads and answers (dense); asking
    for bm25 explicitly says how to add it."""
    root = tmp_path / "old"
    shutil.copytree(bbc_engine.settings.index, root)
    gen = store.current_generation(root)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    del manifest["keyword"]
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("bm25/")}
    (gen / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(gen / "bm25")
    engine = Engine.load(bbc_engine.settings.with_(index=root), embedder)
    assert engine.modes == ("dense",) and engine.mode(None) == "dense"
    _, hits = engine.search("What did the company report about its profits?", 5)
    assert len(hits) == 5 and all(h.keyword == 0 for h in hits)
    with pytest.raises(UsageError, match="qa index update"):
        engine.ask("profits", mode="bm25")


def test_a_damaged_keyword_part_is_refused(bbc_engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "damaged"
    shutil.copytree(bbc_engine.settings.index, root)
    gen = store.current_generation(root)
    assert gen is not None
    (gen / "bm25" / bm25.OFFSETS).write_bytes(b"not numpy")
    with pytest.raises(IndexCorrupt):
        store.load(root, {})


def test_retrieve_without_a_question_text_matches_dense(bbc_engine: Engine) -> None:
    query, dense = bbc_engine.search("rugby results", 5, mode="dense")
    direct = retrieve(bbc_engine.index, query, "rugby results", 5, mode="dense")
    assert [h.row for h in direct] == [h.row for h in dense]
