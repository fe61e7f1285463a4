"""Each test of this folder runs once per overlay of deploy/kubernetes."""

from __future__ import annotations

import pytest

from .manifests import OVERLAYS, Rendered, render


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    overlay: str = request.param
    return render(overlay)
