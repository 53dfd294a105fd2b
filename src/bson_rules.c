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
 * Keys: percent-encoding of "%", of "." anywhere, of a leading "$", and
 * (document format 2, 1.1) of the "_" of a key that is exactly "_id".  Stores
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
key_byte_needs_escape(const char *key, size_t len, size_t i, bool bytes,
					  BsonRulesFormat format)
{
	return key[i] == '.' || key[i] == '%' || (key[i] == '$' && i == 0) ||
		(i == 0 && format == BSON_RULES_FORMAT_2 && key_is_id(key, len)) ||
		(bytes && (unsigned char) key[i] >= 0x80);
}

bool
bson_rules_key_needs_escape(const char *key, size_t len, bool bytes, BsonRulesFormat format)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (key_byte_needs_escape(key, len, i, bytes, format))
			return true;
	return false;
}

size_t
bson_rules_escaped_key_length(const char *key, size_t len, bool bytes, BsonRulesFormat format)
{
	size_t		out = len;
	size_t		i;

	for (i = 0; i < len; i++)
		if (key_byte_needs_escape(key, len, i, bytes, format))
			out += 2;
	return out;
}

/* out must have room for bson_rules_escaped_key_length() bytes */
void
bson_rules_escape_key(const char *key, size_t len, bool bytes, BsonRulesFormat format,
					  char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) key[i];

		if (key_byte_needs_escape(key, len, i, bytes, format))
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
 * when the key is not one the escaping produces in that format.
 */
