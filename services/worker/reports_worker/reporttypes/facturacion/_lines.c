/* An invoice's lines priced and rendered at C speed: the common case of invoices.py's
 * _price_lines and report.py's InvoiceLines.details, exact to the cent.
 *
 * Lines(delimiter, decimal_comma, Decimal) keeps one batch's sums per currency and tax
 * rate. Its price_all(items_jsons, number_fields) takes a batch's invoices' items as their
 * raw JSON (each invoice decoded with them left raw, invoices.py's LeanInvoice: msgspec
 * building an Item and four Decimals per line was most of the decoding) and prices them
 * all with the GIL released: the deflate threads of the build's files, which need it for a
 * moment per chunk, go on meanwhile. take(index, currency) then gives one invoice's
 * (lines of facturas_detalle.csv, subtotal, tax, total, line count), the lines as UTF-8
 * bytes (a build checks each batch is UTF-8 before; they go to the file as they are), the
 * amounts as Decimals, and adds its lines to their sums; or None when the invoice is not the common
 * case: JSON the reader below leaves to msgspec, a number with an exponent, a sign or too
 * many digits for 128-bit integers, or a line the contract refuses. The caller then
 * decodes the items with msgspec and prices the invoice in Python (decimal), which say
 * exactly what is wrong, and adds its lines' sums here with add(). Nothing is counted for
 * an invoice not taken, or that take() returns None for or fails on. rates() gives the
 * sums, in order of first sight.
 * invoice() renders an invoice's line of facturas.csv (InvoiceLines.invoice in C), as UTF-8
 * bytes too.
 *
 * The arithmetic: each amount's text (as str of its Decimal writes it, the text the CSV
 * shows) is read as an integer coefficient and a number of decimals; the line's gross
 * amount is exact in 128 bits (the coefficients' digits are bounded first), the net and
 * the tax are rounded half up to cents, as decimal's ROUND_HALF_UP does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

#include "../../native/utf8.h"

typedef unsigned __int128 u128;

/* The bounds of invoices.py: amounts below 10**15, no finer than 20 decimals. */
#define MAX_AMOUNT_ADJUSTED 15
#define MIN_ADJUSTED (-20)
/* 10**38 < 2**128: a product of coefficients of 38 digits in all still fits. */
#define MAX_DIGITS 38

static u128 pow10_table[MAX_DIGITS + 1];

typedef struct {
    u128 coef;
    int scale;   /* digits after the point */
    int digits;  /* digits of coef (1 for zero) */
} Number;

/* The text of a Decimal as a Number: digits with at most one point, nothing else. */
static int
read_number(const char *text, Py_ssize_t size, Number *out)
{
    u128 coef = 0;
    int scale = -1, digits = 0, seen = 0;
    if (size == 0) {
        return 0;
    }
    for (Py_ssize_t at = 0; at < size; at++) {
        char c = text[at];
        if (c == '.') {
            if (scale >= 0) {
                return 0;
            }
            scale = 0;
            continue;
        }
        if (c < '0' || c > '9') {
            return 0; /* a sign, an exponent, NaN or Infinity: decimal says what it is */
        }
        if (scale >= 0) {
            scale++;
        }
        if (digits > 0 || c != '0') {
            if (++digits > MAX_DIGITS) {
                return 0;
            }
        }
        coef = coef * 10 + (u128)(c - '0');
        seen = 1;
    }
    if (!seen) {
        return 0;
    }
    out->coef = coef;
    out->scale = scale < 0 ? 0 : scale;
    out->digits = digits == 0 ? 1 : digits;
    return 1;
}

static int
adjusted(const Number *n)
{
    return n->digits - 1 - n->scale;
}

static int
count_digits(u128 value)
{
    int digits = 1;
    while (value >= 10) {
        value /= 10;
        digits++;
    }
    return digits;
}

/* ``coef`` with ``scale`` decimals, rounded half up to cents. */
static u128
to_cents(u128 coef, int scale)
{
    if (scale <= 2) {
        return coef * pow10_table[2 - scale];
    }
    u128 unit = pow10_table[scale - 2];
    u128 cents = coef / unit, rest = coef % unit;
    return rest * 2 >= unit ? cents + 1 : cents;
}

/* A piece of UTF-8 text (in the items' JSON, say); NULL: none (null or absent). */
typedef struct {
    const char *text;
    Py_ssize_t size;
} Text;

/* A number's text with the dialect's decimal mark. */
static int
put_number(Buffer *out, const char *text, Py_ssize_t size, int decimal_comma)
{
    if (!put(out, text, size)) {
        return 0;
    }
    if (decimal_comma) {
        char *point = memchr(out->data + out->size - size, '.', size);
        if (point != NULL) {
            *point = ',';
        }
    }
    return 1;
}

#define CENTS_TEXT 48

/* ``cents`` as an amount with two decimals, written at the end of ``text``; its start. */
static const char *
cents_text(char text[CENTS_TEXT], u128 cents, int decimal_comma)
{
    char *at = text + CENTS_TEXT;
    u128 units = cents / 100;
    unsigned rest = (unsigned)(cents % 100);
    *--at = (char)('0' + rest % 10);
    *--at = (char)('0' + rest / 10);
    *--at = decimal_comma ? ',' : '.';
    do {
        *--at = (char)('0' + (int)(units % 10));
        units /= 10;
    } while (units > 0);
    return at;
}

static int
put_cents(Buffer *out, u128 cents, int decimal_comma)
{
    char text[CENTS_TEXT];
    const char *start = cents_text(text, cents, decimal_comma);
    return put(out, start, text + CENTS_TEXT - start);
}

