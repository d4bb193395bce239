"""The ``bangfu`` console script: Django's management commands under the project's name.

``bangfu demo`` prepares and serves the demo; ``bangfu seed``, ``bangfu users add``,
``bangfu ids check`` … are management commands; ``bangfu --help`` lists them all.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def ensure_local_env() -> None:
    """First run of the embedded setup: write fresh secrets to var/bangfu.env (never committed)."""
    if os.environ.get("BANGFU_SECRET_KEY"):
        return
    from config.settings_paths import ENV_FILE

    if ENV_FILE.exists():
        return
    import base64
    import secrets

    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text(
        "# Generated on first run; keep it secret and backed up: without BANGFU_FIELD_KEY the\n"
        "# encrypted ID and card numbers cannot be read.\n"
        f"BANGFU_SECRET_KEY={secrets.token_urlsafe(50)}\nBANGFU_FIELD_KEY={key()}\nBANGFU_HASH_KEY={key()}\n",
        encoding="utf-8",
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote new secret keys to {Path(ENV_FILE).name} in the data folder.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "bangfu"
    if len(args) == 1 or args[1] in {"-h", "--help"}:
        args[1:] = ["help"]
    if args[1] == "demo":
        ensure_local_env()
        # The demo's workers sign in with codes written to the log (its server and worker inherit this).
        os.environ.setdefault("BANGFU_INTAKE_CODE_SENDER", "bangfu.intake.messaging.LogCodeSender")
    elif args[1] == "help" or "--help" in args or "-h" in args:
        # Reading the help needs no secrets: a throw-away key for this process only.
        from config.settings_paths import ENV_FILE

        if not os.environ.get("BANGFU_SECRET_KEY") and not ENV_FILE.exists():
            os.environ["BANGFU_SECRET_KEY"] = "help-only"  # noqa: S105 - not a secret: help reads no data
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:  # a missing secret or a bad setting: its message, not a traceback
        print(f"bangfu: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
