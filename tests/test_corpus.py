"""Reading and cleaning articles: the seed, each file type, bad files, and the BBC corpus."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from qa.errors import UsageError
from qa.ingest.corpus import BOILERPLATE, Skipped, clean_text, read_corpus, read_file

REPO = Path(__file__).parents[1]
SEED = REPO / "seeds" / "000_28b99177e199c771.txt"
BBC = Path(__file__).parents[2] / "shared" / "corpora" / "bbc-news" / "corpus.jsonl"

SEED_TITLE = (
    "Kazakhstan president vows to kill ‘terrorist’ protesters while calling in Russian help"
)
SEED_FIRST = "Kazakhstan President Kassym-Jomart Tokayev says"
SEED_LAST = "wield considerable power within the government."


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def seed_story_paragraphs() -> list[str]:
    """The story's paragraphs as they are in the seed file, from its first to its last sentence."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    first = next(n for n, line in enumerate(lines) if line.startswith(SEED_FIRST))
    last = next(n for n, line in enumerate(lines) if line.endswith(SEED_LAST))
    return lines[first : last + 1]


# --- the seed ------------------------------------------------------------------------------------


def test_seed_keeps_every_story_paragraph_and_drops_boilerplate() -> None:
    result = read_corpus(SEED.parent)

    assert result.skipped == []
    [article] = result.articles
    assert article.id == "000_28b99177e199c771"
    assert article.path == "000_28b99177e199c771.txt"
    assert article.title == SEED_TITLE
    paragraphs = seed_story_paragraphs()
    assert len(paragraphs) == 14
    for paragraph in paragraphs:
        assert paragraph in article.text
    assert article.text == "\n\n".join(paragraphs)  # the story, and nothing else
    assert article.text.startswith(SEED_FIRST)
    assert article.text.endswith(SEED_LAST)
    for boilerplate in (
        SEED_TITLE,
        "Central Asian regimes have no tolerance for protests. Picture credit: YouTube",
        "Leave a Reply",
        "This site uses Akismet",
        "Learn how your comment data is processed",
    ):
        assert boilerplate not in article.text


# --- cleaning ------------------------------------------------------------------------------------

STORY_BEFORE = "The council approved the budget on Tuesday after a long debate."
STORY_AFTER = "Critics said the plan would leave a gap of £2m in the transport fund."

BOILERPLATE_LINES = [
    "Leave a Reply",
    "Leave a Comment",
    "Leave a Reply Cancel reply",
    "Your email address will not be published.",
    "Your email address will not be published. Required fields are marked *",
    "Your email address is not published.",
    "Email is not published",
    "Required fields are marked *",
    "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    "Learn how your comment data is processed.",
    "Central Asian regimes have no tolerance for protests. Picture credit: YouTube",
    "Firefighters at the scene on Monday. Photo credit: AFP/Getty Images",
    "The minister arriving in Brussels. Image: Reuters",
    "Amber Heard in court (Image credit: Evelyn Hockstein/Pool/AFP via Getty Images)",
    "Photo: Reuters",
    "Picture: Supplied",
    "Photograph: Jane Smith/The Guardian",
    "Share this article",
    "Share this story:",
    "Share on Facebook",
    "Share on Twitter",
    "Subscribe to our newsletter",
    "Subscribe to our daily newsletter!",
    "Click here to subscribe",
    "Follow us on Twitter",
    "Follow us on Facebook and Instagram",
]


@pytest.mark.parametrize("line", BOILERPLATE_LINES)
def test_each_boilerplate_line_is_removed_and_its_neighbours_kept(line: str) -> None:
    body = f"{STORY_BEFORE}\n\n{line}\n\n{STORY_AFTER}"

    assert clean_text("Budget approved", body) == f"{STORY_BEFORE}\n\n{STORY_AFTER}"


def test_every_boilerplate_rule_has_an_example_and_a_comment() -> None:
    used = {
        index
        for line in BOILERPLATE_LINES
        for index, (pattern, _) in enumerate(BOILERPLATE)
        if pattern.fullmatch(line)
    }

    assert used == set(range(len(BOILERPLATE)))
    assert all(comment.strip() for _, comment in BOILERPLATE)