/* csv.py's CsvFields.text of UTF-8 text: a formula trigger neutralised, quoted if needed. */
static int
put_text_utf8(Buffer *out, const char *data, Py_ssize_t size, char delimiter)
{
    int quote = 0;
    for (Py_ssize_t at = 0; at < size; at++) {
        char c = data[at];
        if (c == delimiter || c == '"' || c == '\r' || c == '\n') {
            quote = 1;
            break;
        }
    }
    if (!grow(out, 2 * size + 3)) {
        return 0;
    }
    char *end = out->data + out->size;
    if (quote) {
        *end++ = '"';
    }
    if (size > 0 && data[0] != '\0' && strchr("=+-@\t\r\n", data[0]) != NULL) {
        *end++ = '\'';
    }
    for (Py_ssize_t at = 0; at < size; at++) {
        if (quote && data[at] == '"') {
            *end++ = '"';
        }
        *end++ = data[at];
    }
    if (quote) {
        *end++ = '"';
    }
    out->size = end - out->data;
    return 1;
}

/* csv.py's CsvFields.text: None empty, anything else as its str. */
static int
put_text(Buffer *out, PyObject *value, char delimiter)
{
    if (value == Py_None) {
        return 1;
    }
    PyObject *text = PyUnicode_CheckExact(value) ? Py_NewRef(value) : PyObject_Str(value);
    if (text == NULL) {
        return 0;
    }
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    int ok = data != NULL && put_text_utf8(out, data, size, delimiter);
    Py_DECREF(text);
    return ok;
}

/* The sums of one currency and tax rate. */
typedef struct {
    PyObject *currency;
    PyObject *rate;  /* the Decimal first seen */
    long long lines;
    u128 net, tax;
} Sums;

/* One line priced, waiting for its invoice to be taken whole. */
typedef struct {
    Text rate;        /* its tax rate's text, in the items' JSON or the scratch copy */
    Py_ssize_t sums;  /* index of its currency's and rate's sums */
    u128 net, tax;
} Priced;

/* A batch's lines priced, in order. */
typedef struct {
    Priced *data;
    Py_ssize_t size, room;
} PricedList;

/* An invoice of a batch priced by price_all, waiting for take(). */
typedef struct {
    Py_ssize_t start, end;    /* its lines' text, in the batch's text */
    Py_ssize_t first, count;  /* its lines, in the batch's list; no line: left to decimal */
    int taken;
} Pending;

/* A batch priced by price_all: what take() needs of it, kept until the next price_all. */
typedef struct {
    Py_buffer *views;  /* every invoice's items, held: the lines' rates point into them */
    Pending *pending;
    Py_ssize_t size;   /* invoices, and views held */
    char *scratch;     /* strings with escapes, unescaped, for every invoice */
    PricedList priced;
    Buffer text;
} Batch;

/* Keys of ``by_text`` kept in C too, the first few: a batch's lines share a handful, and
 * finding theirs here spares a string, a tuple and a dict lookup for every line. */
#define KNOWN_KEYS 32
#define KNOWN_TEXT 24

typedef struct {
    char currency[KNOWN_TEXT], rate[KNOWN_TEXT];
    Py_ssize_t currency_size, rate_size, index;
} Known;

typedef struct {
    PyObject_HEAD
    char delimiter;
    int decimal_comma;
    PyObject *decimal;    /* decimal.Decimal */
    PyObject *by_text;    /* (currency, rate's text) -> index in sums */
    PyObject *by_value;   /* (currency, rate) -> index in sums; 0.18 and 0.180 are one */
    Sums *sums;
    Py_ssize_t count, room;
    Batch batch;
    int busy;           /* price_all is pricing without the GIL */
    Known known[KNOWN_KEYS];
    int known_count;
} Lines;

/* Let go of the batch price_all kept (with the GIL). */
static void
batch_clear(Batch *batch)
{
    for (Py_ssize_t at = 0; at < batch->size; at++) {
        PyBuffer_Release(&batch->views[at]);
    }
    PyMem_RawFree(batch->views);
    PyMem_RawFree(batch->pending);
    PyMem_RawFree(batch->scratch);
    PyMem_RawFree(batch->priced.data);
    PyMem_RawFree(batch->text.data);
    memset(batch, 0, sizeof(Batch));
}

/* Whether the batch may be used: not while price_all prices it in another thread. */
static int
idle(Lines *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Lines is pricing a batch in another thread");
        return 0;
    }
    return 1;
}

static int
Lines_init(Lines *self, PyObject *args, PyObject *kwargs)
{
    const char *delimiter;
    Py_ssize_t size;
    int decimal_comma;
    PyObject *decimal;
    static char *keywords[] = {"delimiter", "decimal_comma", "decimal", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#pO:Lines", keywords, &delimiter, &size,
                                     &decimal_comma, &decimal)) {
        return -1;
    }
    if (size != 1) {
        PyErr_SetString(PyExc_ValueError, "the delimiter is one ASCII character");
        return -1;
    }
    if (!idle(self)) {
        return -1;
    }
    self->delimiter = delimiter[0];
    self->decimal_comma = decimal_comma;
    batch_clear(&self->batch);
    for (Py_ssize_t at = 0; at < self->count; at++) {  /* __init__ again: a fresh start */
        Py_CLEAR(self->sums[at].currency);
        Py_CLEAR(self->sums[at].rate);
    }
    self->count = 0;
    Py_XSETREF(self->decimal, Py_NewRef(decimal));
    Py_XSETREF(self->by_text, PyDict_New());
    Py_XSETREF(self->by_value, PyDict_New());
    self->known_count = 0;
    if (self->by_text == NULL || self->by_value == NULL) {
        return -1;
    }
    return 0;
}

