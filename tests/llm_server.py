"""An OpenAI-compatible chat-completions server with scripted answers, for testing `qa.answer.llm`.

    python tests/llm_server.py PORT

The request's "model" picks the script: good, partly (one good sentence, one made up),
made-up-citation, unsupported, uncited, garbage, not-found, slow (answers after 5 s), error
(HTTP 500), not-json, trickle (headers, then a byte every 0.5 s for a minute), huge (20 MB).
A good answer is the first sentence of excerpt [1], cited. Asked to
condense a follow-up (the system prompt starts "Rewrite"), it answers with the last question
and the first earlier one, or with garbage for the garbage model.
"""

from __future__ import annotations

import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _first_sentence(prompt: str) -> str:
    excerpt = re.search(r"\[1\] (.+?)(?:\n\n\[2\]|\n\nQuestion:)", prompt, re.DOTALL)
    text = excerpt.group(1) if excerpt else ""
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def reply(model: str, prompt: str) -> str:
    good = f"{_first_sentence(prompt)} [1]"
    return {
        "good": good,
        "partly": f"{good} The moon landing was staged in a studio in 1969 [1].",
        "made-up-citation": f"{_first_sentence(prompt)} [7]",
        "unsupported": "The president resigned in 1850 and moved to Paris with his horses [1].",
        "uncited": _first_sentence(prompt),
        "garbage": "}}{{ ### lorem ipsum",
        "not-found": "NOT FOUND",
    }.get(model, good)


def condensed(model: str, prompt: str) -> str:
    """A standalone question: the last one followed by the first earlier one (good), or
    garbage that retrieves nothing."""
    if model == "garbage":
        return "}}{{ ### lorem ipsum"
    earlier = re.findall(r"^- (.+)$", prompt, re.MULTILINE)
    last = prompt.rsplit("Last question: ", 1)[-1].strip()
    return f"{last} ({earlier[0]})" if earlier else last


def _completion(text: str) -> dict:
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body.get("model", "good")
        prompt = body["messages"][-1]["content"]
        if model == "error":
            self._send(500, b'{"error": "scripted failure"}')
            return
        if model == "not-json":
            self._send(200, b"hello")
            return
        if model == "slow":
            time.sleep(5)
        if model in ("trickle", "huge"):
            self._misbehave(model)
            return
        if body["messages"][0]["content"].startswith("Rewrite"):  # condense a follow-up
            self._send(200, json.dumps(_completion(condensed(model, prompt))).encode())
            return
        self._send(200, json.dumps(_completion(reply(model, prompt))).encode())

    def _misbehave(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            if model == "huge":
                self.wfile.write(b'{"choices": [{"message": {"content": "' + b"a" * 20_000_000)
                self.wfile.write(b'"}}]}')
                return
            for _ in range(120):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up, as it should

    def _send(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
