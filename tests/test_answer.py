"""Extractive answers: the signals, the fitted model, quote choice, abstention, and floors."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.answer import fitted, reader
from qa.answer.compose import CLOSEST, NOT_FOUND, Policy, Scored, before, choose
from qa.answer.engine import Engine
from qa.answer.features import (
    CONFIDENCE,
    SENTENCE,
    Question,
    Sentence,
    TermWeights,
    _code_lines,
    analyse,
    answer_items,
    answer_type,
    code_digest,
    counts_what_is_asked,
    focus_terms,
    holds_answer_type,
    key_terms,
    near_focus,
    novelty,
    term_weights,
    terms,
    withheld,
)
from qa.answer.retrieval import Hit
from qa.config import Settings
from qa.eval.evaluation import is_right
from qa.index import bm25
from qa.index.indexing import build_index
from qa.ingest.chunking import Chunk
from qa.ingest.corpus import Article
from tests.conftest import ROOT, write_bbc_subset

# ---------------------------------------------------------------- one notion of a word


def test_answer_scoring_counts_the_words_bm25_indexes() -> None:
    text = "More than 4,000 people were detained by the authorities, and $1.13bn was spent."
    assert terms(text) == set(bm25.tokenize([text])[0])
    assert {"4000", "1.13", "detain", "author"} <= terms(text)
    assert terms("How many people were detained?") == {"peopl", "detain"}  # "how many": asking


def test_document_frequencies_are_the_bm25_matrix_s(seed_engine: Engine) -> None:
    """Stored with the index, and equal to a recount over the chunks' keyword text."""
    index = seed_engine.index
    stored = term_weights(index)
    counted = TermWeights.of([bm25.keyword_text(index.data.articles[c.article_id].title, c.text)
                              for c in index.data.chunks])  # fmt: skip
    assert stored.n_docs == counted.n_docs == len(index.data.chunks)
    for word in ("kazakhstan", "csto", "tokayev", "troop", "elbasi", "zebra"):
        assert stored.doc_freq(word) == counted.doc_freq(word), word


def test_idf_weighs_rare_words_most_and_unseen_like_the_rarest() -> None:
    weights = TermWeights.of(["Tokayev spoke to the troops.", "The troops left.", "Troops."])
    # BM25 IDF, log(1 + (N - df + 0.5) / (df + 0.5)) with N = 3:
    # troop (df 3): log(1 + 0.5/3.5) = 0.134; tokayev (df 1): log(1 + 2.5/1.5) = 0.981
    assert weights.idf("troop") == pytest.approx(0.1335, abs=1e-3)
    assert weights.idf("tokayev") == pytest.approx(0.9808, abs=1e-3)
    assert weights.idf("nowhere") == weights.idf("tokayev")


