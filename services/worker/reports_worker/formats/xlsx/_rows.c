/* A table's row filled into its template at C speed (sheetcells._Shape's common case),
 * and missing(values), the positions of its None values (which template it takes).
 *
 * fill(literals, slots, number, values, serials, serial_of, decimal) -> bytes | None
 *
 * The row, as UTF-8, is literals[0], slot 0, literals[1], slot 1, ..., literals[-1]. A
 * slot is -1 for the row's number (``number``, a str) or 4 * column + kind for a value:
 * kind 0 is text (exactly str), put in as it is; 1 a date (exactly datetime.date), put in
 * as its Excel serial from the dict ``serials`` (on a miss, serial_of(date, serials) gives
 * it and keeps it, or None); 2 an amount (exactly ``decimal``, or an int), 3 an integer
 * (an int), put in as its str, an int only if a sheet holds it exactly (15 digits). None
 * when the row is not the template's case: a value of another type, a date before the
 * serials begin, or texts that the generic renderer would escape or mark (checked on the
 * texts as if joined by U+007F, as sheetcells did in Python: over EXCEL_MAX_TEXT in all,
 * an empty text, a space or U+007F at either end of one, "_x", & < > or a control
 * character, or U+FFFE / U+FFFF). The texts are encoded as they are checked, straight
 * into the row's bytes: no str is made of the row, nor encoded again when it is written.
 *
 * numbered(rows, start, stop, first) -> bytes
 *
 * rows[start:stop] (bytes, rendered with NUL where their number goes) joined, each NUL of
 * the i-th row replaced by first + i: what the build's process did in Python row by row
 * (a replace, a join, an encode), its share of a split build's serial work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>

#include "../../native/utf8.h"

#define EXCEL_MAX_TEXT 32767
#define SEPARATOR 0x7f

enum { TEXT = 0, DATE = 1, AMOUNT = 2, INTEGER = 3 };
/* Integers past 15 digits are text in a sheet (workbook.EXCEL_MAX_EXACT_INT). */
#define EXCEL_MAX_EXACT_INT 999999999999999LL

/* Whether ``value`` is an int (not a bool) that a sheet holds exactly as a number. */
static int
exact_int(PyObject *value)
{
    if (!PyLong_CheckExact(value)) {
        return 0;
    }
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    return !overflow && number <= EXCEL_MAX_EXACT_INT && number >= -EXCEL_MAX_EXACT_INT;
}

/* The generic renderer's checks on a row's texts, as if joined by U+007F, read as they are
 * written: a text cell needs escaping or marking, or the row is another template's. */
typedef struct {
    Py_ssize_t size, texts;
    Py_UCS4 first, before;
    int plain;
} Probe;

static inline void
probe_put(Probe *probe, Py_UCS4 c)
{
    Py_UCS4 before = probe->before;
    if (c < 0x20 || c == '&' || c == '<' || c == '>' || c == 0xFFFE || c == 0xFFFF
        || (before == '_' && c == 'x') || (before == ' ' && c == SEPARATOR)
        || (before == SEPARATOR && (c == ' ' || c == SEPARATOR))) {
        probe->plain = 0;
    }
    if (probe->size++ == 0) {
        probe->first = c;
    }
    probe->before = c;
}

/* Whether the texts, all read, stay off the generic renderer's path (none: they do). */
static int
probe_plain(const Probe *probe)
{
    if (probe->texts == 0) {
        return 1;
    }
    return probe->plain && probe->size > 0 && probe->size <= EXCEL_MAX_TEXT
           && probe->first != ' ' && probe->first != SEPARATOR && probe->before != ' '
           && probe->before != SEPARATOR;
}

/* A str's UTF-8 appended as it is (a literal of the template, a number, a serial). */
static int
out_str(Buffer *out, PyObject *text)
{
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    return data != NULL && put(out, data, size);
}

/* A text cell's value appended as UTF-8, its characters read by the probe. A surrogate,
 * which no JSON decoder gives, leaves the row to the generic renderer. */
