"""Hardening (issue #18): numbers, knowledge-base files, outputs, limits, escaping.

The refusals have files in `tests/bad_inputs/`; this file holds the correct results and the
cases that need a knowledge-base directory, an output file or a library call.
"""

from __future__ import annotations

import copy
import json
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

import sovereign_advisor as sa
from sovereign_advisor.knowledge.loader import default_patterns_path
from sovereign_advisor.profile import profile_from_dict, profile_from_text
from sovereign_advisor.yamlio import parse

from .conftest import AS_OF, PROFILES, edit_text

BANK = PROFILES / "bank_strict.yaml"


def cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovereign_advisor.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        **kwargs,  # type: ignore[call-overload]
    )


# --- numbers: YAML 1.2 / JSON ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-05", 1e-05),
        ("4e6", 4e6),
        ("0350", 350),
        ("1.5E+3", 1500.0),
        (".5", 0.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("1:30", "1:30"),
        ("0b11001", "0b11001"),
        ("1_000", "1_000"),
    ],
)
def test_numbers_are_read_as_yaml_1_2(text: str, value: object) -> None:
    assert parse(f"x: {text}\n", "n.yaml").data == {"x": value}


def test_a_profile_written_by_json_dumps_is_read() -> None:
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    data["workload"]["complex_share"] = 0.00001  # json.dumps writes 1e-05
    data["workload"]["queries_per_month"] = 4e6
    text = json.dumps(data)
    assert "1e-05" in text
    profile = profile_from_text(text, "p.json")
    assert profile.workload.complex_share == 0.00001
    assert profile.workload.queries_per_month == 4_000_000


def test_json_numbers_through_the_cli(tmp_path: Path) -> None:
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    data["workload"]["complex_share"] = 0.00001
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = cli("validate", str(path))
    assert done.returncode == 0, done.stderr


# --- which files a knowledge base or an overlay holds -----------------------------------------

NEGOTIATED = PROFILES.parent / "overlays" / "negotiated"


def _negotiated(tmp_path: Path) -> Path:
    target = tmp_path / "overlay"
    shutil.copytree(NEGOTIATED, target)
    return target


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.yml"),
            "prices/negotiated.yml: only files ending in `.yaml` are read; rename it to `negotia",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.YAML"),
            "prices/negotiated.YAML: only files ending in `.yaml` are read",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").rename(o / "prices" / "negotiated.json"),
            "prices/negotiated.json: only files ending in `.yaml` are read",
        ),
        (lambda o: (o / "prices").rename(o / "price"), "price: not part of a knowledge base"),
        (
            lambda o: (o / "prices" / "sub").mkdir(),
            "prices/sub: a folder inside a knowledge-base folder is not read",
        ),
        (
            lambda o: (o / "prices" / "x.yaml").symlink_to(o / "nowhere"),
            "prices/x.yaml: a symbolic link to nothing",
        ),
        (lambda o: (o / "notes.txt").write_text("hi"), "notes.txt: not part of a knowledge base"),
        (
            lambda o: (o / "prices" / "negotiated.yaml").unlink(),
            "holds no knowledge-base file",
        ),
        (
            lambda o: (o / "prices" / "negotiated.yaml").write_text("fx_rates: []\n"),
            "holds no record",
        ),
        (
            lambda o: shutil.copy(
                default_patterns_path() / "prices" / "fx.yaml", o / "prices" / "negotiated.yaml"
            ),
            "record(s) equal the base records",
        ),
    ],
)
def test_every_overlay_file_is_read_or_refused_by_name(
    tmp_path: Path, setup: Callable[[Path], object], expected: str
) -> None:
    overlay = _negotiated(tmp_path)
    setup(overlay)
    with pytest.raises(sa.KnowledgeBaseError) as caught:
        sa.load_knowledge_base(overlays=[overlay])
    assert expected in str(caught.value)
    assert str(overlay) in str(caught.value)
    done = cli("validate", "--overlay", str(overlay))
    assert done.returncode == 2
    assert expected in done.stderr
    assert "ok:" not in done.stdout