# ---------------------------------------------------------------- what a question asks


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many troops were sent?", "number"),
        ("How old is Tokayev?", "number"),
        ("When was the CSTO founded?", "date"),
        ("Who is the president?", "name"),
        ("Which company bought the studio?", "name"),
        ("Why did the protests start?", "reason"),
        ("Which Austrian village makes its own TV news?", "name"),
        ("Where did she find a reference to him?", "name"),
        ("What net profit did WMC Resources report for 2004?", "number"),
        ("What did the shares drop to?", "number"),
        ("What did Tokayev say his forces would do?", None),
    ],
)
def test_answer_type(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_holds_answer_type() -> None:
    assert holds_answer_type("number", "More than 4,000 people were held.", "How many?")
    assert not holds_answer_type("number", "Many people were held.", "How many?")
    assert holds_answer_type("date", "It was founded in 1999.", "When?")
    assert holds_answer_type("name", "He asked Vladimir Putin for help.", "Who did he ask?")
    assert not holds_answer_type("name", "Then Tokayev spoke.", "Who is Tokayev?")
    # a number the question already holds is not an answer to it
    assert not holds_answer_type("number", "Fraud rose in 2004.", "How many cases in 2004?")
    assert holds_answer_type("name", 'It was nicknamed "evil twins".', "What nickname?")
    assert holds_answer_type("reason", "He left because of a back injury.", "Why did he go?")
    assert not holds_answer_type("reason", "He left on Monday.", "Why did he go?")


def test_a_year_question_wants_a_year_and_a_day_question_a_day() -> None:
    sentence = "On Saturday the spokesman said he was still in the capital."
    assert holds_answer_type("date", sentence, "When did the spokesman speak?")
    assert not holds_answer_type("date", sentence, "In what year was the capital renamed?")
    assert answer_items("date", "It was renamed in 2019.", "In what year was it renamed?") == (
        (18, 22),  # "2019"
    )
    assert not holds_answer_type("date", "It fell in 2019.", "On what day did the airport fall?")
    assert holds_answer_type("date", "It fell on 5 March.", "On what day did the airport fall?")


def test_counts_what_is_asked() -> None:
    question = "How many identity fraud cases did the FTC record in 2004?"
    assert counts_what_is_asked("The biggest slice of the 246,570 ID fraud cases", question)
    assert not counts_what_is_asked("Two in five of the 635,173 reports concerned it", question)
    assert not counts_what_is_asked("There were 246,570 cases", "Who recorded the cases?")


def test_key_terms_are_names_and_numbers_not_the_opening_word() -> None:
    assert key_terms("Who won the 2010 FIFA World Cup?") == terms("2010 FIFA World Cup")
    assert key_terms("What did Apple announce about the iPhone?") == terms("Apple iPhone")
    assert key_terms("What is the boiling point of water?") == set()


def test_the_focus_is_the_wh_phrase() -> None:
    assert focus_terms("How much profit did Travelers make in 2004?") == terms("profit")
    assert focus_terms("Which country's rating sits one level above India's?") == terms(
        "country's rating sits one"
    )
    assert focus_terms("What did Tokayev say?") == set()


def test_near_focus_finds_the_asked_item_beside_the_focus_word() -> None:
    q = analyse("How much profit did Travelers make in 2004?", TermWeights.of([]))
    assert near_focus(q, "Travelers had sales of $5.2bn in 2004 and made a profit of $901m.")
    assert not near_focus(q, "Citigroup sold the arm to Metlife for $11.5bn (£6.1bn) in 2005.")


def test_withheld_says_the_thing_is_not_known() -> None:
    assert withheld("The company didn’t give details of its investment.")
    assert withheld("It was sold for an undisclosed sum.")
    assert withheld("He is keeping the plot a closely guarded secret.")
    assert not withheld("The company gave details of its investment.")


def test_novelty_is_the_share_of_the_sentence_words_the_question_lacks() -> None:
    asked = set(terms("Who was named young player of the year by the Lawn Tennis Association?"))
    assert novelty("The Lawn Tennis Association named a young player of the year.", asked) == 0
    assert novelty("Scotland's Andrew Murray was named young player of the year.", asked) == (
        pytest.approx(3 / 7)  # scotland, andrew, murray of those 3 + named, young, player, year
    )
    assert novelty("", asked) == 0.0


# ---------------------------------------------------------------- the fitted model


def test_the_shipped_model_matches_the_features_and_says_what_it_was_fitted_on() -> None:
    model = fitted.load()
    assert set(model.sentence.features) <= set(SENTENCE)
    assert set(model.confidence.features) <= set(CONFIDENCE)
    assert 0 < model.threshold < 1 and model.margin > 0
    assert model.fitted["script"] == "benchmarks/fit_answer.py"
    for spec in model.fitted["on"]:  # never a held-out set, never a test half
        folder, _, split = spec.partition(":")
        assert split != "test"
        meta = ROOT / folder / "dataset.json"  # read alone: its corpus may live elsewhere
        if meta.is_file():
            assert not json.loads(meta.read_text(encoding="utf-8")).get("held_out"), spec


def test_a_model_fitted_on_other_features_is_refused_with_the_fix(tmp_path: Path) -> None:
    from qa.errors import ModelUnavailable

    data = json.loads(fitted.MODEL_FILE.read_text(encoding="utf-8"))
    data["sentence"]["features"][0] = "no_such_signal"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="fit_answer.py"):
        fitted.load.__wrapped__(path)


