"""The corpus folder as files: safe uploads, removals, fingerprints. No model needed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from qa.errors import UsageError
from qa.ingest import corpus, library
from qa.ingest.corpus import read_corpus

STORY = "Lanterns over Tallinn\n\nThe city lit 4,000 paper lanterns on Friday night.\n"


def _upload(tmp_path: Path, name: str, content: str | bytes) -> tuple[str, Path]:
    """A file as the browser hands it over: the name it was sent with, and where it landed."""
    where = tmp_path / "incoming" / str(len(list((tmp_path).glob("incoming/*"))))
    where.mkdir(parents=True)
    path = where / "upload.bin"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return name, path


def test_suffixes_match_what_the_corpus_reader_reads() -> None:
    assert set(library.ARTICLE_SUFFIXES) == set(corpus._READERS)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("story.txt", "story.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/x.html", "x.html"),
        (".hidden.txt", "hidden.txt"),
        ("my story (final)!.TXT", "my_story_final.txt"),
        ("ünïcödé naïve.md", "ünïcödé_naïve.md"),  # letters of any script are kept
        ("новости дня.txt", "новости_дня.txt"),
        ("..", ""),
        ("...txt", ""),
        ("a" * 300 + ".txt", "a" * 96 + ".txt"),  # 100 characters in all
    ],
)
def test_safe_name_keeps_only_a_safe_base_name(name: str, safe: str) -> None:
    assert library.safe_name(name) == safe


def test_upload_saves_a_readable_article(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    added = library.add_files(folder, [_upload(tmp_path, "../lanterns.txt", STORY)])
    assert added.saved == [("../lanterns.txt", "lanterns.txt")] and not added.refused
    assert (folder / "lanterns.txt").read_text() == STORY
    assert [a.title for a in read_corpus(folder).articles] == ["Lanterns over Tallinn"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temp file left"
    assert "Run the index update" in added.summary()


def test_upload_never_overwrites_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "lanterns.txt").write_text("Older story\n\nSomething else entirely.\n")
    added = library.add_files(folder, [_upload(tmp_path, "lanterns.txt", STORY)])
    assert added.saved == [("lanterns.txt", "lanterns-2.txt")]
    assert "saved as lanterns-2.txt" in added.summary()
    assert (folder / "lanterns.txt").read_text().startswith("Older story")
    again = library.add_files(folder, [_upload(tmp_path, "lanterns.txt", STORY)])
    assert not again.saved
    assert "already in the corpus as lanterns-2.txt" in again.refused[0][1]


def test_upload_refuses_bad_files_with_reasons(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(library, "MAX_UPLOAD_BYTES", 100)
    folder = tmp_path / "corpus"
    uploads = [
        _upload(tmp_path, "tool.exe", b"MZ..."),
        _upload(tmp_path, "noext", STORY),
        _upload(tmp_path, "big.txt", "Title\n\n" + "word " * 100),
        _upload(tmp_path, "empty.md", b""),
        _upload(tmp_path, "binary.txt", b"\x00\x01\x02"),
        _upload(tmp_path, "broken.jsonl", "{not json\n"),
        _upload(tmp_path, "good.txt", STORY[:60]),
    ]
    added = library.add_files(folder, uploads)
    reasons = dict(added.refused)
    assert "allowed: .txt" in reasons["tool.exe"] and "allowed" in reasons["noext"]
    assert "over the limit" in reasons["big.txt"]
    assert "empty" in reasons["empty.md"]
    assert "no readable article" in reasons["binary.txt"]
    assert "no readable article" in reasons["broken.jsonl"]
    assert added.saved == [("good.txt", "good.txt")]
    assert sorted(p.name for p in folder.iterdir()) == ["good.txt"]


def test_upload_limits_the_number_of_files_and_needs_a_folder(tmp_path: Path) -> None:
    too_many = [_upload(tmp_path, f"s{i}.txt", STORY) for i in range(library.MAX_UPLOAD_FILES + 1)]
    with pytest.raises(UsageError, match="over the limit of 20"):
        library.add_files(tmp_path / "corpus", too_many)
    single = tmp_path / "one.jsonl"
    single.write_text(json.dumps({"id": "a", "title": "T", "text": "Body."}) + "\n")
    with pytest.raises(UsageError, match="single file"):
        library.add_files(single, [_upload(tmp_path, "x.txt", STORY)])


def _by_id(folder: Path) -> dict:
    return {a.id: a for a in read_corpus(folder).articles}


def test_remove_a_one_article_file_deletes_it(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text(STORY)
    (folder / "b.md").write_text("Other\n\nAnother story.\n")
    message = library.remove_article(folder, _by_id(folder)["sub/a"])
    assert message == "removed the file sub/a.txt"
    assert set(_by_id(folder)) == {"b"}


def test_remove_an_article_indexed_under_a_new_id(tmp_path: Path) -> None:
    """`a.md` beside `a.txt` is indexed as `a~2`; removing it removes a.md, not a.txt."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(STORY)
    (folder / "a.md").write_text("Other\n\nAnother story.\n")
    (folder / "feed.jsonl").write_text(
        json.dumps({"id": "a", "title": "Third", "text": "A third story."})
        + "\n"
        + json.dumps({"id": "b", "title": "Fourth", "text": "A fourth story."})
        + "\n"
    )
    articles = _by_id(folder)
    assert {i: a.path for i, a in articles.items()} == {
        "a": "a.md", "a~2": "a.txt", "a~3": "feed.jsonl", "b": "feed.jsonl",
    }  # fmt: skip
    assert library.remove_article(folder, articles["a~2"]) == "removed the file a.txt"
    assert library.remove_article(folder, articles["a~3"]) == "removed a~3 from feed.jsonl"
    assert {i: a.path for i, a in _by_id(folder).items()} == {"a": "a.md", "b": "feed.jsonl"}


