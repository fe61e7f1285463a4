"""FacturacionMasiva: mass invoicing, exact to the cent (entry point ``FacturacionMasiva``)."""

from __future__ import annotations

from .report import FacturacionMasiva

__all__ = ["FacturacionMasiva"]