def test_the_shipped_model_records_the_feature_code_embedding_model_and_data_it_came_from() -> None:
    model = fitted.load()
    assert model.fitted["feature_code"] == code_digest()
    assert model.fitted["embedding_model"] == Settings().model
    assert re.fullmatch(r"[0-9a-f]{16}", model.fitted["data"])


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d.update(format=1), "of format 1"),
        (lambda d: d["fitted"].update(feature_code="0" * 16), "features made by other code"),
    ],
)
def test_a_model_of_another_format_or_feature_code_is_refused_naming_the_refit(
    tmp_path: Path, change, said: str
) -> None:
    from qa.errors import ModelUnavailable

    data = json.loads(fitted.MODEL_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="make refit") as error:
        fitted.load.__wrapped__(path)
    assert said in str(error.value)


def test_the_feature_digest_reads_code_not_comments_or_docstrings() -> None:
    from qa.answer import features

    source = Path(features.__file__).read_text(encoding="utf-8")
    base = _code_lines(source)
    assert _code_lines(source + "\n# a note\n\n") == base
    assert _code_lines(source.replace('"""The signals behind', '"""Signals behind', 1)) == base
    assert _code_lines(source.replace('"cos_sentence"', '"cos_of_sentence"', 1)) != base


def test_an_index_of_another_embedding_model_is_refused_naming_the_refit() -> None:
    from qa.errors import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="QA_MODEL=other-model"):
        fitted.check_embedding_model(fitted.load(), "other-model")
    fitted.check_embedding_model(fitted.load(), Settings().model)  # the shipped one: no error


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        ({"format": 0}, "train_reader.py"),
        ({"confidence": {}}, "reader_compare.py tune"),
        ({"feature_code": "0" * 16}, "make refit"),
        ({"answer_model": "0" * 16}, "make refit"),
    ],
)
def test_a_reader_of_another_format_or_confidence_is_refused_naming_the_fix(
    tmp_path: Path, change: dict, fix: str
) -> None:
    from qa.errors import ModelUnavailable

    meta = json.loads((reader.FOLDER / "reader.json").read_text(encoding="utf-8"))
    if "format" in change or "confidence" in change:
        meta |= change
    else:  # what the confidence was fitted with
        meta["confidence"] |= change
    (tmp_path / "reader.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelUnavailable, match=fix):
        reader.load.__wrapped__("reader", tmp_path)


# ---------------------------------------------------------------- choosing the quotes, faked

_TEXT = "Japan's tycoon was arrested on Thursday. Yoshiaki Tsutsumi was once the richest man."
_SPANS = ((0, 40), (41, len(_TEXT)))


def _sentence(hit: Hit, k: int, holds: bool | None = True, headline: str = "") -> Sentence:
    s, e = hit.chunk.sentences[k]
    return Sentence(hit, s, e, k, holds, terms(headline))


def _hit(article: str = "a", row: int = 0, text: str = _TEXT, spans=_SPANS) -> Hit:
    chunk = Chunk(article, f"{article}#0", 0, len(text), text, spans)
    return Hit(row=row, chunk=chunk, score=0.5, rank=row + 1, dense=0.5)


def _scored(question: str, sentences: list[Sentence], scores: list[float]) -> Scored:
    q = analyse(question, TermWeights.of([]))
    s = np.asarray(scores, dtype=np.float32)
    x = np.zeros((len(sentences), len(SENTENCE)), np.float32)
    return Scored(q, sentences, x, s, np.argsort(-s, kind="stable"))


POLICY = Policy(max_quotes=3, margin=1.0, part_margin=3.0)


def test_the_reader_reads_the_sentence_before_from_the_chunk_or_the_article() -> None:
    text = "Tokayev asked for help. He is 68. Troops came."
    article = Article("a", "Kazakhstan", text)
    first = Chunk("a", "a#0", 0, 33, text[:33], ((0, 23), (24, 33)))
    second = Chunk("a", "a#1", 24, len(text), text[24:], ((24, 33), (34, len(text))))
    hit = Hit(row=0, chunk=first, score=0.5, rank=1, dense=0.5)
    later = Hit(row=1, chunk=second, score=0.5, rank=2, dense=0.5)
    assert before(Sentence(hit, 0, 23, 0, None, frozenset()), article) == ""
    assert before(Sentence(hit, 24, 33, 1, None, frozenset()), article) == "Tokayev asked for help."
    # the first sentence of a later chunk: the sentence before it is in the article, not the chunk
    assert (
        before(Sentence(later, 24, 33, 0, None, frozenset()), article) == "Tokayev asked for help."
    )
    assert before(Sentence(later, 34, len(text), 1, None, frozenset()), article) == "He is 68."


def test_a_reader_reads_the_sentence_before_only_when_trained_to() -> None:
    assert reader.passage("Title", "He is 68.") == "Title. He is 68."
    assert reader.passage("Title", "He is 68.", "Tokayev spoke.") == (
        "Title. He is 68. [SEP] Tokayev spoke."
    )
    shipped = reader.load()
    plain = reader.Reader(shipped.session, shipped.tokenizer, {**shipped.meta, "context": False})
    passages = [("Kazakhstan", "He is 68.", "Tokayev spoke."), ("Kazakhstan", "He is 68.", "")]
    same = plain.logits("How old is Tokayev?", passages)
    assert same[0] == pytest.approx(same[1])
    reading = reader.Reader(shipped.session, shipped.tokenizer, {**shipped.meta, "context": True})
    differs = reading.logits("How old is Tokayev?", passages)
    assert differs[0] != pytest.approx(differs[1])


def test_a_lead_sentence_is_quoted_with_the_next_one() -> None:
    hit = _hit()
    scored = _scored("Who was arrested?", [_sentence(hit, 0), _sentence(hit, 1)], [5.0, 1.0])
    assert choose(scored, POLICY) == [[0, 1]]
    # ... but not a next sentence that lacks what the question asks for
    lacking = [_sentence(hit, 0), _sentence(hit, 1, holds=False)]
    assert choose(_scored("Who was arrested?", lacking, [5.0, 1.0]), POLICY) == [[0]]


def test_a_sentence_that_opens_no_story_is_quoted_alone() -> None:
    hit = _hit()
    scored = _scored("Who was rich?", [_sentence(hit, 1), _sentence(hit, 0)], [5.0, 1.0])
    assert choose(scored, POLICY) == [[0]]


def test_the_same_sentence_from_a_copy_of_the_story_is_quoted_once() -> None:
    one, copy = _hit("a", 0), _hit("b", 1)
    scored = _scored("Who was rich?", [_sentence(one, 1), _sentence(copy, 1)], [5.0, 4.9])
    assert choose(scored, POLICY) == [[0]]


def test_a_sentence_apart_from_the_best_in_its_excerpt_is_quoted_on_its_own() -> None:
    """The lead sums up, the answer comes two sentences later in the same excerpt: it is
    quoted as a second citation of that excerpt, not dropped for the gap between them."""
    text = "Henman was named player of the year. He reached two semis. Murray was too."
    spans = ((0, 36), (37, 58), (59, len(text)))
    hit = _hit(text=text, spans=spans)
    lead, answer = _sentence(hit, 0), _sentence(hit, 2)
    assert choose(_scored("Who?", [lead, answer], [5.0, 4.5]), POLICY) == [[0], [1]]
    # ... within the margin only
    assert choose(_scored("Who?", [lead, answer], [5.0, 3.5]), POLICY) == [[0]]


def test_a_question_about_two_things_quotes_the_article_for_each() -> None:
    """The best quote names Henman; another article's sentence holds Murray, the part of the
    question it lacks: it is quoted too, though outside the ordinary margin."""
    text_a, text_b = "Tim Henman is 30 years old.", "Andy Murray is 17 years old."
    henman = _sentence(_hit("a", 0, text_a, ((0, len(text_a)),)), 0, headline="Henman")
    murray = _sentence(_hit("b", 1, text_b, ((0, len(text_b)),)), 0, headline="Murray")
    other = _sentence(_hit("c", 2, "Rain fell.", ((0, 10),)), 0)
    question = "How old are Tim Henman and Andy Murray?"
    # the part comes before the ordinary margin's quotes: slots are few
    assert choose(_scored(question, [henman, other, murray], [5.0, 4.8, 2.5]), POLICY) == [
        [0], [2], [1]
    ]  # fmt: skip
    assert choose(_scored(question, [henman, murray], [5.0, 2.5]), POLICY) == [[0], [1]]
    # ... but not a sentence that adds none of the missing names
    assert choose(_scored(question, [henman, other], [5.0, 2.5]), POLICY) == [[0]]


def test_a_question_of_parts_quotes_each_part_and_then_its_nearest_runners_up() -> None:
    """Each part's best sentence first; then the sentences a part read close below its best,
    the nearest first, within the margin and up to `max_quotes` a part: a part's close second
    is not crowded out by the other part's runners-up."""
    texts = [f"Sentence {n} of its own." for n in range(6)]
    sentences = [_sentence(_hit(t[9], n, t, ((0, len(t)),)), 0) for n, t in enumerate(texts)]
    scored = _scored("Who is older, A or B?", sentences, [4.0, 3.0, 2.0, 1.0, 0.5, 0.4])
    # part 0 picked 0 and read 3 and 4 close below it; part 1 picked 2 and read 1 and 5
    runners_up = ((0.3, 3, 0), (0.4, 4, 0), (0.6, 1, 1), (0.7, 5, 1), (2.0, 5, 1))
    parts = replace(scored, picked=(0, 2), runners_up=runners_up)
    assert choose(parts, replace(POLICY, max_quotes=2)) == [[0], [2], [3], [1]]
    assert choose(parts, POLICY) == [[0], [2], [3], [4], [1], [5]]
    # a runner-up further below its part's best than the margin is not quoted
    assert choose(parts, replace(POLICY, margin=0.35)) == [[0], [2], [3]]
    assert choose(parts, replace(POLICY, max_quotes=1)) == [[0], [2]]


# ---------------------------------------------------------------- real answers, seed index


def test_answer_quotes_verbatim_with_markers(seed_engine: Engine) -> None:
    answer = seed_engine.ask("When was the CSTO founded?")
    assert not answer.abstained and "1999" in answer.text
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)} == {
        c.n for c in answer.citations
    }
    article = seed_engine.index.data.articles[answer.citations[0].article_id]
    for c in answer.citations:
        assert c.excerpt[c.quote_start : c.quote_end] == c.quote
        assert c.quote in answer.text and c.excerpt in article.text
    conf = answer.to_json()["confidence"]
    assert conf["value"] >= conf["threshold"] == reader.load().threshold


