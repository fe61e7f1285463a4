"""Report types are found through entry points; an unknown name lists the valid ones."""

from __future__ import annotations

import pytest

from reports_shared.errors import UnknownReportType
from reports_worker.reporttypes import ReportType, load_report_types
from tests.support.builds import Builder
from tests.support.data import invoice


def test_installed_report_types_are_loaded_by_name() -> None:
    types = load_report_types()
    assert set(types) >= {"FacturacionMasiva", "Tabular"}
    assert all(issubclass(kind, ReportType) and kind.name == name for name, kind in types.items())


def test_each_type_describes_itself_in_one_spanish_sentence() -> None:
    for kind in load_report_types().values():
        assert kind.description.endswith(".") and kind.description.count(". ") == 0


def test_unknown_report_type_lists_the_valid_ones(build: Builder) -> None:
    with pytest.raises(UnknownReportType) as caught:
        build([invoice()], report="Inventario")
    # the message is the shared one (reports_shared.errors), the api's too
    assert str(caught.value) == (
        "El tipo de reporte 'Inventario' no existe. Tipos válidos: FacturacionMasiva, Tabular."
    )
