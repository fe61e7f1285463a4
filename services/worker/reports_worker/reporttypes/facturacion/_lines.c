/* An invoice's lines priced and rendered at C speed: the common case of invoices.py's
 * _price_lines and report.py's InvoiceLines.details, exact to the cent.
 *
 * Lines(delimiter, decimal_comma, Decimal) keeps one batch's sums per currency and tax
 * rate. Its price(items, number_field, currency) takes an invoice's items (msgspec
 * Structs) and returns (lines of facturas_detalle.csv, subtotal, tax, total), the amounts
 * as Decimals, or None when the invoice is not the common case: a number with an
 * exponent, a sign or too many digits for 128-bit integers, or a line the contract
 * refuses. The caller then prices that invoice in Python (decimal), which says exactly
 * what is wrong, and adds its lines' sums here with add(). Nothing is counted for an
 * invoice price() returns None for. rates() gives the sums, in order of first sight.
 * invoice() renders an invoice's line of facturas.csv (InvoiceLines.invoice in C).
 *
 * The arithmetic: each amount's text (str of its Decimal, the text the CSV shows) is
 * read as an integer coefficient and a number of decimals; the line's gross amount is
 * exact in 128 bits (the coefficients' digits are bounded first), the net and the tax
 * are rounded half up to cents, as decimal's ROUND_HALF_UP does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

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

/* A growable UTF-8 buffer. */
typedef struct {
    char *data;
    Py_ssize_t size, room;
} Buffer;

static int
grow(Buffer *out, Py_ssize_t more)
{
    if (out->size + more <= out->room) {
        return 1;
    }
    Py_ssize_t room = out->room ? out->room : 1024;
    while (room < out->size + more) {
        room *= 2;
    }
    char *data = PyMem_Realloc(out->data, room);
    if (data == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    out->data = data;
    out->room = room;
    return 1;
}

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

static int
put_cents(Buffer *out, u128 cents, int decimal_comma)
{
    char text[48];
    int at = sizeof(text);
    u128 units = cents / 100;
    unsigned rest = (unsigned)(cents % 100);
    text[--at] = (char)('0' + rest % 10);
    text[--at] = (char)('0' + rest / 10);
    text[--at] = decimal_comma ? ',' : '.';
    do {
        text[--at] = (char)('0' + (int)(units % 10));
        units /= 10;
    } while (units > 0);
    return put(out, text + at, sizeof(text) - at);
}

/* csv.py's CsvFields.text: None empty, a formula trigger neutralised, quoted if needed. */
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
    if (data == NULL) {
        Py_DECREF(text);
        return 0;
    }
    int quote = 0;
    for (Py_ssize_t at = 0; at < size; at++) {
        char c = data[at];
        if (c == delimiter || c == '"' || c == '\r' || c == '\n') {
            quote = 1;
            break;
        }
    }
    int ok = grow(out, 2 * size + 3);
    if (ok) {
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
    }
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
    PyObject *rate;       /* the item's, owned */
    PyObject *rate_text;  /* owned */
    u128 net, tax;
} Priced;

typedef struct {
    PyObject_HEAD
    char delimiter;
    int decimal_comma;
    PyObject *decimal;    /* decimal.Decimal */
    PyObject *by_text;    /* (currency, rate's text) -> index in sums */
    PyObject *by_value;   /* (currency, rate) -> index in sums; 0.18 and 0.180 are one */
    Sums *sums;
    Py_ssize_t count, room;
    Priced *priced;
    Py_ssize_t priced_room;
} Lines;

static PyObject *name_quantity, *name_unit_price, *name_tax_rate, *name_discount, *name_sku,
    *name_description;

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
    self->delimiter = delimiter[0];
    self->decimal_comma = decimal_comma;
    Py_XSETREF(self->decimal, Py_NewRef(decimal));
    Py_XSETREF(self->by_text, PyDict_New());
    Py_XSETREF(self->by_value, PyDict_New());
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
    PyMem_Free(self->priced);
    Py_XDECREF(self->decimal);
    Py_XDECREF(self->by_text);
    Py_XDECREF(self->by_value);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Index of the sums of ``currency`` and ``rate`` (its text: the fast key), or -1. */
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
    if (PyErr_Occurred() || (value_key = PyTuple_Pack(2, currency, rate)) == NULL) {
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
    Py_XDECREF(value_key);
    Py_XDECREF(number);
    return index;
}

/* The text of a Decimal attribute of ``item`` read as a Number (0: not the common case,
 * -1: an error). ``*text`` is a new reference when the result is 1. */