static void
Lines_dealloc(Lines *self)
{
    for (Py_ssize_t at = 0; at < self->count; at++) {
        Py_DECREF(self->sums[at].currency);
        Py_DECREF(self->sums[at].rate);
    }
    PyMem_Free(self->sums);
    batch_clear(&self->batch);
    Py_XDECREF(self->decimal);
    Py_XDECREF(self->by_text);
    Py_XDECREF(self->by_value);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Index of the sums of ``currency`` and a rate given by its text (the fast key) and, if
 * known, as a Decimal (NULL: made from the text when the text is new), or -1. */
static Py_ssize_t
sums_of(Lines *self, PyObject *currency, PyObject *rate, PyObject *rate_text)
{
    PyObject *text_key = PyTuple_Pack(2, currency, rate_text);
    if (text_key == NULL) {
        return -1;
    }
    PyObject *found = PyDict_GetItemWithError(self->by_text, text_key);
    if (found != NULL) {
        Py_DECREF(text_key);
        return PyLong_AsSsize_t(found);
    }
    Py_ssize_t index = -1;
    PyObject *value_key = NULL, *number = NULL;
    if (PyErr_Occurred()) {
        goto done;
    }
    rate = rate != NULL ? Py_NewRef(rate) : PyObject_CallOneArg(self->decimal, rate_text);
    if (rate == NULL || (value_key = PyTuple_Pack(2, currency, rate)) == NULL) {
        goto done;
    }
    found = PyDict_GetItemWithError(self->by_value, value_key);
    if (found != NULL) {
        number = Py_NewRef(found);
    }
    else {
        if (PyErr_Occurred()) {
            goto done;
        }
        if (self->count == self->room) {
            Py_ssize_t room = self->room ? self->room * 2 : 16;
            Sums *sums = PyMem_Realloc(self->sums, room * sizeof(Sums));
            if (sums == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            self->sums = sums;
            self->room = room;
        }
        number = PyLong_FromSsize_t(self->count);
        if (number == NULL || PyDict_SetItem(self->by_value, value_key, number) < 0) {
            goto done;
        }
        Sums *sums = &self->sums[self->count++];
        sums->currency = Py_NewRef(currency);
        sums->rate = Py_NewRef(rate);
        sums->lines = 0;
        sums->net = sums->tax = 0;
    }
    if (PyDict_SetItem(self->by_text, text_key, number) == 0) {
        index = PyLong_AsSsize_t(number);
    }
done:
    Py_DECREF(text_key);
    Py_XDECREF(rate);
    Py_XDECREF(value_key);
    Py_XDECREF(number);
    return index;
}

/* Index of the sums of a currency and a rate's text found among the keys kept in C, or -1. */
static Py_ssize_t
known_sums(Lines *self, const Text *currency, const Text *rate)
{
    for (int at = 0; at < self->known_count; at++) {
        Known *known = &self->known[at];
        if (known->rate_size == rate->size && known->currency_size == currency->size
            && memcmp(known->rate, rate->text, rate->size) == 0
            && memcmp(known->currency, currency->text, currency->size) == 0) {
            return known->index;
        }
    }
    return -1;
}

static void
remember_sums(Lines *self, const Text *currency, const Text *rate, Py_ssize_t index)
{
    if (self->known_count == KNOWN_KEYS || currency->size > KNOWN_TEXT
        || rate->size > KNOWN_TEXT) {
        return;
    }
    Known *known = &self->known[self->known_count++];
    memcpy(known->currency, currency->text, currency->size);
    memcpy(known->rate, rate->text, rate->size);
    known->currency_size = currency->size;
    known->rate_size = rate->size;
    known->index = index;
}

/* Index of the sums of ``currency`` (``code``, its text) and a rate's text: among the keys
 * kept in C, else by sums_of (which makes them when new), then kept; or -1. */
static Py_ssize_t
text_sums(Lines *self, PyObject *currency, const Text *code, const Text *rate)
{
    Py_ssize_t index = known_sums(self, code, rate);
    if (index >= 0) {
        return index;
    }
    PyObject *rate_text = PyUnicode_FromStringAndSize(rate->text, rate->size);
    if (rate_text == NULL) {
        return -1;
    }
    index = sums_of(self, currency, NULL, rate_text);
    Py_DECREF(rate_text);
    if (index >= 0) {
        remember_sums(self, code, rate, index);
    }
    return index;
}

static int
put_unicode(Buffer *out, PyObject *text, int number, int decimal_comma)
{
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    if (data == NULL) {
        return 0;
    }
    return number ? put_number(out, data, size, decimal_comma) : put(out, data, size);
}

static PyObject *
decimal_of_cents(Lines *self, u128 cents)
{
    char text[CENTS_TEXT];
    const char *start = cents_text(text, cents, 0);
    PyObject *string = PyUnicode_FromStringAndSize(start, text + CENTS_TEXT - start);
    if (string == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallOneArg(self->decimal, string);
    Py_DECREF(string);
    return result;
}

/* ---- An invoice's items read from their JSON ----
 *
 * The items as msgspec would decode them into invoices.py's Item, in the common case only:
 * an array of objects whose amounts are plain numbers (digits, at most one point: no sign,
 * no exponent) given as JSON numbers or strings, sku a string, an integer or null,
 * description a string or null, other keys skipped. Anything else (a duplicate key, an
 * amount decimal would write otherwise, a wrong type) is left to msgspec and decimal,
 * which say what is wrong. Every reader answers 1 (read) or 0 (not the common case).
 * In a build the items are msgspec's Raw, their syntax and the batch's UTF-8 checked
 * already; given other bytes, the reader still refuses what is not JSON where it reads a
 * value, and text that is not UTF-8 goes into the lines as it is. */

enum { QUANTITY, UNIT_PRICE, DISCOUNT, TAX_RATE, SKU, DESCRIPTION, FIELDS };

/* The keys, as invoices.py's Item is renamed (camelCase), in the order of the enum. */
static const char *const field_names[FIELDS] = {
    "quantity", "unitPrice", "discount", "taxRate", "sku", "description",
};

/* Deeper than this, an unknown key's value is left to msgspec. */
#define MAX_SKIP_DEPTH 32

typedef struct {
    const char *at, *end;
    char *scratch;  /* strings with escapes, unescaped: never longer than they were */
    Py_ssize_t used;
} Reader;

typedef struct {
    Number numbers[4];  /* QUANTITY to TAX_RATE */
    Text amounts[4];    /* their texts, as str() of their Decimals writes them */
    Text sku, description;
} Item;

static void
skip_space(Reader *in)
{
    while (in->at < in->end
           && (*in->at == ' ' || *in->at == '\n' || *in->at == '\r' || *in->at == '\t')) {
        in->at++;
    }
}

static int
take(Reader *in, char c)
{
    skip_space(in);
    if (in->at < in->end && *in->at == c) {
        in->at++;
        return 1;
    }
    return 0;
}

/* The literal ``word`` (true, false or null), after any space. */
static int
take_word(Reader *in, const char *word)
{
    skip_space(in);
    size_t size = strlen(word);
    if ((size_t)(in->end - in->at) >= size && memcmp(in->at, word, size) == 0) {
        in->at += size;
        return 1;
    }
    return 0;
}

static int
hex4(const char *at, unsigned *value)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = at[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        }
        else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        }
        else {
            return 0;
        }
    }
    *value = v;
    return 1;
}

