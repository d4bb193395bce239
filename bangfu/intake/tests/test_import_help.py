"""``bangfu intake import --help`` says what ``--commit`` does: the valid households are written and
those with problems are not (it read as "nothing if any household has a problem")."""

from __future__ import annotations

import pytest

from bangfu.cli import main


def test_commit_help_says_the_valid_households_are_written(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bangfu", "intake", "import", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "write the valid households, in one transaction; households with problems are not written" in text
    assert "all or none" not in text
