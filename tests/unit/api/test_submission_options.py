"""Options are checked at submission against what the workers announce."""

from __future__ import annotations

import pytest

from reports_api.errors import InvalidRequest
from reports_api.intake.submissions import check_options
from reports_worker.reporttypes import report_options


def test_workers_announce_every_report_types_options_with_the_default_first() -> None:
    options = report_options()
    assert options["FacturacionMasiva"]["csvDialect"] == ["rfc4180", "excel-es"]
    assert all("csvDialect" in by_type for by_type in options.values())


def test_an_unknown_option_or_value_is_refused_naming_the_valid_ones() -> None:
    allowed = report_options()["FacturacionMasiva"]
    check_options("FacturacionMasiva", {"csvDialect": "excel-es"}, allowed)
    with pytest.raises(InvalidRequest, match=r"'formato'.*csvDialect") as unknown:
        check_options("FacturacionMasiva", {"formato": "xlsx"}, allowed)
    assert unknown.value.extra["validOptions"] == {"csvDialect": ["rfc4180", "excel-es"]}
    with pytest.raises(InvalidRequest, match=r"'bogus'.*rfc4180, excel-es"):
        check_options("FacturacionMasiva", {"csvDialect": "bogus"}, allowed)