static int
out_text(Buffer *out, Probe *probe, PyObject *text)
{
    if (probe->texts++ > 0) {
        probe_put(probe, SEPARATOR);
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    if (size > EXCEL_MAX_TEXT) { /* past a cell: the generic renderer cuts it */
        probe->plain = 0;
        return 1;
    }
    if (!grow(out, 4 * size)) {
        return 0;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    char *to = out->data + out->size;
    if (PyUnicode_IS_ASCII(text)) {
        const char *ascii = data;
        for (Py_ssize_t at = 0; at < size; at++) {
            probe_put(probe, (unsigned char)ascii[at]);
        }
        memcpy(to, ascii, size);
        to += size;
    }
    else {
        for (Py_ssize_t at = 0; at < size; at++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, at);
            if (c >= 0xD800 && c <= 0xDFFF) {
                probe->plain = 0;
                return 1;
            }
            probe_put(probe, c);
            to = put_utf8(to, c);
        }
    }
    out->size = to - out->data;
    return 1;
}

/* A value's cell content (not a text's): 1 written, 0 not the template's case, -1 error. */
static int
out_value(Buffer *out, PyObject *value, int kind, PyObject *serials, PyObject *serial_of,
          PyObject *decimal)
{
    PyObject *piece;
    switch (kind) {
    case DATE:
        if (Py_TYPE(value) != PyDateTimeAPI->DateType) {
            return 0;
        }
        piece = PyDict_GetItemWithError(serials, value);
        if (piece != NULL) {
            Py_INCREF(piece);
        }
        else if (PyErr_Occurred()
                 || (piece = PyObject_CallFunctionObjArgs(serial_of, value, serials, NULL))
                        == NULL) {
            return -1;
        }
        else if (piece == Py_None) {
            Py_DECREF(piece);
            return 0;
        }
        break;
    case AMOUNT:
    case INTEGER:
        if (!exact_int(value) && (kind == INTEGER || Py_TYPE(value) != (PyTypeObject *)decimal)) {
            return 0;
        }
        piece = PyObject_Str(value);
        if (piece == NULL) {
            return -1;
        }
        break;
    default:
        PyErr_SetString(PyExc_ValueError, "a slot of no known kind");
        return -1;
    }
    int ok = PyUnicode_Check(piece);
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "a serial is a str");
    }
    ok = ok && out_str(out, piece);
    Py_DECREF(piece);
    return ok ? 1 : -1;
}

