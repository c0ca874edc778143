"""`qa serve --mcp`: a real server, and the `mcp` client library calling both tools."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.config import Settings
from tests.conftest import ROOT, SEEDS
from tests.test_browser import _answers_200, _environment, _free_port, _stop


def _call(url: str, calls: list[tuple[str, dict]]) -> tuple[list[str], list[str]]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> tuple[list[str], list[str]]:
        async with streamable_http_client(url) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = [t.name for t in (await session.list_tools()).tools]
                texts = []
                for name, arguments in calls:
                    result = await session.call_tool(name, arguments)
                    assert not result.isError, result
                    texts.append(result.content[0].text)
                return names, texts

    return asyncio.run(run())


def test_ask_and_search_are_mcp_tools(seed_settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    env = _environment(seed_settings.index, SEEDS) | {"QA_PORT": str(port)}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--mcp", "--index", str(seed_settings.index)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not _answers_200(f"http://127.0.0.1:{port}/"):
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        follow_up = {"question": "How old is he?", "history": '["Who did Tokayev ask for help?"]'}
        names, (asked, followed, found, bad) = _call(
            f"http://127.0.0.1:{port}/gradio_api/mcp/",
            [
                ("ask", {"question": "How many people have been detained?"}),
                ("ask", follow_up),
                ("search", {"query": "Russian troops at the airport", "k": 2}),
                ("search", {"query": "troops", "k": 500}),
            ],
        )
    finally:
        _stop(proc)
        log.close()
    assert {"ask", "search"} <= set(names) and "on_ask" not in names
    answer = json.loads(asked)
    assert "4,000" in answer["answer"] and answer["citations"][0]["quote"] in answer["answer"]
    assert json.loads(followed)["query"].startswith("How old is he? Tokayev")
    passages = json.loads(found)
    assert [p["rank"] for p in passages] == [1, 2] and "airport" in passages[0]["text"]
    assert "1 to 50" in json.loads(bad)["error"]


def test_mcp_without_the_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, seed_settings: Settings
) -> None:
    import importlib.util

    from qa.errors import UsageError
    from qa.surfaces import ui

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mcp" else real(name, *a)
    )
    with pytest.raises(UsageError, match=r"pip install -e '\.\[mcp\]'"):
        ui.serve(seed_settings.with_(mcp=True))


def test_mcp_with_a_login_is_refused_since_the_tools_would_bypass_it(
    seed_settings: Settings,
) -> None:
    from qa.errors import UsageError
    from qa.surfaces import ui

    with pytest.raises(UsageError, match="cannot be combined with QA_AUTH"):
        ui.serve(seed_settings.with_(mcp=True, auth="ann:secret"))
