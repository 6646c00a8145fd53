"""End to end: an edXML message carrying a signed PDF → `link edxml` → the verifier's verdict."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.vocabulary import Decision, ReasonCode
from kiemchung.ingress import cli
from kiemchung.ingress.mapping import LinkRequest
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.settings import Settings, get_settings
from tests.corpus import UNIT_NAME, Corpus
from tests.ingress.builders import PDF, Message, Part, build

LINKED_AT = datetime(2024, 11, 20, 9, 0, tzinfo=UTC)


def _edxml(tmp_path: Path, pdf: Path, number: str, name: str) -> Path:
    code_number, notation = number.split("/", 1)
    message = Message(
        number=code_number,
        notation=notation,
        organ_name=UNIT_NAME,
        document_id=None,
        subject="Kế hoạch cải cách hành chính năm 2024",
        parts=[Part(pdf.name, PDF, pdf.read_bytes())],
    )
    path = tmp_path / name
    path.write_bytes(build(message))
    return path


@pytest.mark.parametrize(
    ("document", "number", "decision", "reasons", "exit_code"),
    [
        ("good", "21/KH-SNV", Decision.ACCEPTED, (), cli.EXIT_ACCEPTED),
        ("lettered", "22a/KH-SNV", Decision.REJECTED, (ReasonCode.LETTERED_NUMBER,), cli.EXIT_NOT_ACCEPTED),
    ],
)
async def test_a_linked_edxml_document_gets_its_verdict(
    tmp_path: Path,
    corpus: Corpus,
    document: str,
    number: str,
    decision: Decision,
    reasons: tuple[ReasonCode, ...],
    exit_code: int,
) -> None:
    pdf: Path = getattr(corpus, document)
    message = _edxml(tmp_path, pdf, number, f"{document}.edxml")
    settings = Settings(data_dir=tmp_path / "state", trust_dirs=[corpus.trust_dir])
    outcome = await cli.run_link_edxml(
        message,
        LinkRequest("snv", "1.1", 2024, "snv.vanthu"),
        settings,
        clock=FrozenClock(LINKED_AT),
        ids=SeededIds(seed=7),
    )
    assert outcome.verdict is not None
    assert (outcome.verdict.decision, outcome.verdict.reasons) == (decision, reasons)
    assert outcome.linked.stored.path.parent == tmp_path / "state" / "edocs"
    assert cli.exit_code_of(outcome) == exit_code


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kiemchung")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture
def cli_env(tmp_path: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "state"
    monkeypatch.setenv("KIEMCHUNG_DATA_DIR", str(state))
    monkeypatch.setenv("KIEMCHUNG_TRUST_DIRS", json.dumps([str(corpus.trust_dir)]))
    monkeypatch.setenv("KIEMCHUNG_RUNTIME", "embedded")
    get_settings.cache_clear()
    yield state
    get_settings.cache_clear()


def test_the_command_prints_the_verdict_as_json(
    tmp_path: Path, corpus: Corpus, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _edxml(tmp_path, corpus.lettered, "22a/KH-SNV", "lettered.edxml")
    argv = ["link", "edxml", str(message), "--unit", "snv", "--criterion", "1.2", "--year", "2024"]
    code = _run_cli([*argv, "--by", "snv.vanthu", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_NOT_ACCEPTED
    assert printed["number"] == "22a/KH-SNV"
    assert printed["issuer"] == UNIT_NAME
    assert "LETTERED_NUMBER" in printed["reasons"]
    assert printed["decision"] != "accepted"
    assert Path(printed["fetch_url"].removeprefix("file://")).parent == cli_env / "edocs"


def test_the_command_explains_an_unusable_message(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "no-pdf.edxml"
    message.write_bytes(build(Message(parts=[Part("bao-cao.doc", "application/zip", b"PK\x03\x04")])))
    argv = ["link", "edxml", str(message), "--unit", "snv", "--criterion", "1.2", "--year", "2024"]
    code = _run_cli([*argv, "--by", "snv.vanthu"])
    assert code == cli.EXIT_INPUT
    assert "NO_PDF" in capsys.readouterr().err
    assert not (cli_env / "edocs").exists()
