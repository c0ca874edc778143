"""Serve the chat: `python app.py` (settings from `QA_*` variables; default 127.0.0.1:7860)."""

import os
import sys

# Before gradio or the model is imported: no analytics, no hub look-ups.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from qa.config import Settings  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.ui import serve  # noqa: E402

if __name__ == "__main__":
    try:
        serve(Settings.from_env())
    except QAError as error:  # one line, as from `qa serve`
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