static PyObject *
fill(PyObject *module, PyObject *args)
{
    PyObject *literals, *slots, *number, *values, *serials, *serial_of, *decimal;
    if (!PyArg_ParseTuple(args, "O!O!UOO!OO:fill", &PyList_Type, &literals, &PyList_Type,
                          &slots, &number, &values, &PyDict_Type, &serials, &serial_of,
                          &decimal)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(slots);
    if (PyList_GET_SIZE(literals) != count + 1) {
        PyErr_SetString(PyExc_ValueError, "one literal more than slots");
        return NULL;
    }
    /* A tuple: serial_of runs Python code, which could not change it under our feet. */
    PyObject *row = PySequence_Tuple(values);
    if (row == NULL) {
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(row);
    PyObject **cells = PySequence_Fast_ITEMS(row);
    char stack[2048];
    Buffer out = {stack, 0, sizeof(stack), 0, 1}; /* on the stack while the row is short */
    Probe probe = {0, 0, 0, 0, 1};
    PyObject *result = NULL;
    for (Py_ssize_t at = 0; at < count; at++) {
        if (!out_str(&out, PyList_GET_ITEM(literals, at))) {
            goto done;
        }
        Py_ssize_t slot = PyLong_AsSsize_t(PyList_GET_ITEM(slots, at));
        if (slot == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (slot < 0) {
            if (!out_str(&out, number)) {
                goto done;
            }
            continue;
        }
        if (slot / 4 >= width) {
            PyErr_SetString(PyExc_IndexError, "a slot past the row's values");
            goto done;
        }
        PyObject *value = cells[slot / 4];
        int written;
        if (slot % 4 == TEXT) {
            if (!PyUnicode_CheckExact(value)) { /* as the generic path's: type(value) is str */
                result = Py_NewRef(Py_None);
                goto done;
            }
            written = out_text(&out, &probe, value) ? 1 : -1;
        }
        else {
            written = out_value(&out, value, slot % 4, serials, serial_of, decimal);
        }
        if (written <= 0) {
            result = written == 0 ? Py_NewRef(Py_None) : NULL;
            goto done;
        }
    }
    if (!out_str(&out, PyList_GET_ITEM(literals, count))) {
        goto done;
    }
    result = probe_plain(&probe) ? PyBytes_FromStringAndSize(out.data, out.size)
                                 : Py_NewRef(Py_None);
done:
    if (!out.borrowed) {
        PyMem_RawFree(out.data);
    }
    Py_DECREF(row);
    return result;
}

/* The positions of a row's None values, as a tuple (empty: none). */
static PyObject *
missing(PyObject *module, PyObject *values)
{
    PyObject *row = PySequence_Fast(values, "values must be a sequence");
    if (row == NULL) {
        return NULL;
    }
    Py_ssize_t width = PySequence_Fast_GET_SIZE(row), count = 0;
    PyObject **cells = PySequence_Fast_ITEMS(row);
    for (Py_ssize_t at = 0; at < width; at++) {
        count += cells[at] == Py_None;
    }
    PyObject *found = PyTuple_New(count);
    for (Py_ssize_t at = 0, put = 0; found != NULL && put < count; at++) {
        if (cells[at] == Py_None) {
            PyObject *position = PyLong_FromSsize_t(at);
            if (position == NULL) {
                Py_CLEAR(found);
                break;
            }
            PyTuple_SET_ITEM(found, put++, position);
        }
    }
    Py_DECREF(row);
    return found;
}

/* Decimal digits of ``number`` (>= 0) written at ``out``, backwards from its end; how many. */
static Py_ssize_t
put_number(char *out, unsigned long long number)
{
    char digits[24];
    Py_ssize_t count = 0;
    do {
        digits[count++] = (char)('0' + number % 10);
        number /= 10;
    } while (number);
    for (Py_ssize_t at = 0; at < count; at++) {
        out[at] = digits[count - 1 - at];
    }
    return count;
}

static PyObject *
numbered(PyObject *module, PyObject *args)
{
    PyObject *rows;
    Py_ssize_t start, stop;
    long long first;
    if (!PyArg_ParseTuple(args, "O!nnL", &PyList_Type, &rows, &start, &stop, &first)) {
        return NULL;
    }
    if (start < 0 || stop > PyList_GET_SIZE(rows) || start > stop || first < 0) {
        PyErr_SetString(PyExc_ValueError, "numbered: rows out of range or a negative number");
        return NULL;
    }
    /* The rows stay referenced while they are read. */
    PyObject *held = PyList_GetSlice(rows, start, stop);
    if (held == NULL) {
        return NULL;
    }
    Py_ssize_t count = stop - start, total = 0;
    char number[24];
    Py_ssize_t widest = put_number(number, (unsigned long long)first + (unsigned long long)count);
    for (Py_ssize_t at = 0; at < count; at++) {
        PyObject *row = PyList_GET_ITEM(held, at);
        if (!PyBytes_Check(row)) {
            PyErr_SetString(PyExc_TypeError, "numbered: every row must be bytes");
            Py_DECREF(held);
            return NULL;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(row);
        const char *text = PyBytes_AS_STRING(row);
        Py_ssize_t marks = 0;
        for (const char *mark = memchr(text, 0, size); mark != NULL;
             mark = memchr(mark + 1, 0, size - (mark + 1 - text))) {
            marks++;
        }
        if (marks && widest - 1 > (PY_SSIZE_T_MAX - total - size) / marks) {
            Py_DECREF(held);
            return PyErr_NoMemory();
        }
        total += size + marks * (widest - 1);
    }
    PyObject *joined = PyBytes_FromStringAndSize(NULL, total);
    if (joined == NULL) {
        Py_DECREF(held);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(joined);
    for (Py_ssize_t at = 0; at < count; at++) {
        PyObject *row = PyList_GET_ITEM(held, at);
        Py_ssize_t size = PyBytes_GET_SIZE(row);
        const char *text = PyBytes_AS_STRING(row);
        Py_ssize_t digits = put_number(number, (unsigned long long)first + (unsigned long long)at);
        const char *end = text + size;
        while (text < end) {
            const char *mark = memchr(text, 0, end - text);
            const char *upto = mark != NULL ? mark : end;
            memcpy(out, text, upto - text);
            out += upto - text;
            if (mark == NULL) {
                break;
            }
            memcpy(out, number, digits);
            out += digits;
            text = mark + 1;
        }
    }
    Py_DECREF(held);
    if (_PyBytes_Resize(&joined, out - PyBytes_AS_STRING(joined)) < 0) {
        return NULL;
    }
    return joined;
}

static PyMethodDef methods[] = {
    {"missing", missing, METH_O, "missing(values) -> the positions of the None values"},
    {"fill", fill, METH_VARARGS,
     "fill(literals, slots, number, values, serials, serial_of, decimal) -> bytes | None"},
    {"numbered", numbered, METH_VARARGS,
     "numbered(rows, start, stop, first) -> rows[start:stop] joined, each NUL its number"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_rows",
    .m_doc = "A table's row filled into its template at C speed.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__rows(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