def test_remove_a_jsonl_line_keeps_the_others(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = [
        {"id": "one", "title": "One", "text": "First story."},
        {"title": "Two", "text": "Second story, no id."},
        {"id": "three", "title": "Three", "text": "Third story."},
    ]
    (folder / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    articles = _by_id(folder)
    assert set(articles) == {"one", "feed:2", "three"}
    assert "removed feed:2 from feed.jsonl" == library.remove_article(folder, articles["feed:2"])
    assert set(_by_id(folder)) == {"one", "three"}
    library.remove_article(folder, articles["one"])
    assert set(_by_id(folder)) == {"three"}
    library.remove_article(folder, articles["three"])  # the last one: the file goes
    assert not (folder / "feed.jsonl").exists()


def test_remove_from_a_single_file_corpus_and_a_json_list(tmp_path: Path) -> None:
    single = tmp_path / "corpus.jsonl"
    single.write_text(
        "".join(json.dumps({"id": i, "title": i, "text": f"Story {i}."}) + "\n" for i in "abc")
    )
    library.remove_article(single, _by_id(single)["b"])
    assert set(_by_id(single)) == {"a", "c"}

    folder = tmp_path / "corpus"
    folder.mkdir()
    items = [{"id": "x", "title": "X", "text": "Ex."}, {"id": "y", "title": "Y", "text": "Why."}]
    (folder / "list.json").write_text(json.dumps(items))
    library.remove_article(folder, _by_id(folder)["x"])
    assert set(_by_id(folder)) == {"y"}


def test_remove_refuses_paths_outside_the_corpus(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text(STORY)
    article = corpus.Article(id="x", title="t", text="b", path="../outside.txt")
    with pytest.raises(UsageError, match="not a file of the corpus"):
        library.remove_article(folder, article)
    assert (tmp_path / "outside.txt").exists()


def test_fingerprint_sees_added_changed_and_removed_files(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / ".hidden").mkdir(parents=True)
    (folder / "a.txt").write_text(STORY)
    (folder / "notes.pdf").write_text("not an article")
    (folder / ".hidden" / "h.txt").write_text(STORY)
    first = library.fingerprint(folder)
    assert list(first) == ["a.txt"]
    (folder / "b.txt").write_text(STORY)
    os.utime(folder / "a.txt", ns=(1, 1))
    second = library.fingerprint(folder)
    assert list(second) == ["a.txt", "b.txt"] and second["a.txt"] != first["a.txt"]