@pytest.mark.parametrize(
    "line",
    [
        "Residents were urged to leave a reply card at the town hall by Friday.",
        "Her email address will not be published in the register, the court ruled.",
        "The photo credit: a line the agency insisted on, the editor said, was never printed "
        "in full and the dispute over it went on for months before a judge finally settled it.",
        "He said he would share on Facebook the details of the plan once it was agreed.",
        "Officials follow us on Twitter closely, the campaigners claimed.",
        "Photos of the flood were shared widely.",
        "Subscribers to the service rose 8% in the quarter.",
    ],
)
def test_story_sentences_that_mention_boilerplate_words_are_kept(line: str) -> None:
    body = f"{STORY_BEFORE}\n\n{line}\n\n{STORY_AFTER}"

    assert clean_text("Budget approved", body) == body


def test_title_repeated_at_the_top_is_removed_but_not_later() -> None:
    title = "Budget  approved by council"
    body = f"BUDGET APPROVED  by council\n\nbudget approved by council\n{STORY_BEFORE}\n\n{title}"

    assert clean_text(title, body) == f"{STORY_BEFORE}\n\nBudget approved by council"


def test_whitespace_is_normalised_and_characters_kept() -> None:
    body = (
        "\r\n  \t“Quoted”  words,\t\tcurly ‘quotes’ and\u00a0a no-break space.  \r\n"
        "Second line of the same paragraph.\r\n\r\n\r\n\r\n   Next paragraph.   \n\n\n"
    )

    assert clean_text("", body) == (
        "“Quoted” words, curly ‘quotes’ and\u00a0a no-break space.\n"
        "Second line of the same paragraph.\n\nNext paragraph."
    )


def test_cleaning_is_deterministic_and_idempotent() -> None:
    raw = SEED.read_text(encoding="utf-8")
    once = clean_text(SEED_TITLE, raw)

    assert clean_text(SEED_TITLE, raw) == once
    assert clean_text(SEED_TITLE, once) == once


# --- file types ----------------------------------------------------------------------------------


def test_txt_and_md_files(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "\n\nFirst headline\n\nFirst story.\n\nLeave a Reply\n")
    write(tmp_path, "sub/story.md", "# Second  headline\n\nSecond story, *in markdown*.\n")

    result = read_corpus(tmp_path)

    assert result.skipped == []
    first, second = result.articles
    assert (first.id, first.title, first.text, first.path) == (
        "a",
        "First headline",
        "First story.",
        "a.txt",
    )
    assert (second.id, second.title, second.text, second.path) == (
        "sub/story",
        "Second headline",
        "Second story, *in markdown*.",
        "sub/story.md",
    )
    assert first.published is None


HTML_PAGE = """<!doctype html>
<html><head>
  <title>Bridge reopens after repairs</title>
  <meta property="article:published_time" content="2024-03-05T09:30:00Z">
  <style>p { color: red; }</style>
  <script>var tracking = "do not index";</script>
</head><body>
  <nav>Home | World | Sport</nav>
  <header><h1>Site banner</h1></header>
  <article>
    <h1>Bridge reopens after repairs</h1>
    <p>The Old Bridge reopened on Tuesday
       after two years of repairs.</p>
    <p>Drivers queued <b>before dawn</b> to cross it.<br>Some waited an hour.</p>
    <!-- an HTML comment -->
    <script>alert("inline script")</script>
    <aside>Related: Other bridges</aside>
    <p>Share this article</p>
  </article>
  <footer>© The Local Paper</footer>
</body></html>
"""


def test_html_page_keeps_the_article_paragraphs(tmp_path: Path) -> None:
    write(tmp_path, "news/bridge.html", HTML_PAGE)

    result = read_corpus(tmp_path)

    assert result.skipped == []
    [article] = result.articles
    assert article.id == "news/bridge"
    assert article.title == "Bridge reopens after repairs"
    assert article.published == "2024-03-05T09:30:00Z"
    assert article.text == (
        "The Old Bridge reopened on Tuesday after two years of repairs.\n\n"
        "Drivers queued before dawn to cross it.\nSome waited an hour."
    )


def test_html_without_article_uses_body_h1_and_time(tmp_path: Path) -> None:
    page = (
        "<html><body><h1>Storm  hits coast</h1><time datetime='2023-11-02'>2 Nov</time>"
        "<div>Winds reached 90mph.</div><div>Power was cut to 4,000 homes.</div>"
        "<noscript>Enable JavaScript</noscript><form>Sign up</form></body></html>"
    )
    write(tmp_path, "storm.htm", page)

    [article] = read_corpus(tmp_path).articles

    assert article.title == "Storm hits coast"
    assert article.published == "2023-11-02"
    assert article.text == "2 Nov\n\nWinds reached 90mph.\n\nPower was cut to 4,000 homes."


