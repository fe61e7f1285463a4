/* UTF-8 writing shared by the worker's C extensions (included by formats/xlsx/_rows.c and
 * reporttypes/facturacion/_lines.c): a code point as UTF-8, and a growable buffer. */
#ifndef REPORTS_WORKER_UTF8_H
#define REPORTS_WORKER_UTF8_H

/* ``code`` (not a surrogate) as UTF-8 at ``to``; past what it wrote. */
static inline char *
put_utf8(char *to, unsigned code)
{
    if (code < 0x80) {
        *to++ = (char)code;
    }
    else if (code < 0x800) {
        *to++ = (char)(0xC0 | (code >> 6));
        *to++ = (char)(0x80 | (code & 0x3F));
    }
    else if (code < 0x10000) {
        *to++ = (char)(0xE0 | (code >> 12));
        *to++ = (char)(0x80 | ((code >> 6) & 0x3F));
        *to++ = (char)(0x80 | (code & 0x3F));
    }
    else {
        *to++ = (char)(0xF0 | (code >> 18));
        *to++ = (char)(0x80 | ((code >> 12) & 0x3F));
        *to++ = (char)(0x80 | ((code >> 6) & 0x3F));
        *to++ = (char)(0x80 | (code & 0x3F));
    }
    return to;
}

/* A growable buffer. Its memory comes from the raw allocator, which needs no GIL; a
 * ``quiet`` buffer (written without the GIL) only notes that it could not grow. A zeroed
 * one starts empty; a ``borrowed`` one starts in its caller's memory (a row on the stack)
 * and moves to the heap when it outgrows it (never freed while borrowed). */
typedef struct {
    char *data;
    Py_ssize_t size, room;
    int quiet, borrowed;
} Buffer;

static int
grow(Buffer *out, Py_ssize_t more)
{
    if (out->size + more <= out->room) {
        return 1;
    }
    char *data = NULL;
    Py_ssize_t room = out->room ? out->room : 1024;
    if (more <= PY_SSIZE_T_MAX / 2 - out->size) {
        while (room < out->size + more) {
            room *= 2;
        }
        data = out->borrowed ? PyMem_RawMalloc(room) : PyMem_RawRealloc(out->data, room);
    }
    if (data == NULL) {
        if (!out->quiet) {
            PyErr_NoMemory();
        }
        return 0;
    }
    if (out->borrowed) {
        memcpy(data, out->data, out->size);
        out->borrowed = 0;
    }
    out->data = data;
    out->room = room;
    return 1;
}

/* ``size`` bytes of ``text`` appended. */
static int
put(Buffer *out, const char *text, Py_ssize_t size)
{
    if (!grow(out, size)) {
        return 0;
    }
    memcpy(out->data + out->size, text, size);
    out->size += size;
    return 1;
}

#endif
