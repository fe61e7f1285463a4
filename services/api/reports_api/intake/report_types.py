"""GET /api/AsyncReports/report-types: what may be submitted, as the workers announce it."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from reports_shared.constants import API_PREFIX

from ..access.keys import Principal
from ..openapi import problems
from ..state import Services


class ReportTypeView(msgspec.Struct, rename="camel", kw_only=True):
    """One report type the workers build."""

    name: str
    description: str
    #: The name people read ("Facturación masiva"); ``name`` when the workers give none.
    display_name: str
    #: Its options (a form field or a key of ``options``) and their values, the default
    #: first; ``None`` when its workers announce none (they check options themselves).
    options: dict[str, list[str]] | None = None


class ReportTypesController(Controller):
    """The report types a submission may ask for."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/report-types", responses=problems(401, 503))
    async def report_types(
        self, services: NamedDependency[Services], principal: NamedDependency[Principal]
    ) -> list[ReportTypeView]:
        """The report types the running workers build, with the options each takes."""
        catalog = await services.jobs.report_types()
        shown = await services.jobs.report_display_names()
        options = await services.jobs.report_options()
        return [
            ReportTypeView(
                name=name,
                description=description,
                display_name=shown.get(name) or name,
                options=options.get(name),
            )
            for name, description in sorted(catalog.items())
        ]