def test_json_single_object_and_list(tmp_path: Path) -> None:
    one = {
        "id": "story-1",
        "title": "One",
        "text": "One\n\nThe first story.",
        "published": "2022-01-08",
        "source": "Example News",
        "url": "https://example.com/1",
        "category": "world",
    }
    write(tmp_path, "a_one.json", json.dumps(one))
    many = [{"title": "Two", "text": "The second story."}, {"title": "Three", "body": "Third."}]
    write(tmp_path, "b_many.json", json.dumps(many))

    result = read_corpus(tmp_path)

    assert result.skipped == []
    first, second, third = result.articles
    assert first.id == "story-1"
    assert (first.title, first.text, first.published) == ("One", "The first story.", "2022-01-08")
    assert (first.source, first.url, first.category) == (
        "Example News",
        "https://example.com/1",
        "world",
    )
    assert first.path == "a_one.json"
    assert [second.id, third.id] == ["b_many:1", "b_many:2"]
    assert [second.text, third.text] == ["The second story.", "Third."]


def test_jsonl_field_variants_and_beir_ids(tmp_path: Path) -> None:
    lines = [
        {"id": "x1", "title": "T1", "text": "Body one.", "published": "2021-05-01"},
        {"id": 7, "title": "T2", "body": "Body two.", "published_at": "2021-05-02T08:00:00+01:00"},
        {"_id": "beir-3", "title": "", "text": "Body three.", "metadata": {}},
        {"title": "T4", "text": "Body four.", "published": "last Tuesday"},
    ]
    content = "\n".join(json.dumps(line) for line in lines[:2]) + "\n\n"
    content += "\n".join(json.dumps(line) for line in lines[2:]) + "\n"
    write(tmp_path, "feed/items.jsonl", content)

    result = read_corpus(tmp_path)

    assert result.skipped == []
    ids = [a.id for a in result.articles]
    assert ids == ["x1", "7", "beir-3", "feed/items:5"]  # the 4th record is on line 5
    one, two, three, four = result.articles
    assert (two.text, two.published) == ("Body two.", "2021-05-02T08:00:00+01:00")
    assert (three.title, three.text) == ("", "Body three.")
    assert four.published is None  # not an ISO date
    assert {a.path for a in result.articles} == {"feed/items.jsonl"}


def test_single_file_root(tmp_path: Path) -> None:
    path = write(tmp_path, "deep/corpus.jsonl", json.dumps({"id": "a", "text": "Only."}) + "\n")

    result = read_corpus(path)

    assert [(a.id, a.path) for a in result.articles] == [("a", "corpus.jsonl")]


def test_hidden_and_unknown_files_are_ignored_and_order_is_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.txt", "B\n\nStory b.")
    write(tmp_path, "a/z.txt", "Z\n\nStory z.")
    write(tmp_path, "a.txt", "A\n\nStory a.")
    write(tmp_path, ".hidden.txt", "H\n\nHidden.")
    write(tmp_path, ".git/c.txt", "C\n\nIn a hidden folder.")
    write(tmp_path, "notes.csv", "not,an,article")
    write(tmp_path, "picture.png", b"\x89PNG\r\n\x1a\n\x00\x00")

    result = read_corpus(tmp_path)

    assert [a.id for a in result.articles] == ["a/z", "a", "b"]  # sorted by path parts
    assert result.skipped == []


# --- bad input -----------------------------------------------------------------------------------