static int
number_of(Lines *self, PyObject *item, PyObject *name, PyObject **text, Number *out)
{
    PyObject *value = PyObject_GetAttr(item, name);
    if (value == NULL) {
        return -1;
    }
    if (Py_TYPE(value) != (PyTypeObject *)self->decimal) {
        Py_DECREF(value);
        return 0;
    }
    *text = PyObject_Str(value);
    Py_DECREF(value);
    if (*text == NULL) {
        return -1;
    }
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(*text, &size);
    if (data == NULL) {
        Py_CLEAR(*text);
        return -1;
    }
    if (!read_number(data, size, out)) {
        Py_CLEAR(*text);
        return 0;
    }
    return 1;
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
    Buffer text = {0};
    PyObject *result = NULL;
    if (put_cents(&text, cents, 0)) {
        PyObject *string = PyUnicode_FromStringAndSize(text.data, text.size);
        if (string != NULL) {
            result = PyObject_CallOneArg(self->decimal, string);
            Py_DECREF(string);
        }
    }
    PyMem_Free(text.data);
    return result;
}

/* Prices one item into ``line`` and renders it into ``out``: 1, 0 (not the common case)
 * or -1 (an error). */
static int
price_line(Lines *self, PyObject *item, Py_ssize_t position, PyObject *number_field,
           Priced *line, Buffer *out)
{
    PyObject *texts[4] = {NULL, NULL, NULL, NULL};
    PyObject *names[4] = {name_quantity, name_unit_price, name_discount, name_tax_rate};
    Number numbers[4];
    int result = 0;
    for (int at = 0; at < 4; at++) {
        if (at == 2) {
            PyObject *discount = PyObject_GetAttr(item, name_discount);
            if (discount == NULL) {
                result = -1;
                goto done;
            }
            int none = discount == Py_None;
            Py_DECREF(discount);
            if (none) {
                texts[2] = PyUnicode_FromString("0");
                if (texts[2] == NULL) {
                    result = -1;
                    goto done;
                }
                numbers[2] = (Number){0, 0, 1};
                continue;
            }
        }
        int read = number_of(self, item, names[at], &texts[at], &numbers[at]);
        if (read <= 0) {
            result = read;
            goto done;
        }
        if (adjusted(&numbers[at]) < MIN_ADJUSTED) {
            goto done;
        }
    }
    Number *quantity = &numbers[0], *price = &numbers[1], *discount = &numbers[2],
           *rate = &numbers[3];
    /* 0 < quantity < 10**15, 0 <= price and discount < 10**15, 0 <= rate <= 1 */
    if (quantity->coef == 0 || adjusted(quantity) >= MAX_AMOUNT_ADJUSTED
        || (price->coef != 0 && adjusted(price) >= MAX_AMOUNT_ADJUSTED)
        || (discount->coef != 0 && adjusted(discount) >= MAX_AMOUNT_ADJUSTED)
        || rate->scale > MAX_DIGITS || rate->coef > pow10_table[rate->scale]) {
        goto done;
    }
    if (quantity->digits + price->digits > MAX_DIGITS) {
        goto done;
    }
    u128 gross = quantity->coef * price->coef;
    int scale = quantity->scale + price->scale;
    if (discount->coef != 0) {
        int common = scale > discount->scale ? scale : discount->scale;
        if (count_digits(gross) + common - scale > MAX_DIGITS
            || discount->digits + common - discount->scale > MAX_DIGITS) {
            goto done;
        }
        u128 whole = gross * pow10_table[common - scale];
        u128 off = discount->coef * pow10_table[common - discount->scale];
        if (off > whole) {
            goto done; /* the discount is larger than the line */
        }
        gross = whole - off;
        scale = common;
    }
    if (scale > MAX_DIGITS || (scale < 2 && count_digits(gross) + 2 - scale > MAX_DIGITS)) {
        goto done;
    }
    u128 net = to_cents(gross, scale);
    if (net >= pow10_table[MAX_AMOUNT_ADJUSTED + 2]) {
        goto done; /* the line's amount is too large */
    }
    if (count_digits(net) + rate->digits > MAX_DIGITS) {
        goto done;
    }
    u128 tax = to_cents(net * rate->coef, 2 + rate->scale);

    char delimiter = self->delimiter;
    char number[32];
    int written = snprintf(number, sizeof(number), "%c%zd%c", delimiter, position, delimiter);
    PyObject *sku = NULL, *description = NULL;
    int ok = put_unicode(out, number_field, 0, 0) && put(out, number, written)
             && (sku = PyObject_GetAttr(item, name_sku)) != NULL
             && put_text(out, sku, delimiter) && put(out, &delimiter, 1)
             && (description = PyObject_GetAttr(item, name_description)) != NULL
             && put_text(out, description, delimiter);
    Py_XDECREF(sku);
    Py_XDECREF(description);
    for (int at = 0; ok && at < 4; at++) {
        ok = put(out, &delimiter, 1) && put_unicode(out, texts[at], 1, self->decimal_comma);
    }
    ok = ok && put(out, &delimiter, 1) && put_cents(out, net, self->decimal_comma)
         && put(out, &delimiter, 1) && put_cents(out, tax, self->decimal_comma)
         && put(out, "\r\n", 2);
    if (!ok) {
        result = -1;
        goto done;
    }
    line->rate = NULL;
    line->rate_text = Py_NewRef(texts[3]);
    line->net = net;
    line->tax = tax;
    result = 1;
done:
    for (int at = 0; at < 4; at++) {
        Py_XDECREF(texts[at]);
    }
    return result;
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

static PyObject *
Lines_price(Lines *self, PyObject *args)
{
    if (!ready(self)) {
        return NULL;
    }
    PyObject *items, *number_field, *currency;
    if (!PyArg_ParseTuple(args, "O!UU:price", &PyList_Type, &items, &number_field,
                          &currency)) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(items);
    if (count == 0) {
        Py_RETURN_NONE;
    }
    if (count > self->priced_room) {
        Priced *priced = PyMem_Realloc(self->priced, count * sizeof(Priced));
        if (priced == NULL) {
            return PyErr_NoMemory();
        }
        self->priced = priced;
        self->priced_room = count;
    }
    Buffer out = {0};
    PyObject *result = NULL;
    Py_ssize_t done = 0;
    int common = 1;
    for (; done < count; done++) {
        PyObject *item = PyList_GET_ITEM(items, done);
        int priced = price_line(self, item, done + 1, number_field, &self->priced[done], &out);
        if (priced < 0) {
            goto finish;
        }
        if (priced == 0) {
            common = 0;
            break;
        }
        self->priced[done].rate = PyObject_GetAttr(item, name_tax_rate);
        if (self->priced[done].rate == NULL) {
            Py_DECREF(self->priced[done].rate_text);
            goto finish;
        }
    }
    if (!common) {
        result = Py_NewRef(Py_None);
        goto finish;
    }
    u128 subtotal = 0, tax = 0;
    for (Py_ssize_t at = 0; at < count; at++) {
        Priced *line = &self->priced[at];
        Py_ssize_t index = sums_of(self, currency, line->rate, line->rate_text);
        if (index < 0) {
            goto finish;
        }
        Sums *sums = &self->sums[index];
        sums->lines++;
        sums->net += line->net;
        sums->tax += line->tax;
        subtotal += line->net;
        tax += line->tax;
    }
    PyObject *text = PyUnicode_DecodeUTF8(out.data, out.size, "strict");
    PyObject *amounts[3] = {NULL, NULL, NULL};
    u128 cents[3] = {subtotal, tax, subtotal + tax};
    int made = text != NULL;
    for (int at = 0; made && at < 3; at++) {
        made = (amounts[at] = decimal_of_cents(self, cents[at])) != NULL;
    }
    if (made) {
        result = PyTuple_Pack(4, text, amounts[0], amounts[1], amounts[2]);
    }
    Py_XDECREF(text);
    for (int at = 0; at < 3; at++) {
        Py_XDECREF(amounts[at]);
    }
finish:
    for (Py_ssize_t at = 0; at < done; at++) {
        Py_CLEAR(self->priced[at].rate);
        Py_CLEAR(self->priced[at].rate_text);
    }
    PyMem_Free(out.data);
    return result;
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
        result = PyUnicode_DecodeUTF8(out.data, out.size, "strict");
    }
    PyMem_Free(out.data);
    return result;
}

static PyMethodDef Lines_methods[] = {
    {"invoice", (PyCFunction)Lines_invoice, METH_VARARGS,
     "invoice(number_field, issued, currency, tax_id, name, email, lines, subtotal, tax, "
     "total) -> the invoice's line of facturas.csv (amounts rounded to cents)"},
    {"price", (PyCFunction)Lines_price, METH_VARARGS,
     "price(items, number_field, currency) -> (csv_lines, subtotal, tax, total) | None"},
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
    if ((name_quantity = PyUnicode_InternFromString("quantity")) == NULL
        || (name_unit_price = PyUnicode_InternFromString("unit_price")) == NULL
        || (name_tax_rate = PyUnicode_InternFromString("tax_rate")) == NULL
        || (name_discount = PyUnicode_InternFromString("discount")) == NULL
        || (name_sku = PyUnicode_InternFromString("sku")) == NULL
        || (name_description = PyUnicode_InternFromString("description")) == NULL
        || PyType_Ready(&LinesType) < 0) {
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
