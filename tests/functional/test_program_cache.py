"""The parsed ASL kept on disk (``stepsaga.local._moto.program_cache``) is moto's parse of the same text.

A cached Program is checked against a new parse of its text, object by object, and runs against runs of the
parsed one; the cache is read only from files this user owns and nobody else may write, never holds a
definition moto rejects, and survives a damaged entry by parsing again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from stepsaga.local import EmbeddedCloud, default_seed
from stepsaga.local._moto import program_cache, programs, speed
from tests.functional.test_cheap_clouds import SCENARIOS, first_difference, outcome, renamed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of the test's own, with the cache on."""
    monkeypatch.setenv(program_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(program_cache.CACHE_ENV, raising=False)
    return tmp_path / "cache" / "programs"


def unique_definition() -> str:
    """A definition no other test parses: a Pass, a Choice, a Task with Retry and Catch, a Map and a Fail."""
    mark = uuid.uuid4().hex
    return json.dumps({
        "Comment": mark, "StartAt": "Begin",
        "States": {
            "Begin": {"Type": "Pass", "Parameters": {"id.$": "$.id", "mark": mark}, "ResultPath": "$.begin", "Next": "Route"},
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Call"}], "Default": "Each"},
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "f", "Payload.$": "States.JsonMerge($, $.begin, false)"},
                     "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "JitterStrategy": "FULL"}],
                     "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Stop"}], "End": True},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}, "End": True},
            "Stop": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    })


def test_a_second_process_reads_the_program_the_first_one_parsed(cache: Path) -> None:
    definition = unique_definition()
    fresh = programs._antlr_parse(definition)
    first = programs._parsed(definition)  # parsed, then written
    assert [p.suffix for p in cache.iterdir()] == [".pickle"]
    hits = program_cache.stats["hits"]
    again = programs._parsed(definition)  # what a new process does: no memo in this module, only the file
    assert program_cache.stats["hits"] == hits + 1
    assert again is not first
    assert first_difference(fresh, again) is None
    assert first_difference(fresh, first) is None


def test_the_entry_names_the_text_and_moto_s_version(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    definition = unique_definition()
    assert program_cache.key(definition) != program_cache.key(definition + " ")
    import moto

    before = program_cache.key(definition)
    monkeypatch.setattr(moto, "__version__", "0.0.0")
    assert program_cache.key(definition) != before


def test_a_definition_moto_rejects_is_never_cached(cache: Path) -> None:
    definition = json.dumps({"StartAt": "Nowhere", "States": {"Here": {"Type": "Pass", "Nxt": "Here"}}})
    for _ in range(2):
        with pytest.raises(Exception):
            programs._parsed(definition)
    assert not cache.exists() or list(cache.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file owners and modes are POSIX's")
@pytest.mark.parametrize("mode", [0o664, 0o646])
def test_an_entry_others_may_write_is_not_read(cache: Path, mode: int) -> None:
    definition = unique_definition()
    programs._parsed(definition)
    [entry] = cache.iterdir()
    entry.chmod(mode)
    hits = program_cache.stats["hits"]
    assert first_difference(programs._antlr_parse(definition), programs._parsed(definition)) is None
    assert program_cache.stats["hits"] == hits


def test_a_damaged_entry_is_parsed_again_and_replaced(cache: Path) -> None:
    definition = unique_definition()
    programs._parsed(definition)
    [entry] = cache.iterdir()
    entry.write_bytes(b"not a pickle")
    hits, writes = program_cache.stats["hits"], program_cache.stats["writes"]
    assert first_difference(programs._antlr_parse(definition), programs._parsed(definition)) is None
    assert (program_cache.stats["hits"], program_cache.stats["writes"]) == (hits, writes + 1)
    assert programs._parsed(definition) is not None and program_cache.stats["hits"] == hits + 1


def test_the_switch_turns_the_cache_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(program_cache.CACHE_ENV, "0")
    programs._parsed(unique_definition())
    assert not cache.exists()


def test_an_unwritable_folder_costs_only_the_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    monkeypatch.setenv(program_cache.CACHE_DIR_ENV, str(blocked))
    definition = unique_definition()
    assert first_difference(programs._antlr_parse(definition), programs._parsed(definition)) is None


@pytest.mark.parametrize(("scenario", "order", "faults"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_runs_of_a_cached_program_are_runs_of_the_parsed_one(order_saga: Any, cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                              scenario: str, order: Any, faults: Any) -> None:
    """A saga of its own name (its text parsed nowhere else): a cloud whose Program came from the file, as in a
    process that never parsed it, against a cloud with the cache off, on the same scenario and execution name."""
    saga = renamed(order_saga)
    seed = default_seed(saga, ROOT / "workflows" / "inputs")
    with EmbeddedCloud(saga, seed=seed, root=ROOT):
        pass  # the first cloud parses the saga's text and writes it
    assert len(list(cache.iterdir())) == 1
    outcomes = []
    for cached in (True, False):
        programs.clear()  # only the file remains, as in a new process
        speed._parse_program.cache_clear()
        monkeypatch.setenv(program_cache.CACHE_ENV, "1" if cached else "0")
        hits = program_cache.stats["hits"]
        with EmbeddedCloud(saga, seed=seed, root=ROOT) as cloud:
            outcomes.append(outcome(cloud, cloud.run(order, faults=faults, name="same-name")))
        assert program_cache.stats["hits"] == hits + cached
    assert outcomes[0] == outcomes[1]


def test_stepsaga_run_in_a_new_process_reads_the_cache(tmp_path: Path) -> None:
    """The second ``stepsaga run`` parses nothing: moto's parser raises in it, and it runs as the first did."""
    env = dict(os.environ, STEPSAGA_CACHE_DIR=str(tmp_path / "cache"), STEPSAGA_PROGRAM_CACHE="1")
    arguments = ["run", "workflows/order_saga.py", "--input", "@workflows/inputs/too_many.json", "--json"]
    no_parser = (
        "import sys\n"
        "from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser as P\n"
        "def refuse(*a, **k): raise AssertionError('parsed')\n"
        "P.parse = staticmethod(refuse)\n"
        "from stepsaga.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    runs = [subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            for command in ([sys.executable, "-m", "stepsaga.cli", *arguments], [sys.executable, "-c", no_parser, *arguments])]
    assert [run.returncode for run in runs] == [0, 0], runs[1].stderr[-2000:]
    assert len(list((tmp_path / "cache" / "programs").iterdir())) == 1
    first, second = (json.loads(run.stdout) for run in runs)
    assert (first["status"], first["error"]) == (second["status"], second["error"]) == ("FAILED", "OutOfStock")
    assert first["states"] == second["states"] and first["compensations"] == second["compensations"] == ["RefundPayment", "CancelOrder"]