def test_bad_files_are_skipped_with_a_reason_and_the_rest_load(tmp_path: Path) -> None:
    write(tmp_path, "good.txt", "Good\n\nA fine story.")
    write(tmp_path, "latin1.txt", "Caf\xe9 opens\n\nIt serves cr\xeapes.".encode("latin-1"))
    write(tmp_path, "empty.txt", "")
    write(tmp_path, "blank.md", "  \n\n\t\n")
    write(tmp_path, "title_only.txt", "Just a headline\n\nLeave a Reply\n")
    write(tmp_path, "binary.txt", b"PK\x03\x04\x00\x00\x00binary")
    write(tmp_path, "broken.json", '{"title": "x", "text": ')
    write(tmp_path, "scalar.json", "42")
    good_line = json.dumps({"id": "ok", "text": "Fine."})
    lines = [
        good_line,
        '{"id": "bad", "text": "unterminated}',
        json.dumps({"id": "no-text", "title": "Headline only"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "ok2", "text": "Also fine."}),
        json.dumps({"id": "nested", "text": {"en": "wrong type"}}),
        json.dumps({"id": "boiler", "text": "Share this article"}),
    ]
    write(tmp_path, "lines.jsonl", "\n".join(lines) + "\n")

    result = read_corpus(tmp_path)

    assert sorted(a.id for a in result.articles) == ["good", "ok", "ok2"]
    reasons = {(s.path, s.reason.split(" (")[0]) for s in result.skipped}
    assert reasons == {
        ("latin1.txt", "not valid UTF-8"),
        ("empty.txt", "empty file"),
        ("blank.md", "empty file"),
        ("title_only.txt", "empty after cleaning"),
        ("binary.txt", "binary file"),
        ("broken.json", "invalid JSON"),
        ("scalar.json", "expected an article object or a list of them, got a number"),
        ("lines.jsonl", "line 2: invalid JSON"),
        ("lines.jsonl", "line 3: no text field"),
        ("lines.jsonl", "line 4: expected an article object, got a list"),
        ("lines.jsonl", "line 6: field 'text' should be a string, got an object"),
        ("lines.jsonl", "line 7: empty after cleaning"),
    }
    [broken_line] = [s for s in result.skipped if s.reason.startswith("line 2:")]
    assert broken_line.reason.startswith("line 2: invalid JSON (Unterminated string")


