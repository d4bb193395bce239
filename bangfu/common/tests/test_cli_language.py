"""The commands speak Chinese unless BANGFU_LANGUAGE chooses another of the system's languages; an
unknown one is refused with the choices, not a traceback."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

KEY = base64.b64encode(bytes(32)).decode()


def _help(language: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BANGFU_LANGUAGE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        BANGFU_SECRET_KEY="test-only",
        BANGFU_FIELD_KEY=KEY,
        BANGFU_HASH_KEY=KEY,
    )
    if language is not None:
        env["BANGFU_LANGUAGE"] = language
    code = "import sys; from bangfu.cli import main; sys.exit(main(['bangfu', 'files', '--help']))"
    command = [sys.executable, "-c", code]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603 - our own code


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (None, "加密或检查含个人信息的存储文件"),
        ("en", "Encrypt or check the stored files"),
        (" EN ", "Encrypt or check"),
    ],
)
def test_the_commands_speak_the_chosen_language(language: str | None, expected: str) -> None:
    done = _help(language)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout.replace("\n", " ")


def test_an_unknown_language_is_refused_with_the_choices() -> None:
    done = _help("fr")
    assert done.returncode == 2
    assert "BANGFU_LANGUAGE='fr' is not a language of bangfu: use one of zh-hans, en" in done.stderr
    assert "Traceback" not in done.stderr
