"""Paths the settings and the console script agree on, importable before Django is configured."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BANGFU_VAR_DIR", BASE_DIR / "var"))
ENV_FILE = Path(os.environ.get("BANGFU_ENV_FILE", VAR_DIR / "bangfu.env"))
