/*
 * json.c - a recursive-descent recogniser for JSON (json.h).
 *
 * One function per production of RFC 8259's grammar, each advancing a
 * cursor over the text and returning 0 at the first fault with the reason
 * noted in the cursor. Recursion happens only for objects and arrays, and
 * never deeper than JSON_DEPTH_MAX.
 */
#include "json.h"

typedef struct cursor {
    const char *s;
    size_t n, i;
    const char *why;
} cursor;

static int fail(cursor *c, const char *why) {
    if (c->why == NULL) c->why = why;
    return 0;
}

static int peek(const cursor *c) { return c->i < c->n ? (unsigned char)c->s[c->i] : -1; }

static void skip_ws(cursor *c) {
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static int is_hex(int ch) { return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'); }

static int value(cursor *c, int depth);

static int literal(cursor *c, const char *word) {
    for (size_t k = 0; word[k]; k++, c->i++)
        if (peek(c) != (unsigned char)word[k]) return fail(c, "not a JSON value");
    return 1;
}

/* "\" followed by one of "\/bfnrt or u and four hex digits. */
static int escape(cursor *c) {
    c->i++; /* the backslash */
    int ch = peek(c);
    if (ch == 'u') {
        c->i++;
        for (int k = 0; k < 4; k++, c->i++)
            if (!is_hex(peek(c))) return fail(c, "\\u must be followed by four hex digits");
        return 1;
    }
    if (ch == '"' || ch == '\\' || ch == '/' || ch == 'b' || ch == 'f' || ch == 'n' || ch == 'r' || ch == 't') {
        c->i++;
        return 1;
    }
    return fail(c, "unknown escape in a string");
}

static int string(cursor *c) {
    c->i++; /* the opening quote */
    for (;;) {
        int ch = peek(c);
        if (ch < 0) return fail(c, "unterminated string");
        if (ch == '"') {
            c->i++;
            return 1;
        }
        if (ch < 0x20) return fail(c, "control character in a string (escape it)");
        if (ch == '\\') {
            if (!escape(c)) return 0;
            continue;
        }
        c->i++;
    }
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(cursor *c) {
    if (peek(c) == '-') c->i++;
    if (peek(c) == '0') {
        c->i++;
    } else if (is_digit(peek(c))) {
        while (is_digit(peek(c))) c->i++;
    } else {
        return fail(c, "malformed number");
    }
    if (peek(c) == '.') {
        c->i++;
        if (!is_digit(peek(c))) return fail(c, "malformed number: digits must follow '.'");
        while (is_digit(peek(c))) c->i++;
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        c->i++;
        if (peek(c) == '+' || peek(c) == '-') c->i++;
        if (!is_digit(peek(c))) return fail(c, "malformed number: digits must follow the exponent");
        while (is_digit(peek(c))) c->i++;
    }
    return 1;
}

static int object(cursor *c, int depth) {
    if (depth > JSON_DEPTH_MAX) return fail(c, "nested too deeply");
    c->i++; /* { */
    skip_ws(c);
    if (peek(c) == '}') {
        c->i++;
        return 1;
    }
    for (;;) {
        skip_ws(c);
        if (peek(c) != '"') return fail(c, "expected a string as an object key");
        if (!string(c)) return 0;
        skip_ws(c);
        if (peek(c) != ':') return fail(c, "expected ':' after an object key");
        c->i++;
        if (!value(c, depth)) return 0;
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            continue;
        }
        if (peek(c) == '}') {
            c->i++;
            return 1;
        }
        return fail(c, "expected ',' or '}' in an object");
    }
}

static int array(cursor *c, int depth) {
    if (depth > JSON_DEPTH_MAX) return fail(c, "nested too deeply");
    c->i++; /* [ */
    skip_ws(c);
    if (peek(c) == ']') {
        c->i++;
        return 1;
    }
    for (;;) {
        if (!value(c, depth)) return 0;
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            continue;
        }
        if (peek(c) == ']') {
            c->i++;
            return 1;
        }
        return fail(c, "expected ',' or ']' in an array");
    }
}

/* depth: the objects and arrays around this value. */
static int value(cursor *c, int depth) {
    skip_ws(c);
    switch (peek(c)) {
        case '{': return object(c, depth + 1);
        case '[': return array(c, depth + 1);
        case '"': return string(c);
        case 't': return literal(c, "true");
        case 'f': return literal(c, "false");
        case 'n': return literal(c, "null");
        case -1: return fail(c, "unexpected end of text");
        default:
            if (peek(c) == '-' || is_digit(peek(c))) return number(c);
            return fail(c, "not a JSON value");
    }
}

int json_is_object(const char *s, size_t n, const char **why, size_t *at) {
    cursor c = {.s = s, .n = n};
    skip_ws(&c);
    int ok = 0;
    if (peek(&c) != '{')
        fail(&c, "not a JSON object");
    else if (object(&c, 1)) {
        skip_ws(&c);
        ok = c.i == c.n ? 1 : fail(&c, "text after the object");
    }
    if (why) *why = ok ? NULL : c.why;
    if (at) *at = ok ? 0 : (c.i < c.n ? c.i : c.n);
    return ok;
}
