"""Every saga of the test apps imports back to the Saga DSL and recompiles to byte-identical ASL (issue 11.4).

The apps' own definitions are used as they are: the contract test's LedgerSaga, the second-saga test's
ShipmentSaga (its workflow source), and the equivalence property's generated sagas (its own strategy).
"""

from __future__ import annotations

import types

from hypothesis import HealthCheck, given, settings

from stepsaga.importer import import_asl
from stepsaga.model import Saga
from stepsaga.orchestration import to_asl
from tests.asl_helpers import run_module
from tests.functional.test_contract import LEDGER_SAGA
from tests.functional.test_equivalence import sagas as equivalence_sagas
from tests.functional.test_second_saga import SHIPMENT


def comes_back(saga: Saga, where) -> None:
    text = to_asl(saga)
    imported = import_asl(text, f"{saga.name}.asl.json")
    assert imported.kind == "saga", imported.source
    made = run_module(imported.source, where)
    assert isinstance(made, Saga) and to_asl(made) == text


def test_the_contract_apps_ledger_saga_comes_back(tmp_path):
    comes_back(LEDGER_SAGA, tmp_path / "ledger.py")


def test_the_second_saga_comes_back(tmp_path):
    module = types.ModuleType("shipment_saga")
    exec(compile(SHIPMENT, "shipment_saga.py", "exec"), module.__dict__)  # noqa: S102 - the test's own workflow source
    comes_back(module.saga, tmp_path / "shipment.py")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(equivalence_sagas())
def test_every_equivalence_saga_comes_back(tmp_path, saga):
    comes_back(saga, tmp_path / f"equivalence_{abs(hash(to_asl(saga)))}.py")
