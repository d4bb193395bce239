"""The data on disk is for the account the system runs as: others cannot read the department
snapshots (names, death dates) or the embedded database (they were created world-readable)."""

from __future__ import annotations

from pathlib import Path

from bangfu.common.apps import private_data


def test_the_media_folder_and_an_sqlite_file_are_made_private(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir(mode=0o755)
    (media / "datasets").mkdir()
    db = tmp_path / "bangfu.sqlite3"
    db.write_bytes(b"")
    db.chmod(0o644)
    private_data(media, {"ENGINE": "django.db.backends.sqlite3", "NAME": str(db)})
    assert media.stat().st_mode & 0o777 == 0o700
    assert db.stat().st_mode & 0o777 == 0o600
