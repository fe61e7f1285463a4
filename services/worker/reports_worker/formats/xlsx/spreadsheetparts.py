"""The fixed parts of an XLSX package: styles, workbook, relationships, sheet frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .printing import MARGINS, PAGE_FOOTER, PAPER_A4, PrintSetup

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

#: cellXfs index of each named style and number format (see STYLES below).
STYLE_IDS = {
    "header": 1,
    "title": 2,
    "label": 3,
    "amount": 4,
    "integer": 5,
    "percent": 6,
    "date": 7,
    "datetime": 8,
}

STYLES = (
    _XML_HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
    '<numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm:ss"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    '<family val="2"/><scheme val="minor"/></font>'
    '<font><b/><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></font>'
    '<font><b/><sz val="14"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFD9E1F2"/>'
    '<bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom>'
    "<diagonal/></border></borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="9">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" '
    'applyBorder="1" applyAlignment="1"><alignment wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
    'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
)


@dataclass(slots=True)
class SheetEntry:
    """One sheet of the workbook: its title, position, autofilter range if any, and
    whether its first row prints atop every page."""

    title: str
    number: int
    filter_ref: str | None = None
    print_titles: bool = False

    @property
    def part_name(self) -> str:
        """Its part in the package."""
        return f"xl/worksheets/sheet{self.number}.xml"


def _column_width(width: float) -> str:
    # As xlsxwriter does: characters to pixels (Calibri 11: 7 px per digit, 5 of padding),
    # then pixels to Excel's character units.
    pixels = int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)
    return f"{(pixels * 256 // 7) / 256.0:.16g}"


def column_letter(index: int) -> str:
    """Excel's letters for a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def print_frame(setup: PrintSetup, header: str) -> tuple[str, str]:
    """A sheet's print settings: what goes before its view and what after its rows.

    Written as xlsxwriter writes them, in the order ECMA-376 requires (``sheetPr`` first;
    ``printOptions``, ``pageMargins``, ``pageSetup``, ``headerFooter`` after the filter).
    """
    before = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if setup.fit_to_width else ""
    options = (' horizontalCentered="1"' if setup.centered else "") + (
        ' gridLines="1"' if setup.gridlines else ""
    )
    left, right, top, bottom, head, foot = MARGINS
    fit = ' fitToHeight="0"' if setup.fit_to_width else ""
    orientation = "landscape" if setup.landscape else "portrait"
    after = (
        (f"<printOptions{options}/>" if options else "")
        + f'<pageMargins left="{left}" right="{right}" top="{top}" bottom="{bottom}" '
        f'header="{head}" footer="{foot}"/>'
        f'<pageSetup paperSize="{PAPER_A4}"{fit} orientation="{orientation}"/>'
        f"<headerFooter><oddHeader>{escape(header)}</oddHeader>"
        f"<oddFooter>{escape(PAGE_FOOTER)}</oddFooter></headerFooter>"
    )
    return before, after


def sheet_frame(
    entry: SheetEntry,
    widths: Mapping[int, float],
    last_row: int,
    columns: int,
    *,
    frozen: bool,
    printing: tuple[str, str],
) -> tuple[str, str]:
    """The XML before and after a sheet's rows (``printing`` from :func:`print_frame`)."""
    last = f"{column_letter(max(columns, 1) - 1)}{max(last_row, 1)}"
    selected = ' tabSelected="1"' if entry.number == 1 else ""
    if frozen:
        view = (
            f'<sheetView{selected} workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/></sheetView>'
        )
    else:
        view = f'<sheetView{selected} workbookViewId="0"/>'
    cols = "".join(
        f'<col min="{col + 1}" max="{col + 1}" width="{_column_width(width)}" customWidth="1"/>'
        for col, width in sorted(widths.items())
    )
    head = (
        _XML_HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{printing[0]}'
        f'<dimension ref="A1:{last}"/><sheetViews>{view}</sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )
    autofilter = f'<autoFilter ref="{entry.filter_ref}"/>' if entry.filter_ref else ""
    foot = f"</sheetData>{autofilter}{printing[1]}</worksheet>"
    return head, foot


def _workbook(sheets: Sequence[SheetEntry]) -> str:
    listed = "".join(
        f'<sheet name={quoteattr(sheet.title)} sheetId="{sheet.number}" r:id="rId{sheet.number}"/>'
        for sheet in sheets
    )
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{sheet.number - 1}" '
        f'hidden="1">{escape(_absolute(sheet.title, sheet.filter_ref))}</definedName>'
        for sheet in sheets
        if sheet.filter_ref
    ) + "".join(
        f'<definedName name="_xlnm.Print_Titles" localSheetId="{sheet.number - 1}">'
        f"{escape(_quoted(sheet.title))}!$1:$1</definedName>"
        for sheet in sheets
        if sheet.print_titles
    )
    return (
        _XML_HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" '
        'yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews>'
        f"<sheets>{listed}</sheets>"
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(title: str, ref: str | None) -> str:
    first, last = (ref or "A1:A1").split(":")
    quoted = _quoted(title)

    def absolute(cell: str) -> str:
        """``A1`` as ``$A$1``."""
        letters = cell.rstrip("0123456789")
        return f"${letters}${cell[len(letters) :]}"

    return f"{quoted}!{absolute(first)}:{absolute(last)}"


_CONTENT_TYPES_HEAD = (
    _XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/'
    'vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
)
_ROOT_RELS = (
    _XML_HEAD + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" '
    f'Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/extended-properties" '
    'Target="docProps/app.xml"/></Relationships>'
)
_CORE = (
    _XML_HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
    '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:creator>Async Reports</dc:creator></cp:coreProperties>"
)


def _app(sheets: Sequence[SheetEntry]) -> str:
    titles = "".join(f"<vt:lpstr>{escape(sheet.title)}</vt:lpstr>" for sheet in sheets)
    return (
        _XML_HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
        '2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/'
        'officeDocument/2006/docPropsVTypes"><Application>Async Reports</Application>'
        '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>'
        f"Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{len(sheets)}</vt:i4>"
        f'</vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="'
        f'{len(sheets)}" baseType="lpstr">{titles}</vt:vector></TitlesOfParts></Properties>'
    )


def package_parts(sheets: Sequence[SheetEntry]) -> dict[str, str]:
    """Every part of the package but the sheets, by name."""
    sheet_types = "".join(
        f'<Override PartName="/{sheet.part_name}" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for sheet in sheets
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{sheet.number}" Type="{_REL}/worksheet" '
        f'Target="worksheets/sheet{sheet.number}.xml"/>'
        for sheet in sheets
    )
    return {
        "[Content_Types].xml": f"{_CONTENT_TYPES_HEAD}{sheet_types}</Types>",
        "_rels/.rels": _ROOT_RELS,
        "docProps/app.xml": _app(sheets),
        "docProps/core.xml": _CORE,
        "xl/workbook.xml": _workbook(sheets),
        "xl/_rels/workbook.xml.rels": (
            _XML_HEAD + f'<Relationships xmlns="{_PKG_REL}">{sheet_rels}'
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": STYLES,
    }
