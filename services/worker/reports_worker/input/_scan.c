/* The payload's structure at C speed: one pass over a chunk of JSON text; and a check
 * that a batch of it is UTF-8 (utf8(data) -> bool, as bytes.decode("utf-8") would say).
 *
 * follow(data, depth, in_string, escaped, level, max_depth) follows the brackets of
 * ``data`` outside strings, as reports_worker.input.nesting.structure does byte by byte in
 * Python (that function is the reference the tests hold this one to). ``depth``,
 * ``in_string`` and ``escaped`` describe the text just before ``data``. It returns
 *
 *   (depth, in_string, escaped, comma, close, too_deep, string_start, commas)
 *
 * the state after ``data``; the offset of the last comma at depth ``level`` before the
 * array at that level closes (-1: none); the offset of the bracket that closes it (-1:
 * none); the offset of the first bracket that opens past ``max_depth`` (-1: none; the
 * scan stops there and the state returned is the state at that bracket); and the offset
 * of the quote that opened the string still open at the end, if it opened in ``data``
 * (-1 otherwise); and how many commas at depth ``level`` come before the array closes (so
 * a batch cut at the last of them holds that many records). The GIL is released during
 * the scan.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* What a byte means outside strings: nothing, a quote, an opening or closing bracket, a comma. */
enum { OTHER = 0, QUOTE, OPEN, CLOSE, COMMA };

static unsigned char kinds[256];

static PyObject *
follow(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t depth, level, max_depth;
    int in_string, escaped;
    if (!PyArg_ParseTuple(args, "y*nppnn:follow", &view, &depth, &in_string, &escaped,
                          &level, &max_depth)) {
        return NULL;
    }
    const unsigned char *data = view.buf;
    const Py_ssize_t size = view.len;
    Py_ssize_t at = 0, comma = -1, close = -1, too_deep = -1, string_start = -1, commas = 0;
    int closed = 0;

    Py_BEGIN_ALLOW_THREADS
    if (in_string && escaped) {
        at = size > 0 ? 1 : 0;  /* the byte a backslash at the end of the last chunk escapes */
        escaped = size == 0;
    }
    escaped = in_string ? escaped : 0;
    while (at < size) {
        if (in_string) {
            /* Most bytes are in strings: look only for the two that matter there. */
            while (at < size && data[at] != '"' && data[at] != '\\') {
                at++;
            }
            if (at >= size) {
                break;
            }
            if (data[at] == '\\') {
                if (at + 1 >= size) {
                    escaped = 1;  /* it escapes the first byte of the next chunk */
                    at = size;
                    break;
                }
                at += 2;
                continue;
            }
            in_string = 0;
            string_start = -1;
            at++;
            continue;
        }
        switch (kinds[data[at]]) {
        case QUOTE:
            in_string = 1;
            string_start = at;
            break;
        case OPEN:
            if (depth >= max_depth) {
                too_deep = at;
                goto done;
            }
            depth++;
            break;
        case CLOSE:
            depth--;
            if (!closed && depth < level) {
                closed = 1;
                close = at;
            }
            break;
        case COMMA:
            if (!closed && depth == level) {
                comma = at;
                commas++;
            }
            break;
        default:
            break;
        }
        at++;
    }
done:
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&view);
    return Py_BuildValue("(nOOnnnnn)", depth, in_string ? Py_True : Py_False,
                         escaped ? Py_True : Py_False, comma, close, too_deep, string_start,
                         commas);
}

/* Whether ``data`` is valid UTF-8 as Python's decoder has it (Unicode's table 3-7: no
 * overlong forms, no surrogates, nothing past U+10FFFF), ASCII checked 8 bytes at a time. */
static int
valid_utf8(const unsigned char *data, Py_ssize_t size)
{
    Py_ssize_t at = 0;
    while (at < size) {
        if (at + 8 <= size) {
            unsigned long long word;
            memcpy(&word, data + at, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                at += 8;
                continue;
            }
        }
        unsigned char lead = data[at];
        if (lead < 0x80) {
            at++;
            continue;
        }
        int more;
        unsigned char low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            more = 1;
        }
        else if (lead >= 0xE0 && lead <= 0xEF) {
            more = 2;
            if (lead == 0xE0) {
                low = 0xA0;
            }
            else if (lead == 0xED) {
                high = 0x9F;
            }
        }
        else if (lead >= 0xF0 && lead <= 0xF4) {
            more = 3;
            if (lead == 0xF0) {
                low = 0x90;
            }
            else if (lead == 0xF4) {
                high = 0x8F;
            }
        }
        else {
            return 0;
        }
        if (at + more >= size) {  /* cut short */
            return 0;
        }
        if (data[at + 1] < low || data[at + 1] > high) {
            return 0;
        }
        for (int next = 2; next <= more; next++) {
            if (data[at + next] < 0x80 || data[at + next] > 0xBF) {
                return 0;
            }
        }
        at += more + 1;
    }
    return 1;
}

static PyObject *
utf8(PyObject *module, PyObject *args)
{
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*:utf8", &view)) {
        return NULL;
    }
    int valid;
    Py_BEGIN_ALLOW_THREADS
    valid = valid_utf8(view.buf, view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBool_FromLong(valid);
}

static PyMethodDef methods[] = {
    {"utf8", utf8, METH_VARARGS, "utf8(data) -> bool: whether data is valid UTF-8."},
    {"follow", follow, METH_VARARGS,
     "follow(data, depth, in_string, escaped, level, max_depth) -> (depth, in_string, "
     "escaped, comma, close, too_deep, string_start, commas): the structure of a chunk of JSON."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "A chunk of JSON text followed at C speed.", -1, methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    kinds['"'] = QUOTE;
    kinds['['] = kinds['{'] = OPEN;
    kinds[']'] = kinds['}'] = CLOSE;
    kinds[','] = COMMA;
    return PyModule_Create(&module);
}