def test_read_file_returns_skips_instead_of_raising(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", b"\xff\xfe\xfa")

    assert read_file(path, tmp_path) == (
        [],
        [Skipped("x.txt", "not valid UTF-8 (byte 0xff at offset 0): save it as UTF-8")],
    )


def test_a_taken_id_is_renamed_and_a_copy_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.jsonl", json.dumps({"id": "dup", "title": "First", "text": "One."}) + "\n")
    write(tmp_path, "b.json", json.dumps({"id": "dup", "title": "Second", "text": "Two."}))
    write(tmp_path, "c.json", json.dumps({"id": "dup", "title": "First", "text": "One."}))
    write(tmp_path, "dup.txt", "Third\n\nThree.")

    result = read_corpus(tmp_path)

    assert [(a.id, a.title, a.path) for a in result.articles] == [
        ("dup", "First", "a.jsonl"),
        ("dup~2", "Second", "b.json"),
        ("dup~3", "Third", "dup.txt"),
    ]
    assert result.skipped == [Skipped("c.json", "the same article as a.jsonl (id dup)")]
    assert [r.reason for r in result.renamed] == [
        "id dup is taken by a.jsonl: indexed as dup~2",
        "id dup is taken by a.jsonl: indexed as dup~3",
    ]


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(UsageError) as error:
        read_corpus(missing)

    message = str(error.value)
    assert str(missing) in message
    assert "--corpus DIR" in message
    assert "QA_CORPUS" in message


def test_single_file_root_of_unknown_type_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", "a,b\n")

    with pytest.raises(UsageError, match="data.csv"):
        read_corpus(path)


# --- the BBC corpus ------------------------------------------------------------------------------


def test_bbc_corpus_loads_every_article_quickly() -> None:
    if not BBC.exists():
        pytest.skip(f"BBC corpus not found at {BBC} (it lives in ../shared, outside the repo)")
    records = [json.loads(line) for line in BBC.read_text(encoding="utf-8").splitlines()]

    started = time.perf_counter()
    result = read_corpus(BBC)
    elapsed = time.perf_counter() - started

    assert result.skipped == []
    assert len(result.articles) == len(records) == 2225
    assert [a.id for a in result.articles] == [r["id"] for r in records]
    # Titles as in the file, up to whitespace (one title has a double space, collapsed).
    assert [a.title for a in result.articles] == [" ".join(r["title"].split()) for r in records]
    assert [a.category for a in result.articles] == [r["category"] for r in records]
    assert {a.source for a in result.articles} == {"BBC News"}
    assert all(a.text and a.published is None for a in result.articles)
    assert elapsed < 5, f"reading the BBC corpus took {elapsed:.1f}s"


# --- hostile input: each case reads, or is skipped with its reason, and never raises ----------


def test_a_lone_surrogate_escape_becomes_a_replacement_character(tmp_path: Path) -> None:
    write(tmp_path, "a.jsonl", '{"id": "x\\ud800", "title": "T\\udfff", "text": "Body \\ud800."}\n')
    [article] = read_corpus(tmp_path).articles
    assert article.text == "Body \ufffd." and article.title == "T\ufffd"
    assert article.id == "x\ufffd"
    assert len(article.content_hash) == 64  # encodes as UTF-8 now
    json.dumps(vars(article), ensure_ascii=False).encode("utf-8")


def test_json_nested_too_deep_is_skipped_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    write(tmp_path, "deep.json", deep)
    write(
        tmp_path, "lines.jsonl", deep + '\n{"id": "ok", "title": "Fine", "text": "Still read."}\n'
    )
    got = read_corpus(tmp_path)
    assert [a.id for a in got.articles] == ["ok"]
    reasons = {s.path: s.reason for s in got.skipped}
    assert "nested too deeply" in reasons["deep.json"]
    assert "line 1" in reasons["lines.jsonl"] and "nested too deeply" in reasons["lines.jsonl"]


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    text = "Überschrift\n\nDer Präsident sprach über Truppen."
    write(tmp_path, "le.txt", text.encode("utf-16"))  # BOM + little endian
    write(tmp_path, "be.txt", b"\xfe\xff" + text.encode("utf-16-be"))
    articles = read_corpus(tmp_path).articles
    assert [(a.title, a.text) for a in articles] == [(text.split("\n")[0], text.split("\n")[2])] * 2


def test_a_one_line_text_file_is_an_article(tmp_path: Path) -> None:
    line = "The council approved the new budget on Monday after a long debate. " * 30
    write(tmp_path, "notes/budget-vote.txt", line)
    [article] = read_corpus(tmp_path).articles
    assert article.title == "budget-vote" and article.text == line.strip()


def test_non_ascii_and_non_utf8_file_names(tmp_path: Path) -> None:
    import os

    write(tmp_path, "новости.txt", "Заголовок\n\nТекст статьи.")
    bad = os.fsencode(str(tmp_path)) + b"/caf\xe9.txt"  # Latin-1 bytes: not UTF-8
    with open(bad, "wb") as f:
        f.write(b"Title\n\nBody text.")
    got = read_corpus(tmp_path)
    assert [a.id for a in got.articles] == ["новости"]
    [skip] = got.skipped
    assert skip.path == "caf\\xe9.txt" and "not valid UTF-8: rename it" in skip.reason
    json.dumps([vars(s) for s in got.skipped], ensure_ascii=False).encode("utf-8")


def test_links_are_followed_only_inside_the_corpus(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    write(outside, "secret.txt", "Secret\n\nNot for the index.")
    write(outside, "sub/other.txt", "Other\n\nNot either.")
    write(corpus, "real.txt", "Real\n\nIn the corpus.")
    (corpus / "inside-link.txt").symlink_to(corpus / "real.txt")
    (corpus / "outside-link.txt").symlink_to(outside / "secret.txt")
    (corpus / "folder-link").symlink_to(outside / "sub", target_is_directory=True)
    got = read_corpus(corpus)
    assert sorted(a.id for a in got.articles) == ["inside-link", "real"]
    reasons = {s.path: s.reason for s in got.skipped}
    assert "outside the corpus folder" in reasons["outside-link.txt"]
    assert "linked folder" in reasons["folder-link"]


def test_a_link_that_loops_or_leads_nowhere_is_skipped_with_the_reason(tmp_path: Path) -> None:
    write(tmp_path, "real.txt", "Real\n\nIn the corpus.")
    (tmp_path / "l1.txt").symlink_to("l2.txt")
    (tmp_path / "l2.txt").symlink_to("l1.txt")
    (tmp_path / "gone.txt").symlink_to("missing.txt")
    got = read_corpus(tmp_path)
    assert [a.id for a in got.articles] == ["real"]
    reasons = {s.path: s.reason for s in got.skipped}
    assert reasons["l1.txt"] == reasons["l2.txt"] == "a link that loops"
    assert reasons["gone.txt"] == "a link to a file that does not exist"


def test_an_overlong_article_is_skipped_with_the_limit(tmp_path: Path) -> None:
    from qa.ingest.corpus import MAX_ARTICLE_CHARS

    words = "word " * (MAX_ARTICLE_CHARS // 5 + 10)
    write(tmp_path, "dump.txt", "Dump\n\n" + words)
    got = read_corpus(tmp_path)
    assert not got.articles and "over the limit of 1,000,000" in got.skipped[0].reason