/* A string (the reader past its opening quote) as UTF-8: in place, or unescaped into the
 * scratch copy. ``escaped`` tells which. A lone surrogate is left to msgspec. */
static int
read_string(Reader *in, Text *out, int *escaped)
{
    const char *start = in->at, *at = start;
    while (at < in->end && *at != '"' && *at != '\\' && (unsigned char)*at >= 0x20) {
        at++;
    }
    if (at < in->end && *at == '"') {
        out->text = start;
        out->size = at - start;
        in->at = at + 1;
        *escaped = 0;
        return 1;
    }
    char *copy = in->scratch + in->used, *to = copy;
    memcpy(to, start, at - start);
    to += at - start;
    while (at < in->end) {
        char c = *at;
        if (c == '"') {
            out->text = copy;
            out->size = to - copy;
            in->used += to - copy;
            in->at = at + 1;
            *escaped = 1;
            return 1;
        }
        if ((unsigned char)c < 0x20) {
            return 0;
        }
        if (c != '\\') {
            *to++ = c;
            at++;
            continue;
        }
        if (in->end - at < 2) {
            return 0;
        }
        char kind = at[1];
        at += 2;
        switch (kind) {
        case '"': *to++ = '"'; break;
        case '\\': *to++ = '\\'; break;
        case '/': *to++ = '/'; break;
        case 'b': *to++ = '\b'; break;
        case 'f': *to++ = '\f'; break;
        case 'n': *to++ = '\n'; break;
        case 'r': *to++ = '\r'; break;
        case 't': *to++ = '\t'; break;
        case 'u': {
            unsigned code, low;
            if (in->end - at < 4 || !hex4(at, &code)) {
                return 0;
            }
            at += 4;
            if (code >= 0xDC00 && code <= 0xDFFF) {
                return 0;
            }
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (in->end - at < 6 || at[0] != '\\' || at[1] != 'u' || !hex4(at + 2, &low)
                    || low < 0xDC00 || low > 0xDFFF) {
                    return 0;
                }
                at += 6;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            to = put_utf8(to, code);
            break;
        }
        default:
            return 0;
        }
    }
    return 0;
}

/* A JSON number's digits: an integer part without leading zeros, then maybe a point and
 * decimals; ``*point`` tells whether it had one. Signs and exponents are not read. */
static int
read_digits(const char *at, const char *end, const char **stop, int *point)
{
    const char *start = at;
    while (at < end && *at >= '0' && *at <= '9') {
        at++;
    }
    if (at == start || (*start == '0' && at - start > 1)) {
        return 0;
    }
    *point = 0;
    if (at < end && *at == '.') {
        const char *decimals = ++at;
        while (at < end && *at >= '0' && *at <= '9') {
            at++;
        }
        if (at == decimals) {
            return 0;
        }
        *point = 1;
    }
    *stop = at;
    return 1;
}

/* An amount: a number, or a string holding one, whose Decimal's str() is the same text
 * (no exponent: decimal writes one below 1E-6, as in 0.0000001 or 0.00000000). */
static int
read_amount(Reader *in, Number *number, Text *text)
{
    skip_space(in);
    if (in->at >= in->end) {
        return 0;
    }
    const char *stop;
    int point, escaped;
    if (*in->at == '"') {
        in->at++;
        if (!read_string(in, text, &escaped) || escaped
            || !read_digits(text->text, text->text + text->size, &stop, &point)
            || stop != text->text + text->size) {
            return 0;
        }
    }
    else {
        if (!read_digits(in->at, in->end, &stop, &point)
            || (stop < in->end && (*stop == 'e' || *stop == 'E'))) {
            return 0;
        }
        text->text = in->at;
        text->size = stop - in->at;
        in->at = stop;
    }
    return read_number(text->text, text->size, number) && adjusted(number) >= -6;
}

/* An item's sku or description: a string, null, or (``integer``) an integer that str()
 * writes as JSON does (not -0, and short enough to be an ordinary int). */
