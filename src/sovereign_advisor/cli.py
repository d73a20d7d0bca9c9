"""Command line: `sovereign-advisor advise PROFILE [--as-of DATE] [--format text|json]`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from sovereign_advisor.errors import InputError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sovereign-advisor",
        description="Which LLM deployment architecture to run, given your data, laws and costs.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    advise = sub.add_parser("advise", help="recommend an architecture for a profile")
    advise.add_argument("profile", help="organisation profile (YAML or JSON)")
    advise.add_argument(
        "--as-of", type=_date, default=None, help="date whose law and prices apply (default: today)"
    )
    advise.add_argument("--format", choices=("text", "json"), default="text")
    advise.add_argument("--kb", default=None, help="knowledge-base directory (default: packaged)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except InputError as error:
        if args.debug:
            raise
        print(f"sovereign-advisor: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # an internal error, not the user's
        if args.debug:
            raise
        print(
            f"sovereign-advisor: internal error: {type(error).__name__}: {error} "
            "(run with --debug for a traceback)",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa

    profile = sa.load_profile(args.profile)
    kb = sa.load_knowledge_base(args.kb) if args.kb else None
    as_of = args.as_of or dt.date.today()  # the CLI, not the engine, reads the clock
    advice = sa.advise(profile, kb=kb, as_of=as_of)
    text = sa.render_json(advice) if args.format == "json" else sa.render_text(advice)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
