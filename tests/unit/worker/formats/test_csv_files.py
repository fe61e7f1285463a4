"""The CSV files: columns, the default dialect and the excel-es dialect."""

from __future__ import annotations

import pytest

from reports_worker.errors import ReportOptionError
from tests.support.builds import Builder
from tests.support.data import invoice, item

RECORD = invoice(
    "F-1",
    items=[
        item(sku="A", description="Uno, con coma", quantity=1.5, unitPrice=10.25, taxRate=0.18),
        item(sku=7, description='Dos "comillas"', quantity=2, unitPrice=1, discount=0.5),
    ],
)


def test_default_dialect_is_comma_crlf_decimal_point_without_bom(build: Builder) -> None:
    built = build([RECORD])
    raw = built.zip.read("facturas.csv")
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode().split("\r\n")[:2] == [
        "numero_factura,fecha_emision,moneda,cliente_id_tributario,cliente_nombre,"
        "cliente_correo,items,subtotal,impuesto,total",
        "F-1,2024-01-15,PEN,20123456789,Comercial Andina S.A.C.,pagos@andina.pe,2,16.88,2.77,19.65",
    ]


@pytest.mark.parametrize("dialect", ["rfc4180", "excel-es"])
def test_errors_file_has_a_bom_in_every_dialect_so_excel_shows_its_accents(
    build: Builder, dialect: str
) -> None:
    built = build([RECORD, invoice("F-2", currency="ZZZ")], options={"csvDialect": dialect})
    raw = built.zip.read("errores.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "no es un código ISO 4217".encode() in raw  # UTF-8, read as such after the BOM
    # the files for programs keep the dialect's choice: a BOM only in excel-es
    assert built.zip.read("facturas.csv").startswith(b"\xef\xbb\xbf") == (dialect == "excel-es")


def test_detail_has_one_row_per_line_quoted_where_needed(build: Builder) -> None:
    built = build([RECORD])
    lines = built.zip.read("facturas_detalle.csv").decode().split("\r\n")
    assert lines[0] == (
        "numero_factura,linea,sku,descripcion,cantidad,precio_unitario,descuento,"
        "tasa_impuesto,importe_neto,impuesto"
    )
    assert lines[1:] == [
        'F-1,1,A,"Uno, con coma",1.5,10.25,0,0.18,15.38,2.77',
        'F-1,2,7,"Dos ""comillas""",2,1,0.5,0,1.50,0.00',
        "",
    ]


def test_excel_es_dialect_uses_semicolon_bom_and_decimal_comma(build: Builder) -> None:
    built = build([RECORD], options={"csvDialect": "excel-es"})
    raw = built.zip.read("facturas_detalle.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode().split("\r\n")[1] == "F-1;1;A;Uno, con coma;1,5;10,25;0;0,18;15,38;2,77"


def test_unknown_option_is_refused_in_spanish(build: Builder) -> None:
    with pytest.raises(ReportOptionError) as caught:
        build([RECORD], options={"separador": ";"})
    assert str(caught.value) == (
        "Opción desconocida 'separador' para FacturacionMasiva. Opciones válidas: csvDialect."
    )


def test_unknown_option_value_is_refused_in_spanish(build: Builder) -> None:
    with pytest.raises(ReportOptionError) as caught:
        build([RECORD], options={"csvDialect": "tsv"})
    assert str(caught.value) == (
        "Valor 'tsv' no válido para la opción 'csvDialect'. Valores válidos: rfc4180, excel-es."
    )