static int
read_text(Reader *in, Text *text, int integer)
{
    skip_space(in);
    if (in->at >= in->end) {
        return 0;
    }
    int escaped, point;
    if (*in->at == '"') {
        in->at++;
        return read_string(in, text, &escaped);
    }
    if (take_word(in, "null")) {
        text->text = NULL;
        return 1;
    }
    if (!integer) {
        return 0;
    }
    const char *start = in->at, *digits = start + (*start == '-'), *stop;
    if (!read_digits(digits, in->end, &stop, &point) || point || stop - digits > 18
        || (stop < in->end && (*stop == 'e' || *stop == 'E'))
        || (digits != start && stop - digits == 1 && *digits == '0')) {
        return 0;
    }
    text->text = start;
    text->size = stop - start;
    in->at = stop;
    return 1;
}

/* Past any value (an unknown key's): strings, numbers, literals, arrays, objects. */
static int
skip_value(Reader *in, int depth)
{
    skip_space(in);
    if (in->at >= in->end || depth > MAX_SKIP_DEPTH) {
        return 0;
    }
    char c = *in->at;
    if (c == '"') {
        in->at++;
        Text ignored;
        int escaped;
        return read_string(in, &ignored, &escaped);
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        in->at++;
        if (take(in, close)) {
            return 1;
        }
        do {
            Text key;
            int escaped;
            if (c == '{'
                && !(take(in, '"') && read_string(in, &key, &escaped) && take(in, ':'))) {
                return 0;
            }
            if (!skip_value(in, depth + 1)) {
                return 0;
            }
        } while (take(in, ','));
        return take(in, close);
    }
    if (take_word(in, "true") || take_word(in, "false") || take_word(in, "null")) {
        return 1;
    }
    /* A number: -?digits[.digits][(e|E)[+-]digits] */
    const char *stop;
    int point;
    in->at += *in->at == '-';
    if (!read_digits(in->at, in->end, &stop, &point)) {
        return 0;
    }
    in->at = stop;
    if (in->at < in->end && (*in->at == 'e' || *in->at == 'E')) {
        in->at++;
        in->at += in->at < in->end && (*in->at == '+' || *in->at == '-');
        const char *digits = in->at;
        while (in->at < in->end && *in->at >= '0' && *in->at <= '9') {
            in->at++;
        }
        return in->at > digits;
    }
    return 1;
}

/* One item: its amounts, sku and description (the reader at its opening brace). */
static int
read_item(Reader *in, Item *item)
{
    if (!take(in, '{')) {
        return 0;
    }
    int seen = 0, no_discount = 0;
    item->sku.text = item->description.text = NULL;
    if (!take(in, '}')) {
        do {
            Text key;
            int escaped, field = FIELDS;
            if (!take(in, '"') || !read_string(in, &key, &escaped) || escaped
                || !take(in, ':')) {
                return 0;
            }
            for (int at = 0; at < FIELDS; at++) {
                if ((Py_ssize_t)strlen(field_names[at]) == key.size
                    && memcmp(field_names[at], key.text, key.size) == 0) {
                    field = at;
                    break;
                }
            }
            if (field == FIELDS) {
                if (!skip_value(in, 0)) {
                    return 0;
                }
                continue;
            }
            if (seen & (1 << field)) {
                return 0; /* msgspec keeps the last: it decides */
            }
            seen |= 1 << field;
            int read;
            if (field == SKU || field == DESCRIPTION) {
                read = read_text(in, field == SKU ? &item->sku : &item->description,
                                 field == SKU);
            }
            else if (field == DISCOUNT && take_word(in, "null")) {
                no_discount = read = 1;
            }
            else {
                read = read_amount(in, &item->numbers[field], &item->amounts[field]);
            }
            if (!read) {
                return 0;
            }
        } while (take(in, ','));
        if (!take(in, '}')) {
            return 0;
        }
    }
    int required = (1 << QUANTITY) | (1 << UNIT_PRICE) | (1 << TAX_RATE);
    if ((seen & required) != required) {
        return 0;
    }
    if (no_discount || !(seen & (1 << DISCOUNT))) {
        item->numbers[DISCOUNT] = (Number){0, 0, 1};
        item->amounts[DISCOUNT] = (Text){"0", 1};
    }
    return 1;
}

/* A line's net amount and tax in cents, exact, or 0 when decimal must price it (a bound
 * broken, a discount larger than the line, more digits than 128 bits hold). */
static int
price_amounts(const Number *numbers, u128 *net_cents, u128 *tax_cents)
{
    const Number *quantity = &numbers[QUANTITY], *price = &numbers[UNIT_PRICE],
                 *discount = &numbers[DISCOUNT], *rate = &numbers[TAX_RATE];
    for (int at = 0; at < 4; at++) {
        if (adjusted(&numbers[at]) < MIN_ADJUSTED) {
            return 0;
        }
    }
    /* 0 < quantity < 10**15, 0 <= price and discount < 10**15, 0 <= rate <= 1 */
    if (quantity->coef == 0 || adjusted(quantity) >= MAX_AMOUNT_ADJUSTED
        || (price->coef != 0 && adjusted(price) >= MAX_AMOUNT_ADJUSTED)
        || (discount->coef != 0 && adjusted(discount) >= MAX_AMOUNT_ADJUSTED)
        || rate->scale > MAX_DIGITS || rate->coef > pow10_table[rate->scale]) {
        return 0;
    }
    if (quantity->digits + price->digits > MAX_DIGITS) {
        return 0;
    }
    u128 gross = quantity->coef * price->coef;
    int scale = quantity->scale + price->scale;
    if (discount->coef != 0) {
        int common = scale > discount->scale ? scale : discount->scale;
        if (count_digits(gross) + common - scale > MAX_DIGITS
            || discount->digits + common - discount->scale > MAX_DIGITS) {
            return 0;
        }
        u128 whole = gross * pow10_table[common - scale];
        u128 off = discount->coef * pow10_table[common - discount->scale];
        if (off > whole) {
            return 0; /* the discount is larger than the line */
        }
        gross = whole - off;
        scale = common;
    }
    if (scale > MAX_DIGITS || (scale < 2 && count_digits(gross) + 2 - scale > MAX_DIGITS)) {
        return 0;
    }
    u128 net = to_cents(gross, scale);
    if (net >= pow10_table[MAX_AMOUNT_ADJUSTED + 2]) {
        return 0; /* the line's amount is too large */
    }
    if (count_digits(net) + rate->digits > MAX_DIGITS) {
        return 0;
    }
    *net_cents = net;
    *tax_cents = to_cents(net * rate->coef, 2 + rate->scale);
    return 1;
}

