/* A table's row filled into its template at C speed (sheetcells._Shape's common case),
 * and missing(values), the positions of its None values (which template it takes).
 *
 * fill(literals, slots, number, values, serials, serial_of, decimal) -> str | None
 *
 * The row is literals[0], slot 0, literals[1], slot 1, ..., literals[-1]. A slot is -1
 * for the row's number (``number``, a str) or 4 * column + kind for a value: kind 0 is
 * text (exactly str), put in as it is; 1 a date (exactly datetime.date), put in as its Excel serial
 * from the dict ``serials`` (on a miss, serial_of(date, serials) gives it and keeps it,
 * or None); 2 an amount (exactly ``decimal``, or an int), 3 an integer (an int), put
 * in as its str, an int only if a sheet holds it exactly (15 digits). None when the
 * row is not the template's case: a value of another type, a date before the serials
 * begin, or texts that the generic renderer would escape or mark (checked on the texts
 * joined by U+007F, as sheetcells did in Python: over EXCEL_MAX_TEXT in all, an empty
 * text, a space or U+007F at either end of one, "_x", & < > or a control character, or
 * U+FFFE / U+FFFF).
 *
 * numbered(rows, start, stop, first) -> bytes
 *
 * rows[start:stop] (str, rendered with U+0000 where their number goes) joined as UTF-8,
 * each U+0000 of the i-th row replaced by first + i: what the build's process did in Python
 * row by row (a replace, a join, an encode), its share of a split build's serial work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>

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

/* Whether the texts joined by U+007F stay off the generic renderer's path. */
static int
plain_texts(PyObject *probe)
{
    Py_ssize_t size = PyUnicode_GET_LENGTH(probe);
    if (size == 0 || size > EXCEL_MAX_TEXT) {
        return 0;
    }
    int kind = PyUnicode_KIND(probe);
    const void *data = PyUnicode_DATA(probe);
    Py_UCS4 first = PyUnicode_READ(kind, data, 0), last = PyUnicode_READ(kind, data, size - 1);
    if (first == ' ' || first == SEPARATOR || last == ' ' || last == SEPARATOR) {
        return 0;
    }
    Py_UCS4 before = 0;
    for (Py_ssize_t at = 0; at < size; at++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, at);
        if (c < 0x20 || c == '&' || c == '<' || c == '>' || c == 0xFFFE || c == 0xFFFF) {
            return 0;
        }
        if ((before == '_' && c == 'x') || (before == ' ' && c == SEPARATOR)
            || (before == SEPARATOR && (c == ' ' || c == SEPARATOR))) {
            return 0;
        }
        before = c;
    }
    return 1;
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
    PyObject *pieces = PyList_New(2 * count + 1), *texts = PyList_New(0), *result = NULL;
    if (pieces == NULL || texts == NULL) {
        goto done;
    }
    /* The texts first, all together, as the Python template did. */
    for (Py_ssize_t at = 0; at < count; at++) {
        Py_ssize_t slot = PyLong_AsSsize_t(PyList_GET_ITEM(slots, at));
        if (slot == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (slot >= 0 && slot % 4 == TEXT) {
            if (slot / 4 >= width) {
                PyErr_SetString(PyExc_IndexError, "a slot past the row's values");
                goto done;
            }
            PyObject *value = cells[slot / 4];
            if (!PyUnicode_CheckExact(value)) {  /* as the generic path's: type(value) is str */
                result = Py_NewRef(Py_None);
                goto done;
            }
            if (PyList_Append(texts, value) < 0) {
                goto done;
            }
        }
    }
    if (PyList_GET_SIZE(texts) > 0) {
        PyObject *separator = PyUnicode_FromOrdinal(SEPARATOR);
        PyObject *probe = separator ? PyUnicode_Join(separator, texts) : NULL;
        Py_XDECREF(separator);
        if (probe == NULL) {
            goto done;
        }
        int plain = plain_texts(probe);
        Py_DECREF(probe);
        if (!plain) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    for (Py_ssize_t at = 0; at < count; at++) {
        PyList_SET_ITEM(pieces, 2 * at, Py_NewRef(PyList_GET_ITEM(literals, at)));
        Py_ssize_t slot = PyLong_AsSsize_t(PyList_GET_ITEM(slots, at));
        PyObject *piece = NULL;
        if (slot < 0) {
            piece = Py_NewRef(number);
        }
        else {
            if (slot / 4 >= width) {
                PyErr_SetString(PyExc_IndexError, "a slot past the row's values");
                goto done;
            }
            PyObject *value = cells[slot / 4];
            switch (slot % 4) {
            case TEXT:
                piece = Py_NewRef(value);
                break;
            case DATE:
                if (Py_TYPE(value) != PyDateTimeAPI->DateType) {
                    result = Py_NewRef(Py_None);
                    goto done;
                }
                piece = PyDict_GetItemWithError(serials, value);
                if (piece != NULL) {
                    Py_INCREF(piece);
                }
                else if (PyErr_Occurred()
                         || (piece = PyObject_CallFunctionObjArgs(serial_of, value, serials,
                                                                  NULL))
                                == NULL) {
                    goto done;
                }
                else if (piece == Py_None) {
                    Py_DECREF(piece);
                    result = Py_NewRef(Py_None);
                    goto done;
                }
                break;
            case AMOUNT:
            case INTEGER:
                if (!exact_int(value)
                    && (slot % 4 == INTEGER || Py_TYPE(value) != (PyTypeObject *)decimal)) {
                    result = Py_NewRef(Py_None);
                    goto done;
                }
                piece = PyObject_Str(value);
                if (piece == NULL) {
                    goto done;
                }
                break;
            default:
                PyErr_SetString(PyExc_ValueError, "a slot of no known kind");
                goto done;
            }
        }
        PyList_SET_ITEM(pieces, 2 * at + 1, piece);
    }
    PyList_SET_ITEM(pieces, 2 * count, Py_NewRef(PyList_GET_ITEM(literals, count)));
    PyObject *empty = PyUnicode_New(0, 0);
    if (empty != NULL) {
        result = PyUnicode_Join(empty, pieces);
        Py_DECREF(empty);
    }
done:
    /* Unset items of ``pieces`` are NULL: list_dealloc skips them. */
    Py_XDECREF(pieces);
    Py_XDECREF(texts);
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
    /* The rows stay referenced while they are read: a str's UTF-8 is kept by the str. */
    PyObject *held = PyList_GetSlice(rows, start, stop);
    if (held == NULL) {
        return NULL;
    }
    Py_ssize_t count = stop - start, total = 0;
    char number[24];
    Py_ssize_t widest = put_number(number, (unsigned long long)first + (unsigned long long)count);
    for (Py_ssize_t at = 0; at < count; at++) {
        PyObject *row = PyList_GET_ITEM(held, at);
        Py_ssize_t size;
        if (!PyUnicode_Check(row)) {
            PyErr_SetString(PyExc_TypeError, "numbered: every row must be a str");
            Py_DECREF(held);
            return NULL;
        }
        const char *text = PyUnicode_AsUTF8AndSize(row, &size);
        if (text == NULL) {
            Py_DECREF(held);
            return NULL;
        }
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
        Py_ssize_t size;
        const char *text = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(held, at), &size);
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
     "fill(literals, slots, number, values, serials, serial_of, decimal) -> str | None"},
    {"numbered", numbered, METH_VARARGS,
     "numbered(rows, start, stop, first) -> rows[start:stop] as UTF-8, each U+0000 its number"},
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