def test_an_unsure_answer_quotes_the_closest_sentences(seed_engine: Engine) -> None:
    answer = seed_engine.ask("Who won the 2022 FIFA World Cup?")
    assert answer.outcome == "closest" and answer.abstained
    assert answer.text.startswith(CLOSEST) and answer.citations
    assert all(f"{c.quote} [{c.n}]" in answer.text for c in answer.citations)
    assert answer.confidence.value < answer.confidence.threshold
    assert set(answer.confidence.missing_keys) >= {"2022", "fifa"}


def test_an_off_topic_question_gets_nothing(seed_engine: Engine) -> None:
    answer = seed_engine.ask("What is the boiling point of water in Fahrenheit?")
    assert answer.outcome == "none" and answer.text == NOT_FOUND and not answer.citations
    assert answer.to_json()["related"] == [] and answer.trace["on_topic"] is False


@pytest.mark.parametrize(
    ("question", "history"),
    [("How old is Tokayev?", []), ("How old is he?", ["Who is the president of Kazakhstan?"])],
)
def test_a_right_answer_is_shown_never_hidden(seed_engine: Engine, question, history) -> None:
    """Refused before the three outcomes (the answer sat under "Related, but not an answer")."""
    answer = seed_engine.ask(question, history=history)
    assert answer.outcome in ("answer", "closest") and "68" in answer.text