static int
put_field(Buffer *out, const Text *text, char delimiter)
{
    return text->text == NULL || put_text_utf8(out, text->text, text->size, delimiter);
}

/* The item's line of facturas_detalle.csv. */
static int
put_line(Lines *self, Buffer *out, const Text *number_field, Py_ssize_t position,
         const Item *item, u128 net, u128 tax)
{
    char delimiter = self->delimiter;
    char number[32];
    int written = snprintf(number, sizeof(number), "%c%zd%c", delimiter, position, delimiter);
    int ok = put(out, number_field->text, number_field->size) && put(out, number, written)
             && put_field(out, &item->sku, delimiter) && put(out, &delimiter, 1)
             && put_field(out, &item->description, delimiter);
    static const int order[4] = {QUANTITY, UNIT_PRICE, DISCOUNT, TAX_RATE};
    for (int at = 0; ok && at < 4; at++) {
        const Text *amount = &item->amounts[order[at]];
        ok = put(out, &delimiter, 1)
             && put_number(out, amount->text, amount->size, self->decimal_comma);
    }
    return ok && put(out, &delimiter, 1) && put_cents(out, net, self->decimal_comma)
           && put(out, &delimiter, 1) && put_cents(out, tax, self->decimal_comma)
           && put(out, "\r\n", 2);
}

/* Whether __init__ ran (Lines.__new__ alone leaves the dicts unset). */
static int
ready(Lines *self)
{
    if (self->by_text == NULL || self->by_value == NULL || self->decimal == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Lines was not initialised");
        return 0;
    }
    return 1;
}

/* Every item read, priced and rendered into ``out`` (a quiet buffer), their lines after
 * the ``lines`` there are (which it does not count): the count, 0 when decimal must take
 * the invoice, or -1 when out of memory (nothing raised: it runs without the GIL). */
static Py_ssize_t
price_items(Lines *self, Reader *in, const Text *number_field, Buffer *out, PricedList *lines)
{
    Py_ssize_t count = 0;
    if (!take(in, '[') || take(in, ']')) {
        return 0; /* not a list, or an empty one: msgspec says so */
    }
    do {
        if (lines->size + count == lines->room) {
            Py_ssize_t room = lines->room ? lines->room * 2 : 16;
            Priced *priced = PyMem_RawRealloc(lines->data, room * sizeof(Priced));
            if (priced == NULL) {
                return -1;
            }
            lines->data = priced;
            lines->room = room;
        }
        Item item;
        Priced *line = &lines->data[lines->size + count];
        if (!read_item(in, &item) || !price_amounts(item.numbers, &line->net, &line->tax)) {
            return 0;
        }
        if (!put_line(self, out, number_field, ++count, &item, line->net, line->tax)) {
            return -1;
        }
        line->rate = item.amounts[TAX_RATE];
    } while (take(in, ','));
    if (!take(in, ']')) {
        return 0;
    }
    skip_space(in);
    return in->at == in->end ? count : 0;
}

/* An invoice's result, its ``count`` lines priced and their ``text`` rendered: (text,
 * subtotal, tax, total, count), its lines added to their sums; NULL on an error. */
static PyObject *
priced_invoice(Lines *self, PyObject *currency, const char *text, Py_ssize_t size,
               Priced *lines, Py_ssize_t count)
{
    Text code = {NULL, 0};
    code.text = PyUnicode_AsUTF8AndSize(currency, &code.size);
    if (code.text == NULL) {
        return NULL;
    }
    /* The result made, every line's sums found, and only then the lines counted: nothing
     * is counted for an invoice this call fails for. */
    u128 subtotal = 0, tax = 0;
    for (Py_ssize_t at = 0; at < count; at++) {
        subtotal += lines[at].net;
        tax += lines[at].tax;
    }
    PyObject *result = NULL;
    PyObject *rendered = PyBytes_FromStringAndSize(text, size);
    PyObject *amounts[3] = {NULL, NULL, NULL};
    u128 cents[3] = {subtotal, tax, subtotal + tax};
    int made = rendered != NULL;
    for (int at = 0; made && at < 3; at++) {
        made = (amounts[at] = decimal_of_cents(self, cents[at])) != NULL;
    }
    if (made) {
        result = Py_BuildValue("(OOOOn)", rendered, amounts[0], amounts[1], amounts[2], count);
    }
    Py_XDECREF(rendered);
    for (int at = 0; at < 3; at++) {
        Py_XDECREF(amounts[at]);
    }
    for (Py_ssize_t at = 0; result != NULL && at < count; at++) {
        lines[at].sums = text_sums(self, currency, &code, &lines[at].rate);
        if (lines[at].sums < 0) {
            Py_CLEAR(result);
        }
    }
    for (Py_ssize_t at = 0; result != NULL && at < count; at++) {
        Sums *sums = &self->sums[lines[at].sums];
        sums->lines++;
        sums->net += lines[at].net;
        sums->tax += lines[at].tax;
    }
    return result;
}

