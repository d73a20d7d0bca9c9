"""Command line: `sovereign-advisor advise|explain|break-even|validate|schema|kb`.

Exit status: 0 success, 2 bad input (one message naming the file, field and value; no
traceback unless `--debug`), 1 internal error. The engine reads no clock: without `--as-of` the
command line uses today's date, and every output states the date it used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sovereign_advisor.errors import InputError
from sovereign_advisor.outputs import Inputs, is_regular_target, write_text

if TYPE_CHECKING:
    from sovereign_advisor.advice import Advice, Analysis
    from sovereign_advisor.knowledge.loader import KnowledgeBase
    from sovereign_advisor.profile import OrganisationProfile
    from sovereign_advisor.whatif import Overlay

KB_KINDS = ("architecture", "jurisdiction", "catalog", "prices")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _debug_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given after the subcommand it sets `debug`, absent it keeps the top-level value
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    return common


def _kb_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, parents=[_debug_option()])
    common.add_argument(
        "--kb", metavar="DIR", default=None, help="knowledge-base directory (default: packaged)"
    )
    common.add_argument(
        "--overlay",
        metavar="DIR",
        action="append",
        default=[],
        help="overlay directory whose records replace or add to the knowledge base (repeatable)",
    )
    return common


def _as_of_option() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="day whose law and prices apply (default: today, stated in the output)",
    )
    return common


def _whatif_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--set",
        metavar="PATH=VALUE",
        action="append",
        default=[],
        help="replace a profile field, e.g. workload.queries_per_month=2e6 or "
        "organisation.operates_in=[FR, DE] (repeatable; validated like the file)",
    )
    common.add_argument(
        "--assume",
        metavar="ID=VALUE",
        action="append",
        default=[],
        help="replace a knowledge-base assumption, e.g. ops.monthly_cost_per_fte=9000 "
        "(repeatable; listed in the assumptions)",
    )
    common.add_argument(
        "--fx",
        metavar="BASE/QUOTE=RATE",
        action="append",
        default=[],
        help="use this exchange rate, e.g. EUR/JPY=165 (repeatable; listed in the assumptions)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sovereign-advisor",
        description="Which LLM deployment architecture to run, given your data, laws and costs.",
        epilog="exit status: 0 success, 2 bad input, 1 internal error",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kb_opts, as_of, whatif = _kb_options(), _as_of_option(), _whatif_options()

    advise = sub.add_parser(
        "advise",
        parents=[kb_opts, as_of, whatif],
        help="recommend an architecture for a profile",
        description="Recommend an architecture for an organisation profile. The Markdown report "
        "embeds a break-even chart written next to --output when matplotlib is installed; the "
        "HTML report is one self-contained file with the chart inline.",
    )
    advise.add_argument("profile", help="organisation profile (YAML or JSON)")
    advise.add_argument(
        "--format",
        choices=("text", "markdown", "html", "json", "csv"),
        default="text",
        help="csv: the cost breakdown, one component per row, for a spreadsheet",
    )
    advise.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    advise.add_argument(
        "--detail",
        action="store_true",
        help="text: after the one-screen decision, every cost line, refusal and assumption",
    )

    explain = sub.add_parser(
        "explain",
        parents=[kb_opts, as_of, whatif],
        help="why an architecture is or is not eligible, and its cost, rule by rule",
        description="Explain one architecture for a profile: the rules that expose its venues, "
        "admit or exclude each data class, and the cost line by line.",
    )
    explain.add_argument("profile", help="organisation profile (YAML or JSON)")
    explain.add_argument("architecture", help="architecture id, e.g. hybrid_routing")

    break_even = sub.add_parser(
        "break-even",
        parents=[kb_opts, as_of, whatif],
        help="volumes at which the ranking flips, a cost table, optionally a chart",
        description="Break-even volumes between eligible architectures (searched from 1/10 to "
        "10 times the profile's volume) and their monthly cost from 1/100 to 100 times it "
        "(peak load scaled with volume).",
    )
    break_even.add_argument("profile", help="organisation profile (YAML or JSON)")
    break_even.add_argument(
        "--chart", metavar="FILE", help="draw the chart to FILE.png or FILE.svg (needs matplotlib)"
    )

    compare = sub.add_parser(
        "compare",
        parents=[kb_opts, as_of, whatif],
        help="scenarios side by side: several profiles, or one profile and each --set",
        description="Advise several profiles (each with every --set applied) or one profile and, "
        "for each --set, that profile with it; print the decisions and typical monthly totals "
        "side by side with what changed.",
    )
    compare.add_argument("profiles", nargs="+", metavar="PROFILE")

    sweep = sub.add_parser(
        "sweep",
        parents=[kb_opts, as_of, whatif],
        help="one profile field at several values: a column of outcomes",
        description="Advise the profile with FIELD set to each VALUE in turn (read like --set) "
        "and print the recommended architecture and every typical monthly total per value.",
    )
    sweep.add_argument("profile", help="organisation profile (YAML or JSON)")
    sweep.add_argument(
        "field", metavar="FIELD", help="profile field, e.g. workload.queries_per_month"
    )
    sweep.add_argument("values", nargs="+", metavar="VALUE")

    validate = sub.add_parser(
        "validate",
        parents=[kb_opts],
        help="check a knowledge base and profiles",
        description="Load and cross-check the knowledge base, then each profile given.",
    )
    validate.add_argument("profiles", nargs="*", metavar="PROFILE")

    schema = sub.add_parser(
        "schema",
        parents=[_debug_option()],
        help="print a JSON Schema",
        description="Print the JSON Schema of a profile, an advice or a knowledge-base file kind.",
    )
    schema.add_argument("name", choices=("profile", "advice", *KB_KINDS))

    kb = sub.add_parser(
        "kb",
        parents=[kb_opts, as_of],
        help="list and show facts, rules, venues, prices with their dates and sources",
        description="Without arguments: a summary (version, counts, oldest checked_on). With a "
        "section: its records. With a section and an id: that record in full. `kb audit`: "
        "records by status, by age of checked_on on --as-of and by kind of source.",
    )
    kb.add_argument("section", nargs="?", choices=_SECTIONS, default="summary")
    kb.add_argument("id", nargs="?", help="record id to show in full")
    return parser


_SECTIONS = (
    "summary",
    "audit",
    "facts",
    "rules",
    "architectures",
    "venues",
    "models",
    "gpus",
    "prices",
    "assumptions",
    "fx",
)


def _say(message: str) -> None:
    """A line on standard error; nothing when it is closed (never on standard output instead,
    where `print(file=None)` would put it)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(message + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def _out(text: str) -> None:
    """Write to standard output, which may be closed, full or unable to encode the text."""
    stream = sys.stdout
    if stream is None:
        raise InputError("standard output is closed; redirect it or use --output FILE")
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:  # e.g. LANG=C: write "\u20ac" rather than fail on "€"
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):
            pass
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise InputError(f"cannot write to standard output: {error.strerror or error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except InputError as error:
        if args.debug:
            raise
        _say(f"sovereign-advisor: error: {_printable(str(error))}")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        _say("sovereign-advisor: interrupted")
        return 130
    except Exception as error:  # an internal error, not the user's
        if args.debug:
            raise
        _say(
            f"sovereign-advisor: internal error: {type(error).__name__}: "
            f"{_printable(str(error))} (run with --debug for a traceback)"
        )
        return 1


def _quiet_stdout() -> None:
    """After a broken pipe, point standard output at /dev/null so that Python's final flush
    does not print an error of its own."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


_CONTROL = dict.fromkeys([*range(9), *range(11, 32), 127], None)


def _printable(text: str) -> str:
    """A message without terminal control characters (an ANSI escape or carriage return in a
    profile's name must not repaint the terminal), shown as `\x1b`-style escapes."""
    if not any(ord(c) in _CONTROL or 0x80 <= ord(c) < 0xA0 for c in text):
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if ord(c) in _CONTROL or 0x80 <= ord(c) < 0xA0
        else c
        for c in text
    )


def _knowledge_base(args: argparse.Namespace) -> KnowledgeBase:
    import sovereign_advisor as sa
    from sovereign_advisor.engine.advise import default_knowledge_base

    if args.kb is None and not args.overlay:
        return default_knowledge_base()
    return sa.load_knowledge_base(args.kb, overlays=args.overlay)


def _as_of(args: argparse.Namespace) -> dt.date:
    return args.as_of or dt.date.today()  # the CLI, not the engine, reads the clock


def _advice(
    args: argparse.Namespace, analyses: tuple[Analysis, ...] | None = None
) -> tuple[OrganisationProfile, KnowledgeBase, Advice]:
    """The advice a command shows, computing only the analyses it shows (None: all)."""
    import sovereign_advisor as sa
    from sovereign_advisor.whatif import with_overlays_listed

    profile = _profile(args.profile, args.set)
    kb, overlays = _whatif_knowledge_base(args)
    advice = sa.advise(
        profile, kb=kb, as_of=_as_of(args), analyses=sa.ANALYSES if analyses is None else analyses
    )
    return profile, kb, with_overlays_listed(advice, overlays)


def _profile(path: str, settings: Sequence[str]) -> OrganisationProfile:
    import sovereign_advisor as sa

    if not settings:
        return sa.load_profile(path)
    from sovereign_advisor.whatif import profile_with

    return profile_with(path, settings)


def _whatif_knowledge_base(args: argparse.Namespace) -> tuple[KnowledgeBase, list[Overlay]]:
    kb = _knowledge_base(args)
    if not args.assume and not args.fx:
        return kb, []
    from sovereign_advisor.whatif import overlay_knowledge_base

    return overlay_knowledge_base(kb, assume=args.assume, fx=args.fx, as_of=_as_of(args))


def _common_options(args: argparse.Namespace, *, sets: bool = False) -> list[str]:
    """The what-if options applied to every scenario, as given."""
    given = [f"--set {s}" for s in args.set] if sets else []
    return given + [f"--assume {a}" for a in args.assume] + [f"--fx {f}" for f in args.fx]


def _cmd_compare(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa
    from sovereign_advisor.views.scenarios import Scenario, profile_changes, render_comparison
    from sovereign_advisor.whatif import with_overlays_listed

    if len(args.profiles) == 1 and not args.set:
        raise InputError("compare needs two profiles, or one profile and at least one --set")
    kb, overlays = _whatif_knowledge_base(args)
    as_of = _as_of(args)
    runs: list[tuple[str, tuple[str, ...], OrganisationProfile]] = []
    if len(args.profiles) == 1:
        path = args.profiles[0]
        runs.append((Path(path).stem, (), sa.load_profile(path)))
        runs += [(s, (f"--set {s}",), _profile(path, [s])) for s in args.set]
    else:
        runs += [(Path(p).stem, (), _profile(p, args.set)) for p in args.profiles]
    base = runs[0][2].model_dump(mode="json", exclude_unset=True)
    scenarios = []
    for i, (label, changes, profile) in enumerate(runs):
        # a comparison shows decisions and totals: the core decision, no analyses
        advice = sa.advise(profile, kb=kb, as_of=as_of, analyses=())
        advice = with_overlays_listed(advice, overlays)
        if not changes and i > 0:
            changes = profile_changes(base, profile.model_dump(mode="json", exclude_unset=True))
        scenarios.append(Scenario(label=label, changes=changes, advice=advice))
    common = _common_options(args) if len(args.profiles) == 1 else _common_options(args, sets=True)
    _out(render_comparison(scenarios, common=common))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa
    from sovereign_advisor.views.scenarios import render_sweep

    kb, _ = _whatif_knowledge_base(args)
    as_of = _as_of(args)
    advices = [
        # a sweep shows decisions and totals: the core decision, no analyses
        sa.advise(
            _profile(args.profile, [*args.set, f"{args.field}={v}"]),
            kb=kb,
            as_of=as_of,
            analyses=(),
        )
        for v in args.values
    ]
    common = _common_options(args, sets=True)
    _out(render_sweep(args.field, args.values, advices, common=common))
    return 0


def _inputs(args: argparse.Namespace) -> Inputs:
    """Every file this run reads: outputs must replace none of them."""
    from sovereign_advisor.knowledge.loader import default_patterns_path

    profiles = [args.profile] if getattr(args, "profile", None) else []
    directories = [Path(args.kb) if args.kb else default_patterns_path()]
    directories += [Path(o) for o in args.overlay]
    return Inputs(profiles, directories)


def _check_output(args: argparse.Namespace, name: str | None, what: str) -> Path | None:
    if name is None:
        return None
    if not name:  # Path("") is the current directory
        raise InputError(f"the {what} file name is empty (--{what} '')")
    path = Path(name)
    _inputs(args).refuse(path, what)
    return path


def _write(text: str, output: Path | None) -> None:
    if output is None:
        _out(text)
        return
    write_text(output, text)


def _cmd_advise(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa

    output = _check_output(args, args.output, "output")  # before the work, not after it
    profile, kb, advice = _advice(args)
    if args.format == "json":
        text = sa.render_json(advice)
    elif args.format == "text":
        text = sa.render_text(advice, kb=kb, detail=args.detail)
    elif args.format == "html":
        text = _html(profile, kb, advice)
    elif args.format == "csv":
        from sovereign_advisor.views.spreadsheet import render_csv

        text = render_csv(advice)
    else:
        text = _markdown(args, output, profile, kb, advice)
    _write(text, output)
    return 0


def _draw(args: argparse.Namespace, advice: Advice, curves: Any, path: Path) -> Path:
    """Draw a chart, showing matplotlib's warnings as one line each (not with its source)."""
    from sovereign_advisor.views import chart

    _inputs(args).refuse(path, "chart")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = chart.write_chart(advice, curves, path)
    for warning in caught:
        _say(f"sovereign-advisor: warning: {warning.message}")
    return written


def _markdown(
    args: argparse.Namespace,
    output: Path | None,
    profile: OrganisationProfile,
    kb: KnowledgeBase,
    advice: Advice,
) -> str:
    from sovereign_advisor.views import chart
    from sovereign_advisor.views.curves import cost_curves
    from sovereign_advisor.views.markdown import render_markdown

    curves = cost_curves(profile, kb=kb, as_of=advice.as_of)
    name = None
    if output is not None and not is_regular_target(output):
        _say(f"sovereign-advisor: no chart: {output} is not a regular file to put one next to")
    elif output is not None and chart.available():
        target = output.with_name(output.stem + "-break-even.svg")
        if target.exists() and not _is_svg(target):
            raise InputError(
                "the report's chart would replace this file, which is not an SVG chart; "
                "move it or choose another --output",
                file=str(target),
            )
        path = _draw(args, advice, curves, target)
        name = path.name
        _say(f"sovereign-advisor: wrote {path}")
    return render_markdown(advice, kb=kb, curves=curves, chart=name)


def _html(profile: OrganisationProfile, kb: KnowledgeBase, advice: Advice) -> str:
    from sovereign_advisor.views import chart
    from sovereign_advisor.views.curves import cost_curves
    from sovereign_advisor.views.html import render_html

    curves = cost_curves(profile, kb=kb, as_of=advice.as_of)
    svg = chart.chart_svg(advice, curves) if chart.available() and curves.curves else None
    return render_html(advice, kb=kb, curves=curves, chart_svg=svg)


def _is_svg(path: Path) -> bool:
    try:
        with path.open("rb") as stream:
            head = stream.read(512)
    except OSError:
        return False
    return (head.startswith(b"<?xml") and b"<svg" in head) or head.startswith(b"<svg")


def _cmd_explain(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa
    from sovereign_advisor.profile import Policy
    from sovereign_advisor.views.explain import render_explanation

    profile, kb, advice = _advice(args)
    without_policy = None
    assessed = [a for a in advice.assessments if a.architecture_id == args.architecture]
    if assessed and not assessed[0].eligible and profile.policy.preset != "open":
        # what the policy costs: the same profile with any venue allowed
        opened = profile.model_copy(update={"policy": Policy(preset="open")})
        without_policy = sa.advise(opened, kb=kb, as_of=advice.as_of, analyses=())
    text = render_explanation(advice, args.architecture, kb, without_policy=without_policy)
    _out(text)
    return 0


def _cmd_break_even(args: argparse.Namespace) -> int:
    from sovereign_advisor.views import chart
    from sovereign_advisor.views.curves import cost_curves
    from sovereign_advisor.views.explain import render_break_even

    if args.chart is not None and Path(args.chart).suffix.lower() not in chart.FORMATS:
        raise InputError("chart file must end in .png or .svg", file=args.chart)
    target = _check_output(args, args.chart, "chart")
    profile, kb, advice = _advice(args, analyses=("break_even",))
    curves = cost_curves(profile, kb=kb, as_of=advice.as_of)
    _out(render_break_even(advice, curves))
    if target is not None:
        written = _draw(args, advice, curves, target)
        _out(f"chart: {written}\n")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    import sovereign_advisor as sa
    from sovereign_advisor.profile import check_against_knowledge_base

    kb = _knowledge_base(args)
    where = args.kb or "packaged knowledge base"
    _out(
        f"ok: {where}{''.join(f' + overlay {o}' for o in args.overlay)} ({kb.version}, "
        f"{len(kb.facts)} facts, {len(kb.rules)} rules, oldest checked_on {kb.oldest_check})\n"
    )
    failed = 0
    for path in args.profiles:
        try:
            profile = sa.load_profile(path)
            check_against_knowledge_base(profile, kb)  # ids the knowledge base must know
        except InputError as error:
            _say(f"sovereign-advisor: error: {_printable(str(error))}")
            failed += 1
            continue
        _out(f"ok: {path} ({_printable(profile.organisation.name)})\n")
    return 2 if failed else 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from sovereign_advisor.schema import schema_text

    _out(schema_text(args.name))
    return 0


def _cmd_kb(args: argparse.Namespace) -> int:
    from sovereign_advisor.views.kb import render_kb

    as_of = _as_of(args) if args.section == "audit" else None
    _out(render_kb(_knowledge_base(args), args.section, args.id, as_of=as_of))
    return 0


_COMMANDS = {
    "advise": _cmd_advise,
    "explain": _cmd_explain,
    "break-even": _cmd_break_even,
    "compare": _cmd_compare,
    "sweep": _cmd_sweep,
    "validate": _cmd_validate,
    "schema": _cmd_schema,
    "kb": _cmd_kb,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