def test_the_threshold_setting_overrides_the_model_s(seed_settings: Settings, embedder) -> None:
    question = "Who won the 2022 FIFA World Cup?"
    never = Engine.load(seed_settings.with_(abstain_below=0.0), embedder)
    assert not never.ask(question).abstained
    always = Engine.load(seed_settings.with_(abstain_below=1.01), embedder)
    answer = always.ask("When was the CSTO founded?")
    assert answer.abstained and answer.to_json()["confidence"]["threshold"] == 1.01


def _right(engine: Engine, row: dict) -> bool:
    from qa.eval.datasets import Evidence, Query

    evidence = tuple(Evidence(ev["article_id"], ev.get("fact")) for ev in row["evidence"])
    query = Query(row["id"], row["question"], row["type"], row.get("answer"), evidence)
    answer = engine.ask(row["question"])
    return is_right(query, [(c.article_id, c.quote) for c in answer.citations])


def test_seed_tune_set_quality_floor(seed_engine: Engine) -> None:
    """The seed tune set (fitted on): most answerable questions right, unrelated questions
    refused. The held-out figures come from `qa eval eval/seed-test` (see the README)."""
    rows = [json.loads(line) for line in (ROOT / "eval/seed-tune/queries.jsonl").open()]
    answerable = [r for r in rows if r["evidence"]]
    right = sum(_right(seed_engine, r) for r in answerable)
    assert right / len(answerable) >= 0.5, f"{right}/{len(answerable)} answered right"
    unrelated = [
        "What is the capital of Australia?",
        "Who won the 2022 FIFA World Cup?",
        "What is the boiling point of water in degrees Fahrenheit?",
    ]
    assert all(seed_engine.ask(q).abstained for q in unrelated)


@pytest.mark.slow
def test_bbc_questions_over_a_real_subset(tmp_path: Path, embedder) -> None:
    """Single-article BBC dev questions over their articles plus 100 distractors."""
    rows = [json.loads(line) for line in (ROOT / "eval/bbc-dev/queries.jsonl").open()]
    questions = [r for r in rows if r["type"] == "single"][:25]
    ids = {ev["article_id"] for q in questions for ev in q["evidence"]}
    corpus = write_bbc_subset(tmp_path / "bbc.jsonl", ids=ids, n=100)
    settings = Settings(corpus=corpus, index=tmp_path / "index")
    build_index(settings, embedder)
    engine = Engine.load(settings, embedder)
    right = sum(_right(engine, q) for q in questions)
    assert right / len(questions) >= 0.6, f"{right}/{len(questions)} answered right"
    assert engine.ask("Who won the 2010 football World Cup in South Africa?").abstained


def test_a_question_object_counts_its_words_once() -> None:
    q = Question("x", {"a": 1.0, "b": 3.0}, frozenset({"b"}), None)
    assert q.share({"b"}) == 0.75 and q.share({"b"}, frozenset({"b"})) == 1.0