/* price_all's pricing, without the GIL: every invoice of the batch, its lines' text after
 * the last one's; 0, or -1 when out of memory. */
static int
price_batch(Lines *self, const Text *numbers)
{
    Batch *batch = &self->batch;
    batch->text.quiet = 1;
    char *scratch = batch->scratch;
    for (Py_ssize_t at = 0; at < batch->size; at++) {
        Py_buffer *view = &batch->views[at];
        Pending *pending = &batch->pending[at];
        Reader in = {view->buf, (const char *)view->buf + view->len, scratch, 0};
        scratch += view->len + 1;
        pending->start = batch->text.size;
        pending->first = batch->priced.size;
        Py_ssize_t count = price_items(self, &in, &numbers[at], &batch->text, &batch->priced);
        if (count < 0) {
            return -1;
        }
        if (count == 0) {
            batch->text.size = pending->start; /* what it rendered before it stopped */
        }
        pending->end = batch->text.size;
        pending->count = count;
        batch->priced.size += count;
    }
    return 0;
}

static PyObject *
Lines_price_all(Lines *self, PyObject *args)
{
    PyObject *items, *numbers;
    if (!ready(self) || !idle(self)) {
        return NULL;
    }
    Batch *batch = &self->batch;
    batch_clear(batch); /* the batch before is gone, whatever this call's outcome */
    if (!PyArg_ParseTuple(args, "O!O!:price_all", &PyList_Type, &items, &PyList_Type,
                          &numbers)) {
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(items);
    if (PyList_GET_SIZE(numbers) != size) {
        PyErr_SetString(PyExc_ValueError, "price_all takes as many number fields as items");
        return NULL;
    }
    Py_ssize_t room = size ? size : 1, scratch = 1;
    /* The number fields' strings, held while their UTF-8 is read without the GIL. */
    PyObject *held = PyList_GetSlice(numbers, 0, size);
    Text *texts = PyMem_RawCalloc(room, sizeof(Text));
    batch->views = PyMem_RawCalloc(room, sizeof(Py_buffer));
    batch->pending = PyMem_RawCalloc(room, sizeof(Pending));
    if (held == NULL || texts == NULL || batch->views == NULL || batch->pending == NULL) {
        if (held != NULL) {
            PyErr_NoMemory();
        }
        goto failed;
    }
    for (Py_ssize_t at = 0; at < size; at++) {
        PyObject *number = PyList_GET_ITEM(held, at);
        if (!PyUnicode_Check(number)) {
            PyErr_Format(PyExc_TypeError, "a number field is a str, not %.80s",
                         Py_TYPE(number)->tp_name);
            goto failed;
        }
        texts[at].text = PyUnicode_AsUTF8AndSize(number, &texts[at].size);
        if (texts[at].text == NULL
            || PyObject_GetBuffer(PyList_GET_ITEM(items, at), &batch->views[at], PyBUF_SIMPLE)
                   < 0) {
            goto failed;
        }
        batch->size++;
        scratch += batch->views[at].len + 1;
    }
    batch->scratch = PyMem_RawMalloc(scratch);
    if (batch->scratch == NULL) {
        PyErr_NoMemory();
        goto failed;
    }
    int priced;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    priced = price_batch(self, texts);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (priced < 0) {
        PyErr_NoMemory();
        goto failed;
    }
    PyMem_RawFree(texts);
    Py_DECREF(held);
    Py_RETURN_NONE;
failed:
    batch_clear(batch);
    PyMem_RawFree(texts);
    Py_XDECREF(held);
    return NULL;
}

static PyObject *
Lines_take(Lines *self, PyObject *args)
{
    Py_ssize_t index;
    PyObject *currency;
    if (!ready(self) || !idle(self) || !PyArg_ParseTuple(args, "nU:take", &index, &currency)) {
        return NULL;
    }
    Batch *batch = &self->batch;
    if (index < 0 || index >= batch->size) {
        PyErr_Format(PyExc_IndexError, "no invoice %zd in the batch priced", index);
        return NULL;
    }
    Pending *pending = &batch->pending[index];
    if (pending->taken) {
        PyErr_Format(PyExc_RuntimeError, "invoice %zd of the batch was taken already", index);
        return NULL;
    }
    pending->taken = 1;
    if (pending->count == 0) {
        Py_RETURN_NONE;
    }
    return priced_invoice(self, currency, batch->text.data + pending->start,
                          pending->end - pending->start, batch->priced.data + pending->first,
                          pending->count);
}

/* The cents of a Decimal already rounded to cents (``str`` has two decimals). */
static int
cents_of(Lines *self, PyObject *amount, u128 *cents)
{
    PyObject *text = PyObject_Str(amount);
    if (text == NULL) {
        return 0;
    }
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    Number number;
    /* A zero may carry a sign: decimal keeps it (a unit price of -0.0 is not below 0, and
     * the line's net is then -0.00); it adds nothing to a sum either way. */
    int negative = data != NULL && size > 0 && data[0] == '-';
    int ok = data != NULL && read_number(data + negative, size - negative, &number)
             && number.scale == 2 && (!negative || number.coef == 0);
    Py_DECREF(text);
    if (!ok) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "not an amount in cents of at least 0: %R", amount);
        }
        return 0;
    }
    *cents = number.coef;
    return 1;
}

