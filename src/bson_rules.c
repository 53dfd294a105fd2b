/*-------------------------------------------------------------------------
 *
 * bson_rules.c
 *	  The parts of the mirror's document rules that are pure functions of
 *	  their input: escaping object keys, and storing a JSON number exactly.
 *
 *	  Compiled into the extension and, with FRONTEND defined, into the
 *	  fuzzer, so the code the fuzzer hammers is the code the server runs.
 *	  Nothing here allocates with palloc or raises an error: a failure is a
 *	  false return, which the caller reports.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <errno.h>
#include <math.h>

#include "common/shortest_dec.h"

#include "bson_rules.h"

/*
 * Keys: percent-encoding of "%", of "." anywhere, of a leading "$", and of
 * the "_" of a key that is exactly "_id" (document format 2, 1.1).  Stores
 * refuse "." and a leading "$" in keys; FerretDB moves a key "_id" to the
 * front of every document, nested ones too, so the store would not keep
 * the bytes a seal digested.  Encoding "%" as well makes the rule
 * reversible and keeps escaped keys from looking like markers.  With
 * bytes, every byte outside ASCII is encoded too: for keys that are not
 * valid UTF-8 (a SQL_ASCII database), which no store accepts.  The rule
 * applies to object keys inside values (metadata), never to a document's
 * own top-level keys, which are column names.
 */
static inline bool
key_is_id(const char *key, size_t len)
{
	return len == 3 && key[0] == '_' && key[1] == 'i' && key[2] == 'd';
}

static inline bool
key_byte_needs_escape(const char *key, size_t len, size_t i, bool bytes)
{
	return key[i] == '.' || key[i] == '%' || (key[i] == '$' && i == 0) ||
		(i == 0 && key_is_id(key, len)) ||
		(bytes && (unsigned char) key[i] >= 0x80);
}

bool
bson_rules_key_needs_escape(const char *key, size_t len, bool bytes)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (key_byte_needs_escape(key, len, i, bytes))
			return true;
	return false;
}

size_t
bson_rules_escaped_key_length(const char *key, size_t len, bool bytes)
{
	size_t		out = len;
	size_t		i;

	for (i = 0; i < len; i++)
		if (key_byte_needs_escape(key, len, i, bytes))
			out += 2;
	return out;
}

/* out must have room for bson_rules_escaped_key_length() bytes */
void
bson_rules_escape_key(const char *key, size_t len, bool bytes, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) key[i];

		if (key_byte_needs_escape(key, len, i, bytes))
		{
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 0x0F];
		}
		else
			*out++ = key[i];
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The key an escaped key came from; out needs room for len bytes.  False
 * when the key is not one the escaping produces.
 */
bool
bson_rules_unescape_key(const char *key, size_t len, char *out, size_t *outlen)
{
	size_t		i;
	size_t		n = 0;

	for (i = 0; i < len; i++)
	{
		int			high,
					low;

		if (key[i] == '.' || (key[i] == '$' && i == 0) || (i == 0 && key_is_id(key, len)))
			return false;
		if (key[i] != '%')
		{
			out[n++] = key[i];
			continue;
		}
		if (len - i < 3 || (high = hex_value(key[i + 1])) < 0 ||
			(low = hex_value(key[i + 2])) < 0)
			return false;
		out[n++] = (char) (high << 4 | low);
		i += 2;
	}
	*outlen = n;
	return true;
}

/*
 * A decimal number's value as sign, significant digits (no leading or
 * trailing zeros) and the exponent of its last digit.  False when the text
 * is not a JSON number.  digits needs room for strlen(text) + 1 bytes.
 */
static bool
decimal_parse(const char *text, bool *negative, char *digits, int64 *exponent,
			  bool *exponent_overflow)
{
	const char *p = text;
	size_t		ndigits = 0;
	int64		scale = 0;		/* digits after the point */
	int64		exp = 0;
	bool		exp_negative = false;
	bool		any = false;

	*exponent_overflow = false;
	*negative = (*p == '-');
	if (*p == '-' || *p == '+')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		any = true;
		if (ndigits > 0 || *p != '0')
			digits[ndigits++] = *p;
	}
	if (*p == '.')
	{
		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			any = true;
			scale++;
			if (ndigits > 0 || *p != '0')
				digits[ndigits++] = *p;
		}
	}
	if (!any)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		bool		exp_digits = false;

		p++;
		exp_negative = (*p == '-');
		if (*p == '-' || *p == '+')
			p++;
		for (; *p >= '0' && *p <= '9'; p++)
		{
			exp_digits = true;
			if (exp > PG_INT32_MAX)
				*exponent_overflow = true;
			else
				exp = exp * 10 + (*p - '0');
		}
		if (!exp_digits)
			return false;
	}
	if (*p != '\0')
		return false;

	/* trailing zeros of the significand only move the exponent */
	while (ndigits > 0 && digits[ndigits - 1] == '0')
	{
		ndigits--;
		scale--;
	}
	digits[ndigits] = '\0';
	*exponent = (exp_negative ? -exp : exp) - scale;
	if (ndigits == 0)
	{
		*negative = false;		/* zero has no sign */
		*exponent = 0;
	}
	return true;
}

static bool
decimal_is_number(const char *text)
{
	char	   *digits = bson_malloc(strlen(text) + 1);
	bool		negative;
	bool		overflow;
	int64		exponent;
	bool		valid = decimal_parse(text, &negative, digits, &exponent, &overflow);

	bson_free(digits);
	return valid;
}

