"""XLSX workbooks: the interface reports write through (:mod:`.workbook`) and its engine."""