static PyObject *
Lines_add(Lines *self, PyObject *args)
{
    if (!ready(self)) {
        return NULL;
    }
    PyObject *currency, *rate, *net, *tax;
    if (!PyArg_ParseTuple(args, "UOOO:add", &currency, &rate, &net, &tax)) {
        return NULL;
    }
    u128 net_cents, tax_cents;
    if (!cents_of(self, net, &net_cents) || !cents_of(self, tax, &tax_cents)) {
        return NULL;
    }
    PyObject *rate_text = PyObject_Str(rate);
    if (rate_text == NULL) {
        return NULL;
    }
    Py_ssize_t index = sums_of(self, currency, rate, rate_text);
    Py_DECREF(rate_text);
    if (index < 0) {
        return NULL;
    }
    Sums *sums = &self->sums[index];
    sums->lines++;
    sums->net += net_cents;
    sums->tax += tax_cents;
    Py_RETURN_NONE;
}

static PyObject *
Lines_rates(Lines *self, PyObject *Py_UNUSED(ignored))
{
    if (!ready(self)) {
        return NULL;
    }
    PyObject *list = PyList_New(self->count);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t at = 0; at < self->count; at++) {
        Sums *sums = &self->sums[at];
        PyObject *net = decimal_of_cents(self, sums->net);
        PyObject *tax = decimal_of_cents(self, sums->tax);
        PyObject *entry = NULL;
        if (net != NULL && tax != NULL) {
            entry = Py_BuildValue("(OOLOO)", sums->currency, sums->rate, sums->lines, net, tax);
        }
        Py_XDECREF(net);
        Py_XDECREF(tax);
        if (entry == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, at, entry);
    }
    return list;
}

/* An amount rounded to cents (no exponent, then) with the dialect's decimal mark. */
static int
put_amount(Buffer *out, PyObject *amount, int decimal_comma)
{
    PyObject *text = PyObject_Str(amount);
    if (text == NULL) {
        return 0;
    }
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size);
    int ok = 0;
    if (data != NULL) {
        if (memchr(data, 'E', size) != NULL) {
            PyErr_Format(PyExc_ValueError, "not an amount in cents: %R", amount);
        }
        else {
            ok = put_number(out, data, size, decimal_comma);
        }
    }
    Py_DECREF(text);
    return ok;
}

static PyObject *
Lines_invoice(Lines *self, PyObject *args)
{
    if (!ready(self)) {
        return NULL;
    }
    PyObject *number_field, *issued, *currency, *tax_id, *name, *email, *amounts[3];
    Py_ssize_t count;
    if (!PyArg_ParseTuple(args, "UO!UOOOnOOO:invoice", &number_field, PyDateTimeAPI->DateType,
                          &issued, &currency, &tax_id, &name, &email, &count, &amounts[0],
                          &amounts[1], &amounts[2])) {
        return NULL;
    }
    char delimiter = self->delimiter;
    char date[32];
    int written = snprintf(date, sizeof(date), "%c%04d-%02d-%02d%c", delimiter,
                           PyDateTime_GET_YEAR(issued), PyDateTime_GET_MONTH(issued),
                           PyDateTime_GET_DAY(issued), delimiter);
    char lines[32];
    int counted = snprintf(lines, sizeof(lines), "%c%zd", delimiter, count);
    Buffer out = {0};
    PyObject *result = NULL;
    int ok = put_unicode(&out, number_field, 0, 0) && put(&out, date, written)
             && put_unicode(&out, currency, 0, 0) && put(&out, &delimiter, 1)
             && put_text(&out, tax_id, delimiter) && put(&out, &delimiter, 1)
             && put_text(&out, name, delimiter) && put(&out, &delimiter, 1)
             && put_text(&out, email, delimiter) && put(&out, lines, counted);
    for (int at = 0; ok && at < 3; at++) {
        ok = put(&out, &delimiter, 1) && put_amount(&out, amounts[at], self->decimal_comma);
    }
    if (ok && put(&out, "\r\n", 2)) {
        result = PyBytes_FromStringAndSize(out.data, out.size);
    }
    PyMem_RawFree(out.data);
    return result;
}

static PyMethodDef Lines_methods[] = {
    {"invoice", (PyCFunction)Lines_invoice, METH_VARARGS,
     "invoice(number_field, issued, currency, tax_id, name, email, lines, subtotal, tax, "
     "total) -> the invoice's line of facturas.csv, UTF-8 (amounts rounded to cents)"},
    {"price_all", (PyCFunction)Lines_price_all, METH_VARARGS,
     "price_all(items_jsons, number_fields): price a batch's invoices at once, without the "
     "GIL; take() gives each one's result"},
    {"take", (PyCFunction)Lines_take, METH_VARARGS,
     "take(index, currency) -> (csv_lines as UTF-8, subtotal, tax, total, lines) | None for "
     "the batch's invoice ``index``, its lines added to their sums (once)"},
    {"add", (PyCFunction)Lines_add, METH_VARARGS,
     "add(currency, rate, net, tax): a line priced elsewhere, added to its rate's sums"},
    {"rates", (PyCFunction)Lines_rates, METH_NOARGS,
     "rates() -> [(currency, rate, lines, net, tax)], in order of first sight"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LinesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "reports_worker.reporttypes.facturacion._lines.Lines",
    .tp_basicsize = sizeof(Lines),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One batch's invoice lines priced and rendered, and their sums per tax rate.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lines_init,
    .tp_dealloc = (destructor)Lines_dealloc,
    .tp_methods = Lines_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_lines",
    .m_doc = "Invoice lines priced and rendered at C speed.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__lines(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) {
        return NULL;
    }
    pow10_table[0] = 1;
    for (int at = 1; at <= MAX_DIGITS; at++) {
        pow10_table[at] = pow10_table[at - 1] * 10;
    }
    if (PyType_Ready(&LinesType) < 0) {
        return NULL;
    }
    PyObject *created = PyModule_Create(&module);
    if (created == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(created, "Lines", (PyObject *)&LinesType) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
