"""Serve the chat: `python app.py` (settings from `QA_*` variables; default 127.0.0.1:7860)."""

import sys

from qa.config import Settings
from qa.errors import QAError
from qa.surfaces.ui import serve

if __name__ == "__main__":
    try:
        serve(Settings.from_env())
    except QAError as error:  # one line, as from `qa serve`
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