def test_an_overlay_pointed_at_its_prices_folder_is_refused() -> None:
    with pytest.raises(sa.KnowledgeBaseError, match="looks like the prices/ folder itself"):
        sa.load_knowledge_base(overlays=[NEGOTIATED / "prices"])


def test_a_kb_copy_with_a_renamed_price_file_is_refused(copy: Path) -> None:
    (copy / "prices" / "tokens.yaml").rename(copy / "prices" / "tokens.yml")
    with pytest.raises(sa.KnowledgeBaseError, match=r"prices/tokens\.yml: only files ending"):
        sa.load_knowledge_base(copy)
    done = cli("advise", str(BANK), "--kb", str(copy), "--as-of", "2026-11-23")
    assert done.returncode == 2 and "rename it to `tokens.yaml`" in done.stderr


def test_readme_schema_and_tools_are_allowed_in_a_kb(copy: Path, kb: sa.KnowledgeBase) -> None:
    (copy / "tools").mkdir()
    (copy / "tools" / "refresh.py").write_text("pass\n")
    assert sa.load_knowledge_base(copy).version == kb.version


def test_the_version_reflects_what_was_read(tmp_path: Path, kb: sa.KnowledgeBase) -> None:
    overlay = _negotiated(tmp_path)
    first = sa.load_knowledge_base(overlays=[overlay]).version
    assert first != kb.version
    edit_text(overlay / "prices" / "negotiated.yaml", "0.45", "0.44")
    assert sa.load_knowledge_base(overlays=[overlay]).version not in (first, kb.version)


@pytest.mark.parametrize(
    ("overlays", "expected"),
    [
        (None, "overlays needs a list of directories, got NoneType"),
        ("examples/overlays/negotiated", "got one path; write overlays=["),
        ([None], "needs a directory path (str or Path), got NoneType"),
        (["a\0b"], "is not a usable directory path"),
    ],
)
def test_bad_overlay_arguments_are_input_errors(overlays: object, expected: str) -> None:
    with pytest.raises(sa.InputError) as caught:
        sa.load_knowledge_base(overlays=overlays)  # type: ignore[arg-type]
    assert expected in str(caught.value)


# --- outputs never replace inputs; writes are atomic ------------------------------------------


@pytest.fixture
def profile_copy(tmp_path: Path) -> Path:
    target = tmp_path / "p.yaml"
    shutil.copy(BANK, target)
    return target