/* Are two decimal texts the same number?  Texts that are not numbers are not. */
bool
bson_rules_decimal_equal(const char *a, const char *b)
{
	size_t		alen = strlen(a);
	size_t		blen = strlen(b);
	char	   *adigits = bson_malloc(alen + 1);
	char	   *bdigits = bson_malloc(blen + 1);
	bool		aneg,
				bneg,
				aover,
				bover;
	int64		aexp,
				bexp;
	bool		equal = false;

	if (decimal_parse(a, &aneg, adigits, &aexp, &aover) &&
		decimal_parse(b, &bneg, bdigits, &bexp, &bover))
	{
		if (aover || bover)
			equal = (alen == blen && memcmp(a, b, alen) == 0);
		else
			equal = (aneg == bneg && aexp == bexp && strcmp(adigits, bdigits) == 0);
	}
	bson_free(adigits);
	bson_free(bdigits);
	return equal;
}

/*
 * Append a JSON number given as decimal text: int32 or int64 when it is an
 * integer that fits, a double when the double's shortest decimal form is
 * the same number, otherwise {"%decimal": "<the text>"}.  False when libbson
 * refused the append (the document grew too large).
 */
bool
bson_rules_append_number(bson_t *out, const char *key, int keylen, const char *decimal)
{
	bool		integral = strpbrk(decimal, ".eE") == NULL;
	char	   *end;
	double		d;
	bson_t		marker;

	/* strtoll and strtod accept more (blanks, hex, inf): keep such text as text */
	if (!decimal_is_number(decimal))
		goto keep_text;

	if (integral)
	{
		long long	i;

		errno = 0;
		i = strtoll(decimal, &end, 10);
		if (errno == 0 && *end == '\0' && end != decimal)
		{
			if (i >= PG_INT32_MIN && i <= PG_INT32_MAX)
				return bson_append_int32(out, key, keylen, (int32) i);
			return bson_append_int64(out, key, keylen, (int64) i);
		}
	}

	errno = 0;
	d = strtod(decimal, &end);
	if (errno == 0 && *end == '\0' && end != decimal && isfinite(d))
	{
		char		shortest[DOUBLE_SHORTEST_DECIMAL_LEN];

		double_to_shortest_decimal_buf(d, shortest);
		if (bson_rules_decimal_equal(decimal, shortest))
			return bson_append_double(out, key, keylen, d);
	}

keep_text:
	return bson_append_document_begin(out, key, keylen, &marker) &&
		bson_append_utf8(&marker, BSON_RULES_DECIMAL_MARKER, -1, decimal, -1) &&
		bson_append_document_end(out, &marker);
}

/*
 * The decimal text of a number the rule stored (int32, int64, double): the
 * reverse of bson_rules_append_number for everything but the marker, whose
 * text is the marker's string.  False for other types.
 */
bool
bson_rules_number_text(const bson_iter_t *iter, char *buf, size_t buflen)
{
	if (buflen < BSON_RULES_NUMBER_TEXT_LEN)
		return false;
	if (BSON_ITER_HOLDS_INT32(iter))
		snprintf(buf, buflen, "%d", (int) bson_iter_int32(iter));
	else if (BSON_ITER_HOLDS_INT64(iter))
		snprintf(buf, buflen, "%lld", (long long) bson_iter_int64(iter));
	else if (BSON_ITER_HOLDS_DOUBLE(iter))
		double_to_shortest_decimal_buf(bson_iter_double(iter), buf);
	else
		return false;
	return true;
}


/* ---------- the digest form ---------- */

/* The key a nested "_id" is stored under (document format 2) */
#define ESCAPED_ID_KEY "%5Fid"

static bool digest_form_append(bson_iter_t *iter, bson_t *out, int depth);

/* The members of a document or array at iter, renamed below the top */
static bool
digest_form_children(bson_iter_t *iter, bson_t *out, int depth)
{
	bson_iter_t child;

	if (depth > BSON_RULES_MAX_DEPTH || !bson_iter_recurse(iter, &child))
		return false;
	while (bson_iter_next(&child))
		if (!digest_form_append(&child, out, depth + 1))
			return false;
	return true;
}

static bool
digest_form_append(bson_iter_t *iter, bson_t *out, int depth)
{
	const char *key = bson_iter_key(iter);
	int			keylen = (int) bson_iter_key_len(iter);
	bson_t		child;

	if (depth > 0 && keylen == (int) strlen(ESCAPED_ID_KEY) &&
		memcmp(key, ESCAPED_ID_KEY, keylen) == 0)
	{
		key = "_id";
		keylen = 3;
	}
	if (BSON_ITER_HOLDS_DOCUMENT(iter))
		return bson_append_document_begin(out, key, keylen, &child) &&
			digest_form_children(iter, &child, depth) &&
			bson_append_document_end(out, &child);
	if (BSON_ITER_HOLDS_ARRAY(iter))
		return bson_append_array_begin(out, key, keylen, &child) &&
			digest_form_children(iter, &child, depth) &&
			bson_append_array_end(out, &child);
	return bson_append_iter(out, key, keylen, iter);
}

/*
 * The form of a store document that seals digest (document format 1, as
 * 1.0 wrote it): every key "%5Fid" below the top written back as "_id", and
 * the top-level key exclude (retry_count: bookkeeping) left out.  The only
 * key the escaping rule turns into "%5Fid" is "_id" (a literal "%5Fid" is
 * stored as "%255Fid"), so the map is exact, and seals made before 1.1
 * verify unchanged.  out must be initialised; false when the document
 * cannot be read or copied.
 */
bool
bson_rules_digest_form(const bson_t *document, const char *exclude, bson_t *out)
{
	bson_iter_t iter;

	if (!bson_iter_init(&iter, document))
		return false;
	while (bson_iter_next(&iter))
	{
		if (exclude && strcmp(bson_iter_key(&iter), exclude) == 0)
			continue;
		if (!digest_form_append(&iter, out, 0))
			return false;
	}
	return true;
}
