/* A code point written as UTF-8, shared by the worker's C extensions (included by
 * formats/xlsx/_rows.c and reporttypes/facturacion/_lines.c). */
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

#endif