bool
bson_rules_unescape_key(const char *key, size_t len, BsonRulesFormat format, char *out,
						size_t *outlen)
{
	size_t		i;
	size_t		n = 0;

	for (i = 0; i < len; i++)
	{
		int			high,
					low;

		if (key[i] == '.' || (key[i] == '$' && i == 0) ||
			(i == 0 && format == BSON_RULES_FORMAT_2 && key_is_id(key, len)))
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
 * What the digest form does with one top-level element of a document:
 * leave it out (exclude), write the key columns' document for a scalar _id,
 * write it again with its nested "%5Fid" keys renamed, or keep its bytes.
 */
typedef enum DigestElement
{
	DIGEST_LEAVE_OUT,
	DIGEST_KEY_DOCUMENT,
	DIGEST_RENAMED,
	DIGEST_AS_IT_IS
} DigestElement;

/*
 * Does a document or array element (bytes: from its type byte on) hold the
 * key "%5Fid" below it?  Its bytes are searched for the key as an element
 * holds it (the name, then its NUL), which a string value may hold too:
 * then the element is written again, to the same bytes.
 */
static bool
holds_escaped_id(const uint8_t *bytes, size_t len)
{
	static const char key[] = ESCAPED_ID_KEY;	/* with its NUL */
	const uint8_t *end = bytes + len;
	const uint8_t *p = bytes;

	while ((size_t) (end - p) >= sizeof(key) &&
		   (p = memchr(p, key[0], end - p - sizeof(key) + 1)) != NULL)
	{
		if (memcmp(p, key, sizeof(key)) == 0)
			return true;
		p++;
	}
	return false;
}

/* look_inside: tell an element that needs renaming from one kept as it is */
static DigestElement
digest_element(const bson_iter_t *iter, const char *exclude, const char *const *key_columns,
			   bool look_inside)
{
	const char *key = bson_iter_key(iter);

	if (exclude && strcmp(key, exclude) == 0)
		return DIGEST_LEAVE_OUT;
	if (key_columns != NULL && strcmp(key, "_id") == 0 && !BSON_ITER_HOLDS_DOCUMENT(iter))
		return DIGEST_KEY_DOCUMENT;
	if (look_inside && (BSON_ITER_HOLDS_DOCUMENT(iter) || BSON_ITER_HOLDS_ARRAY(iter)) &&
		holds_escaped_id(iter->raw + iter->off, iter->next_off - iter->off))
		return DIGEST_RENAMED;
	return DIGEST_AS_IT_IS;
}

/* The element as the digest form has it, appended to out */
static bool
digest_element_append(const bson_iter_t *iter, DigestElement what, const bson_t *document,
					  const char *const *key_columns, bson_t *out)
{
	bson_iter_t copy = *iter;
	bson_t		id;

	if (what == DIGEST_KEY_DOCUMENT)
		return bson_append_document_begin(out, "_id", 3, &id) &&
			bson_rules_key_of_fields(document, key_columns, &id) &&
			bson_append_document_end(out, &id);
	return digest_form_append(&copy, out, 0);
}

/*
 * The form of a store document that seals digest (document format 1, as
 * 1.0 wrote it): _id as the document of the key columns (1.0's store key;
 * since 1.1's library the store's _id is a scalar built from the same
 * fields, bson_rules_store_id_text), every key "%5Fid" below the top
 * written back as "_id", and the top-level key exclude (retry_count:
 * bookkeeping) left out.  The only key the escaping rule turns into "%5Fid"
 * is "_id" (a literal "%5Fid" is stored as "%255Fid"), so the map is
 * exact, and seals made before 1.1 verify unchanged.  With key_columns
 * NULL, _id is copied as it is.  out must be initialised; false when the
 * document cannot be read or copied, or lacks a key column.
 */
bool
bson_rules_digest_form(const bson_t *document, const char *exclude,
					   const char *const *key_columns, bson_t *out)
{
	bson_iter_t iter;

	if (!bson_iter_init(&iter, document))
		return false;
	while (bson_iter_next(&iter))
	{
		/* every element is written again here: no need to look inside */
		DigestElement what = digest_element(&iter, exclude, key_columns, false);

		if (what != DIGEST_LEAVE_OUT &&
			!digest_element_append(&iter, what, document, key_columns, out))
			return false;
	}
	return true;
}

/*
 * The digest form written out in pieces: runs of the document's own
 * elements, and the elements written again, appended to scratch one after
 * the other (found by offset: scratch's buffer moves as it grows).  Two
 * passes: the form's length comes first in its bytes.
 */
typedef struct DigestPiece
{
	const uint8_t *bytes;		/* NULL: at offset in scratch */
	size_t		offset;
	size_t		len;
} DigestPiece;

bool
bson_rules_digest_form_write(const bson_t *document, const char *exclude,
							 const char *const *key_columns, bson_t *scratch,
							 BsonRulesWrite write, void *arg)
{
	DigestPiece *pieces = NULL;
	int			npieces = 0;
	int			allocated = 0;
	size_t		total = 4 + 1;		/* the length, the final NUL */
	bson_iter_t iter;
	uint32_t	length;
	bool		ok = true;
	int			i;

	bson_reinit(scratch);
	if (!bson_iter_init(&iter, document))
		return false;
	while (ok && bson_iter_next(&iter))
	{
		DigestElement what = digest_element(&iter, exclude, key_columns, true);
		const uint8_t *bytes = iter.raw + iter.off;
		size_t		len = iter.next_off - iter.off;
		DigestPiece *last = npieces > 0 ? &pieces[npieces - 1] : NULL;

		if (what == DIGEST_LEAVE_OUT)
			continue;
		if (what == DIGEST_AS_IT_IS && last != NULL && last->bytes != NULL &&
			last->bytes + last->len == bytes)
		{
			last->len += len;	/* the run goes on */
			total += len;
			continue;
		}
		if (npieces == allocated)
		{
			allocated = Max(8, allocated * 2);
			pieces = bson_realloc(pieces, sizeof(DigestPiece) * allocated);
		}
		if (what == DIGEST_AS_IT_IS)
		{
			pieces[npieces].bytes = bytes;
			pieces[npieces].len = len;
		}
		else
		{
			size_t		before = scratch->len - 1;	/* where the next element goes */

			ok = digest_element_append(&iter, what, document, key_columns, scratch);
			pieces[npieces].bytes = NULL;
			pieces[npieces].offset = before;
			pieces[npieces].len = scratch->len - 1 - before;
		}
		total += pieces[npieces].len;
		npieces++;
	}
	if (ok && total <= (size_t) INT32_MAX)
	{
		length = BSON_UINT32_TO_LE((uint32_t) total);
		write(arg, (const uint8_t *) &length, 4);
		for (i = 0; i < npieces; i++)
			write(arg, pieces[i].bytes ? pieces[i].bytes : bson_get_data(scratch) + pieces[i].offset,
				  pieces[i].len);
		write(arg, (const uint8_t *) "", 1);
	}
	bson_free(pieces);
	return ok && total <= (size_t) INT32_MAX;
}

/* ---------- the store's _id ---------- */

/*
 * The key columns of a document, copied from its top-level fields into key
 * (an open document), in the order of key_columns: the document 1.0 used
 * as _id.  False when one is missing.
 */
bool
bson_rules_key_of_fields(const bson_t *document, const char *const *key_columns,
						 bson_t *key)
{
	const char *const *column;

	for (column = key_columns; *column != NULL; column++)
	{
		bson_iter_t iter;

		if (!bson_iter_init_find(&iter, document, *column) ||
			!bson_append_iter(key, *column, -1, &iter))
			return false;
	}
	return true;
}

/*
 * One key column's part of a store _id, "<bytes>:<value>", after a ","
 * unless it is the first: from the key document's value
 * (bson_rules_store_id_text) or from the value itself (the decoder, from
 * the row): a string's bytes (UTF-8), a uuid's 16 bytes, an integer.
 */
void
bson_rules_store_id_append_text(bson_string_t *out, const char *value, size_t len)
{
	char		digits[24];
	char		copy[256];
	int			n = 0;
	size_t		rest = len;
	size_t		i;

	if (out->len > 0)
		bson_string_append_c(out, ',');
	/* the length in decimal: printf would cost more than the rest of the id */
	do
	{
		digits[n++] = (char) ('0' + rest % 10);
		rest /= 10;
	} while (rest > 0);
	while (n > 0)
		bson_string_append_c(out, digits[--n]);
	bson_string_append_c(out, ':');
	/* libbson appends NUL-terminated strings only: a short value is made one, copied at once */
	if (len < sizeof(copy) && memchr(value, '\0', len) == NULL)
	{
		memcpy(copy, value, len);
		copy[len] = '\0';
		bson_string_append(out, copy);
	}
	else
		for (i = 0; i < len; i++)
			bson_string_append_c(out, value[i]);
}

/* A uuid in its canonical lower-case form */
void
bson_rules_store_id_append_uuid(bson_string_t *out, const uint8_t *uuid)
{
	static const char hex[] = "0123456789abcdef";
	char		text[36];
	int			o = 0;

	for (int i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[o++] = '-';
		text[o++] = hex[uuid[i] >> 4];
		text[o++] = hex[uuid[i] & 0xf];
	}
	bson_rules_store_id_append_text(out, text, sizeof(text));
}

void
bson_rules_store_id_append_int(bson_string_t *out, int64_t value)
{
	char		number[32];

	snprintf(number, sizeof(number), "%lld", (long long) value);
	bson_rules_store_id_append_text(out, number, strlen(number));
}

/*
 * The text of a row's _id: each key column's value as text, its length in
 * bytes before it and ":" between them, the columns joined by ",", so
 * that no two keys give the same text (two tenants may send the same
 * log_id; "a,1:b" is a tenant like any other).  A value is text as the
 * document holds it: a string's bytes (or the bytes of its {"%bytes":
 * BinData} in a SQL_ASCII database), a uuid in its canonical lower-case
 * form, an integer in decimal.  False for any other type.
 */
bool
bson_rules_store_id_text(const bson_t *key, bson_string_t *out)
{
	return bson_rules_store_id_text_utf8(key, out, NULL);
}

/*
 * The same, saying in *utf8 (when not NULL) whether the text is UTF-8: it
 * is unless a value is {"%bytes": ...}, the form of a string that is not.
 */
bool
bson_rules_store_id_text_utf8(const bson_t *key, bson_string_t *out, bool *utf8)
{
	bson_iter_t iter;

	if (utf8 != NULL)
		*utf8 = true;
	if (!bson_iter_init(&iter, key))
		return false;
	while (bson_iter_next(&iter))
	{
		if (BSON_ITER_HOLDS_UTF8(&iter))
		{
			uint32_t	len;
			const char *value = bson_iter_utf8(&iter, &len);

			bson_rules_store_id_append_text(out, value, len);
		}
		else if (BSON_ITER_HOLDS_INT64(&iter) || BSON_ITER_HOLDS_INT32(&iter))
			bson_rules_store_id_append_int(out, bson_iter_as_int64(&iter));
		else if (BSON_ITER_HOLDS_BINARY(&iter))
		{
			bson_subtype_t subtype;
			uint32_t	len;
			const uint8_t *data;

			bson_iter_binary(&iter, &subtype, &len, &data);
			if (subtype != BSON_SUBTYPE_UUID || len != 16)
				return false;
			bson_rules_store_id_append_uuid(out, data);
		}
		else if (BSON_ITER_HOLDS_DOCUMENT(&iter))
		{
			bson_iter_t bytes;
			bson_subtype_t subtype;
			uint32_t	len;
			const uint8_t *data;

			if (!bson_iter_recurse(&iter, &bytes) ||
				!bson_iter_find(&bytes, BSON_RULES_BYTES_MARKER) ||
				!BSON_ITER_HOLDS_BINARY(&bytes))
				return false;
			bson_iter_binary(&bytes, &subtype, &len, &data);
			bson_rules_store_id_append_text(out, (const char *) data, len);
			if (utf8 != NULL)
				*utf8 = false;
		}
		else
			return false;
	}
	return out->len > 0;
}

/*
 * An _id's text appended as name: a UTF-8 string, or, when the text is
 * not UTF-8 (a key column of a SQL_ASCII database), BinData of its bytes,
 * which no store refuses.
 */
bool
bson_rules_append_store_id_text(bson_t *out, const char *name, const char *text, size_t len)
{
	if (bson_utf8_validate(text, len, false))
		return bson_append_utf8(out, name, -1, text, (int) len);
	return bson_append_binary(out, name, -1, BSON_SUBTYPE_BINARY, (const uint8_t *) text,
							  (uint32_t) len);
}

/* An _id's text appended as name, a string when utf8, BinData otherwise */
bool
bson_rules_append_store_id_as(bson_t *out, const char *name, const char *text, size_t len,
							  bool utf8)
{
	if (utf8)
		return bson_append_utf8(out, name, -1, text, (int) len);
	return bson_append_binary(out, name, -1, BSON_SUBTYPE_BINARY, (const uint8_t *) text,
							  (uint32_t) len);
}

/* The _id of the row whose key columns key holds, appended as name */
bool
bson_rules_append_store_id(bson_t *out, const char *name, const bson_t *key)
{
	bson_string_t *text = bson_string_new(NULL);
	bool		utf8;
	bool		ok;

	ok = bson_rules_store_id_text_utf8(key, text, &utf8) &&
		bson_rules_append_store_id_as(out, name, text->str, text->len, utf8);
	bson_string_free(text, true);
	return ok;
}