def _advise_to(profile: Path, output: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("advise", str(profile), "--as-of", "2026-11-23", "--output", output, *extra)


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_the_output_cannot_be_the_profile(profile_copy: Path, how: str) -> None:
    original = profile_copy.read_bytes()
    output = profile_copy.with_name("out.yaml")
    if how == "same":
        output = profile_copy
    elif how == "symlink":
        output.symlink_to(profile_copy)
    else:
        output.hardlink_to(profile_copy)
    done = _advise_to(profile_copy, str(output))
    assert done.returncode == 2
    assert "would replace an input file of this run" in done.stderr
    assert profile_copy.read_bytes() == original


def test_the_output_cannot_be_a_knowledge_base_file(profile_copy: Path, copy: Path) -> None:
    target = copy / "prices" / "fx.yaml"
    before = target.read_bytes()
    done = _advise_to(profile_copy, str(target), "--kb", str(copy))
    assert done.returncode == 2 and "would replace an input file" in done.stderr
    assert target.read_bytes() == before
    overlay = NEGOTIATED / "prices" / "negotiated.yaml"
    done = _advise_to(profile_copy, str(overlay), "--overlay", str(NEGOTIATED))
    assert done.returncode == 2 and "would replace an input file" in done.stderr
    done = _advise_to(profile_copy, str(default_patterns_path() / "new.md"))
    assert done.returncode == 2 and "inside the knowledge-base directory" in done.stderr


def test_the_chart_cannot_replace_an_input_or_another_file(profile_copy: Path) -> None:
    pytest.importorskip("matplotlib")
    # the report `p-break-even.md` would put its chart at `p-break-even-break-even.svg`
    victim = profile_copy.with_name("r-break-even.svg")
    victim.write_text("not a chart\n")
    done = _advise_to(profile_copy, str(profile_copy.with_name("r.md")), "--format", "markdown")
    assert done.returncode == 2 and "not an SVG chart" in done.stderr
    assert victim.read_text() == "not a chart\n"
    svg = profile_copy.with_name("p.svg")
    svg.symlink_to(profile_copy)
    done = cli("break-even", str(profile_copy), "--as-of", "2026-11-23", "--chart", str(svg))
    assert done.returncode == 2 and "would replace an input file" in done.stderr


@pytest.mark.parametrize(
    ("chart", "expected"),
    [
        ("{tmp}/missing/c.svg", "does not exist; create it first"),
        ("{tmp}/d.svg", "is a directory"),
    ],
)
def test_chart_paths_are_checked(profile_copy: Path, chart: str, expected: str) -> None:
    pytest.importorskip("matplotlib")
    (profile_copy.parent / "d.svg").mkdir()
    target = chart.format(tmp=profile_copy.parent)
    done = cli("break-even", str(profile_copy), "--as-of", "2026-11-23", "--chart", target)
    assert done.returncode == 2 and expected in done.stderr
    assert not (profile_copy.parent / "missing").exists()


def test_a_failed_write_leaves_the_previous_report(
    profile_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sovereign_advisor import cli as cli_module

    report = profile_copy.with_name("r.json")
    report.write_text("previous\n")

    def full(temporary: Path, *args: object) -> None:
        with temporary.open("wb") as stream:
            stream.write(b"trunc")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    argv = ["advise", str(profile_copy), "--as-of", "2026-11-23", "--format", "json"]
    assert cli_module.main([*argv, "--output", str(report)]) == 2
    monkeypatch.undo()
    assert report.read_text() == "previous\n"
    assert sorted(p.name for p in report.parent.iterdir()) == ["p.yaml", "r.json"]


def test_an_output_through_a_symlink_replaces_its_target(profile_copy: Path) -> None:
    real = profile_copy.with_name("real.json")
    real.write_text("old")
    link = profile_copy.with_name("link.json")
    link.symlink_to(real)
    assert _advise_to(profile_copy, str(link), "--format", "json").returncode == 0
    assert link.is_symlink() and real.read_text().startswith("{")


# --- command-line I/O -------------------------------------------------------------------------


def _shell(redirect: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sovereign_advisor.cli", *args]
    return subprocess.run(
        ["sh", "-c", f'"$@" {redirect}', "sh", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_command_line_io_failures_are_named(profile_copy: Path) -> None:
    args = ("advise", str(profile_copy), "--as-of", "2026-11-23")
    closed = _shell(">&-", *args)
    assert closed.returncode == 2 and "standard output is closed" in closed.stderr
    if Path("/dev/full").exists():
        full = _shell(">/dev/full", *args)
        assert full.returncode == 2 and "No space left on device" in full.stderr
        assert "Traceback" not in full.stderr
        to_file = _advise_to(profile_copy, "/dev/full")
        assert to_file.returncode == 2 and "No space left on device" in to_file.stderr
    no_stderr = _shell("2>&-", "advise", "missing.yaml")
    assert no_stderr.returncode == 2 and no_stderr.stdout == ""
    done = _advise_to(profile_copy, "")
    assert done.returncode == 2 and "the output file name is empty" in done.stderr


def test_markdown_to_a_pipe_or_terminal_skips_the_chart(profile_copy: Path) -> None:
    done = _shell("", "advise", str(profile_copy), "--as-of", "2026-11-23", "--format",
                  "markdown", "--output", "/proc/self/fd/1")  # fmt: skip
    if not Path("/proc/self/fd/1").exists():
        pytest.skip("needs /proc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# LLM deployment advice")


def test_a_non_utf8_terminal_gets_escapes_not_a_crash(profile_copy: Path) -> None:
    edit_text(profile_copy, "name: Banque Exemple SA", 'name: "Café €"')
    done = cli(
        "advise", str(profile_copy), "--as-of", "2026-11-23", env={"PYTHONIOENCODING": "ascii"}
    )
    assert done.returncode == 0, done.stderr
    assert "Caf\\xe9 \\u20ac" in done.stdout


def test_ctrl_c_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sovereign_advisor import cli as cli_module

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sa, "load_profile", interrupted)
    assert cli_module.main(["advise", str(BANK)]) == 130
    assert capsys.readouterr().err == "sovereign-advisor: interrupted\n"


# --- numbers and rules of the knowledge base --------------------------------------------------


def _overlay_with(tmp_path: Path, kind: str, text: str) -> Path:
    (tmp_path / "ov" / kind).mkdir(parents=True)
    (tmp_path / "ov" / kind / "bad.yaml").write_text(text, encoding="utf-8")
    return tmp_path / "ov"


def _record(kind: str, section: str, record_id: str, **changes: object) -> str:
    """One base record with some fields changed, as an overlay file's text."""
    data = yaml.safe_load((default_patterns_path() / kind / section).read_text(encoding="utf-8"))
    key = next(k for k, v in data.items() if any(r.get("id") == record_id for r in v))
    record = next(r for r in data[key] if r["id"] == record_id)
    record.update(changes)
    return yaml.safe_dump({key: [record]}, allow_unicode=True)


_A = ("prices", "assumptions.yaml")
BAD_NUMBERS = [
    (*_A, "hours_per_month", {"value": 0}, "assumption `hours_per_month`: value 0 is outside [672, 744]"),
    (*_A, "gpu.life_months", {"value": 0}, "assumption `gpu.life_months`: value 0 is outside"),
    (*_A, "rag.chunk_tokens", {"value": 0}, "assumption `rag.chunk_tokens`: value 0 is outside"),
    (*_A, "routing.pii_detection_recall", {"value": 5}, "`routing.pii_detection_recall`: value 5 is outside [0, 1]"),
    (*_A, "vllm.gpu_memory_utilization", {"value": 0}, "`vllm.gpu_memory_utilization`: value 0 is outside"),
    (*_A, "hours_per_month", {"value": "1E-999990"}, "`1E-999990` is not a valid float"),  # underflows
    (*_A, "hours_per_month", {"value": 1e-300}, "(record `hours_per_month`): must lie between 1e-24"),
    ("prices", "fx.yaml", None, {"rate": 0}, "rate 0 is outside [0.000001, 1000000]"),
    ("catalog", "gpus.yaml", "h100-80gb-sxm", {"memory_gb": 1e-300}, "gpus[0].memory_gb (record `h100-80gb-sxm`): Input should be greater than or equal to 4"),
    ("catalog", "gpus.yaml", "h100-80gb-sxm", {"bandwidth_gb_s": 1e-300}, "bandwidth_gb_s (record `h100-80gb-sxm`): Input should be greater than or equal to 100"),
    ("catalog", "gpus.yaml", "h100-80gb-sxm", {"power_w": 1e300}, "power_w (record `h100-80gb-sxm`): Input should be less than or equal to 100000"),
    ("catalog", "gpus.yaml", "h100-80gb-sxm", {"memory_gb": 4}, "gpu `h100-80gb-sxm`: 4 GB x vllm.gpu_memory_utilization"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "section", "record_id", "changes", "expected"), BAD_NUMBERS)
def test_knowledge_base_numbers_are_bounded(
    tmp_path: Path,
    kind: str,
    section: str,
    record_id: str | None,
    changes: dict[str, object],
    expected: str,
) -> None:
    if record_id is None:  # the first record of the file
        data = yaml.safe_load((default_patterns_path() / kind / section).read_text("utf-8"))
        record_id = next(iter(data.values()))[0]["id"]
    overlay = _overlay_with(tmp_path, kind, _record(kind, section, record_id, **changes))
    with pytest.raises(sa.KnowledgeBaseError) as caught:
        sa.load_knowledge_base(overlays=[overlay])
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"{kind}/bad.yaml: ")
    done = cli("advise", str(BANK), "--as-of", "2026-11-23", "--overlay", str(overlay))
    assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["1E-999990", "'1E-999990'", "'1E-100000'", "'1E+999990'"])
def test_a_huge_exponent_is_refused_fast(tmp_path: Path, value: str) -> None:
    """Unquoted it is a float too small to hold (refused as read, never read as 0.0); quoted, an
    exact decimal of bounded size. Both are refused before any arithmetic on them."""
    text = _record("prices", "assumptions.yaml", "hours_per_month", value="HERE")
    overlay = _overlay_with(tmp_path, "prices", text.replace("HERE", value))
    with pytest.raises(sa.KnowledgeBaseError) as caught:
        sa.load_knowledge_base(overlays=[overlay])
    expected = "is not a valid float" if value[0] != "'" else "must lie between 1e-24 and 1e24"
    assert expected in str(caught.value)


_T = ("jurisdictions", "territorial.yaml", "territorial.location_and_seat")
BAD_RULES = [
    (*_T, {"condition": "1 / 0 == 1"}, "divide by zero"),
    (*_T, {"condition": "[1][5] == 1"}, "Index error"),
    (*_T, {"condition": "blocs['EFTA'].size() > 0"}, "reads blocs['EFTA'], which catalog/blocs.yaml does not define"),
    (*_T, {"condition": "9223372036854775807 + 1 > 0"}, "integer overflow"),
    (*_T, {"condition": "venue.id.matches('(')"}, "invalid regular expression"),
    (*_T, {"condition": "[" + ",".join(["1"] * 30) + "].all(x, [" + ",".join(["1"] * 30) + "].all(y, [" + ",".join(["1"] * 30) + "].all(z, true)))"}, "Iteration budget exceeded"),
    (*_T, {"exposes_to": "['Mars']"}, "exposes_to returns 'Mars', which is not `EU` or an ISO"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "section", "record_id", "changes", "expected"), BAD_RULES)
def test_rules_that_cannot_evaluate_are_refused_when_loading(
    tmp_path: Path,
    kind: str,
    section: str,
    record_id: str,
    changes: dict[str, object],
    expected: str,
) -> None:
    text = _record(kind, section, record_id, **changes)
    (tmp_path / kind).mkdir()
    (tmp_path / kind / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(sa.KnowledgeBaseError) as caught:
        sa.load_knowledge_base(overlays=[tmp_path])
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"{kind}/bad.yaml: rule `{record_id}`")
    done = cli("validate", "--overlay", str(tmp_path))
    assert done.returncode == 2 and expected in done.stderr


def test_a_computed_jurisdiction_is_checked_when_advising(tmp_path: Path) -> None:
    text = _record(*_T, exposes_to="[venue.operator]")  # 'FR' when loading, a company name later
    (tmp_path / "jurisdictions").mkdir()
    (tmp_path / "jurisdictions" / "bad.yaml").write_text(text, encoding="utf-8")
    kb = sa.load_knowledge_base(overlays=[tmp_path])
    with pytest.raises(sa.RuleEvaluationError) as caught:
        sa.advise(sa.load_profile(BANK), kb=kb, as_of=AS_OF)
    assert "jurisdictions/bad.yaml: rule `territorial.location_and_seat`: exposes_to returned" in (
        str(caught.value)
    )
    done = cli("advise", str(BANK), "--as-of", "2026-11-23", "--overlay", str(tmp_path))
    assert done.returncode == 2 and "is not `EU` or an ISO 3166-1" in done.stderr


# --- the library: arguments, frozen profiles, streaming ---------------------------------------


def _bank_dict() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    return data


def test_library_arguments_are_input_errors() -> None:
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(100_000):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    with pytest.raises(sa.InputError, match="nesting deeper than 32 levels"):
        profile_from_dict(deep)
    with pytest.raises(sa.InputError, match="needs an iterable of OrganisationProfile"):
        sa.advise_many(None)  # type: ignore[arg-type]
    with pytest.raises(sa.InputError, match="item 1 is str"):
        sa.advise_many([sa.load_profile(BANK), "x"], as_of=AS_OF)  # type: ignore[list-item]
    with pytest.raises(sa.InputError, match="is not a usable file path"):
        sa.load_profile("bank\0.yaml")
    with pytest.raises(sa.InputError, match="needs an iterable"):
        sa.iter_advise_many(None)  # type: ignore[arg-type]


def test_a_validated_profile_cannot_be_changed_in_place() -> None:
    profile = profile_from_dict(_bank_dict())
    with pytest.raises(TypeError, match="frozen"):
        profile.data.query_shares["public"] = 7  # type: ignore[index]
    with pytest.raises(TypeError):
        profile.capabilities.owned_gpus.update({"h100-80gb-sxm": 9})
    with pytest.raises(TypeError):
        profile.policy.overrides.clear()
    assert pickle.loads(pickle.dumps(profile)) == profile
    assert copy.deepcopy(profile) == profile
    changed = profile.model_copy(
        update={"data": profile.data.model_copy(update={"query_shares": {"public": 1.0}})}
    )
    assert changed.data.query_shares == {"public": 1.0}


def test_iter_advise_many_streams_in_order() -> None:
    profiles = [sa.load_profile(p) for p in sorted(PROFILES.glob("*.yaml"))[:3]]
    pulled = []

    def source() -> Iterator[sa.OrganisationProfile]:
        for p in profiles * 2:
            pulled.append(p)
            yield p

    stream = sa.iter_advise_many(source(), as_of=AS_OF, chunk=2)
    first = next(stream)
    assert len(pulled) == 2  # one chunk read, not the whole iterable
    rest = list(stream)
    assert [first, *rest] == sa.advise_many(profiles * 2, as_of=AS_OF)


# --- profile text reaches outputs escaped ------------------------------------------------------


def test_markdown_report_escapes_profile_text(tmp_path: Path) -> None:
    data = _bank_dict()
    data["organisation"]["name"] = "<script>alert(1)</script> [click](javascript:alert(1)) *x*"  # type: ignore[index]
    data["use_cases"][0]["name"] = "<img src=x onerror=alert(1)>"  # type: ignore[index]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = cli("advise", str(path), "--as-of", "2026-11-23", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert "<script>" not in report and "<img" not in report
    assert "[click](javascript:" not in report and "<javascript:" not in report
    assert "# LLM deployment advice: &lt;script&gt;alert(1)&lt;/script&gt; \\[click\\]" in report
    assert "\\*x\\*" in report


def test_a_chart_warning_is_one_line_without_a_source_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    from sovereign_advisor import cli as cli_module
    from sovereign_advisor.views import chart

    def warns(advice: object, curves: object, path: Path) -> Path:
        warnings.warn("Glyph 12354 missing from font(s) DejaVu Sans.", UserWarning, stacklevel=1)
        path.write_text("<svg/>")
        return path

    monkeypatch.setattr(chart, "write_chart", warns)
    target = tmp_path / "c.svg"
    argv = ["break-even", str(BANK), "--as-of", "2026-11-23", "--chart", str(target)]
    assert cli_module.main(argv) == 0
    err = capsys.readouterr().err
    assert err == "sovereign-advisor: warning: Glyph 12354 missing from font(s) DejaVu Sans.\n"
