/*-------------------------------------------------------------------------
 *
 * fuzz_bson_rules.c
 *	  libFuzzer target for the mirror's document rules (src/bson_rules.c),
 *	  run without a server.
 *
 *	  Each input is tried three ways: as an object key (escaping must leave
 *	  no "." and no leading "$", no byte outside ASCII when asked to, never
 *	  produce a marker, and reverse exactly), as a number's decimal text (the stored value must read back
 *	  as the same number, or as the same text under "%decimal"), and as a
 *	  JSON document parsed by libbson, whose every key and number goes
 *	  through the same checks, and whose digest form must be a fixed point.
 *	  A broken rule aborts, which libFuzzer
 *	  reports with the input that did it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <bson/bson.h>

#include "bson_rules.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(condition) do { if (!(condition)) { \
	fprintf(stderr, "rule broken: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
	abort(); } } while (0)

static void
check_key_in(const char *key, size_t len, bool bytes, BsonRulesFormat format)
{
	size_t		escaped_len = bson_rules_escaped_key_length(key, len, bytes, format);
	char	   *escaped = malloc(escaped_len + 1);
	char	   *back = malloc(escaped_len + 1);
	size_t		back_len = 0;
	size_t		i;
	BsonRulesFormat other = format == BSON_RULES_FORMAT_1 ? BSON_RULES_FORMAT_2 : BSON_RULES_FORMAT_1;

	bson_rules_escape_key(key, len, bytes, format, escaped);
	CHECK(bson_rules_key_needs_escape(key, len, bytes, format) == (escaped_len != len));
	/* the formats differ in "_id" alone: escaped in 2, kept in 1 */
	if (len == 3 && memcmp(key, "_id", 3) == 0)
		CHECK((escaped_len != len) == (format == BSON_RULES_FORMAT_2));
	else
		CHECK(escaped_len == bson_rules_escaped_key_length(key, len, bytes, other));
	CHECK(memchr(escaped, '.', escaped_len) == NULL);
	CHECK(escaped_len == 0 || escaped[0] != '$');
	for (i = 0; bytes && i < escaped_len; i++)
		CHECK((unsigned char) escaped[i] < 0x80);
	CHECK(!(escaped_len == strlen(BSON_RULES_DECIMAL_MARKER) &&
			memcmp(escaped, BSON_RULES_DECIMAL_MARKER, escaped_len) == 0));
	CHECK(!(escaped_len == strlen(BSON_RULES_ARRAY_MARKER) &&
			memcmp(escaped, BSON_RULES_ARRAY_MARKER, escaped_len) == 0));
	CHECK(!(escaped_len == strlen(BSON_RULES_BYTES_MARKER) &&
			memcmp(escaped, BSON_RULES_BYTES_MARKER, escaped_len) == 0));
	CHECK(bson_rules_unescape_key(escaped, escaped_len, format, back, &back_len));
	CHECK(back_len == len && memcmp(back, key, len) == 0);
	free(escaped);
	free(back);
}

static void
check_key(const char *key, size_t len, bool bytes)
{
	check_key_in(key, len, bytes, BSON_RULES_FORMAT_1);
	check_key_in(key, len, bytes, BSON_RULES_FORMAT_2);
}

static void
check_number(const char *text)
{
	bson_t		doc = BSON_INITIALIZER;
	bson_iter_t iter;

	CHECK(bson_rules_append_number(&doc, "n", 1, text));
	CHECK(bson_iter_init_find(&iter, &doc, "n"));
	if (BSON_ITER_HOLDS_DOCUMENT(&iter))
	{
		bson_iter_t marker;

		CHECK(bson_iter_recurse(&iter, &marker));
		CHECK(bson_iter_find(&marker, BSON_RULES_DECIMAL_MARKER));
		CHECK(strcmp(bson_iter_utf8(&marker, NULL), text) == 0);
	}
	else
	{
		char		back[BSON_RULES_NUMBER_TEXT_LEN];

		CHECK(bson_rules_number_text(&iter, back, sizeof(back)));
		CHECK(bson_rules_decimal_equal(text, back));
	}
	bson_destroy(&doc);
}

static void
check_document(const bson_t *document, int depth)
{
	bson_iter_t iter;

	if (depth > 100 || !bson_iter_init(&iter, document))
		return;
	while (bson_iter_next(&iter))
	{
		const char *key = bson_iter_key(&iter);
		char		text[BSON_RULES_NUMBER_TEXT_LEN];

		check_key(key, strlen(key), false);
		if (bson_rules_number_text(&iter, text, sizeof(text)))
			check_number(text);
		if (BSON_ITER_HOLDS_DOCUMENT(&iter) || BSON_ITER_HOLDS_ARRAY(&iter))
		{
			const uint8_t *data;
			uint32		len;
			bson_t		child;

			if (BSON_ITER_HOLDS_DOCUMENT(&iter))
				bson_iter_document(&iter, &len, &data);
			else
				bson_iter_array(&iter, &len, &data);
			if (bson_init_static(&child, data, len))
				check_document(&child, depth + 1);
		}
	}
}

/* bson_rules_digest_form_write's pieces, gathered (NULs included) */
typedef struct Gathered
{
	uint8_t    *bytes;
	size_t		len;
} Gathered;

static void
gather(void *arg, const uint8_t *bytes, size_t len)
{
	Gathered   *out = arg;

	out->bytes = realloc(out->bytes, out->len + len + 1);
	CHECK(out->bytes != NULL);
	memcpy(out->bytes + out->len, bytes, len);
	out->len += len;
}

/*
 * Written out in pieces (as the seals hash it), the digest form is the
 * same bytes as built as a copy, and fails where the copy fails.
 */
static void
check_digest_form_written(const bson_t *document, const char *exclude,
						  const char *const *key_columns)
{
	bson_t		form = BSON_INITIALIZER;
	bson_t		scratch = BSON_INITIALIZER;
	Gathered	written = {NULL, 0};
	bool		copied = bson_rules_digest_form(document, exclude, key_columns, &form);

	CHECK(bson_rules_digest_form_write(document, exclude, key_columns, &scratch,
									   gather, &written) == copied);
	if (copied)
		CHECK(written.len == form.len &&
			  memcmp(written.bytes, bson_get_data(&form), form.len) == 0);
	free(written.bytes);
	bson_destroy(&scratch);
	bson_destroy(&form);
}

/*
 * The digest form: readable for any document, a fixed point (applying it
 * again changes nothing), and it takes no key "%5Fid" below the top along;
 * written out in pieces, it is the same bytes.
 */
static void
check_digest_form(const bson_t *document)
{
	static const char *const key_columns[] = {"tenant_id", "log_id", NULL};
	bson_t		form = BSON_INITIALIZER;
	bson_t		again = BSON_INITIALIZER;

	if (bson_rules_digest_form(document, NULL, NULL, &form))
	{
		CHECK(bson_rules_digest_form(&form, NULL, NULL, &again));
		CHECK(form.len == again.len &&
			  memcmp(bson_get_data(&form), bson_get_data(&again), form.len) == 0);
	}
	bson_destroy(&form);
	bson_destroy(&again);
	check_digest_form_written(document, NULL, NULL);
	check_digest_form_written(document, "retry_count", key_columns);
}

/*
 * The text a key field's value must have in its _id part, made here
 * without the library's part functions (bson_rules_store_id_append_*,
 * which the document's way and the decoder's both use): a string's bytes,
 * {"%bytes": BinData}'s bytes, an integer in decimal, a uuid in its
 * canonical lower-case form.  buf holds at least 40 bytes.
 */
static const char *
expected_part(const bson_iter_t *field, char *buf, size_t *len)
{
	bson_iter_t bytes;
	bson_subtype_t subtype;
	uint32_t	n;
	const uint8_t *data;

	if (BSON_ITER_HOLDS_UTF8(field))
	{
		const char *value = bson_iter_utf8(field, &n);

		*len = n;
		return value;
	}
	if (BSON_ITER_HOLDS_INT32(field) || BSON_ITER_HOLDS_INT64(field))
	{
		*len = (size_t) snprintf(buf, 40, "%lld", (long long) bson_iter_as_int64(field));
		return buf;
	}
	if (BSON_ITER_HOLDS_BINARY(field))
	{
		bson_iter_binary(field, &subtype, &n, &data);
		CHECK(n == 16);
		*len = (size_t) snprintf(buf, 40,
								 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
								 data[0], data[1], data[2], data[3], data[4], data[5], data[6], data[7],
								 data[8], data[9], data[10], data[11], data[12], data[13], data[14],
								 data[15]);
		return buf;
	}
	CHECK(bson_iter_recurse(field, &bytes) && bson_iter_find(&bytes, BSON_RULES_BYTES_MARKER));
	bson_iter_binary(&bytes, &subtype, &n, &data);
	*len = n;
	return (const char *) data;
}

/*
 * The store's _id text of a document taken as a key: when it can be made,
 * it reads back unambiguously, one "<bytes>:<value>" per field and
 * nothing else, so no two keys share an _id.
 */
static void
check_store_id(const bson_t *key)
{
	bson_string_t *text = bson_string_new(NULL);
	bson_iter_t iter;
	uint32_t	fields = 0;

	if (bson_iter_init(&iter, key))
		while (bson_iter_next(&iter))
			fields++;
	if (bson_rules_store_id_text(key, text))
	{
		size_t		i = 0;
		uint32_t	parts = 0;
		bson_iter_t field;

		CHECK(bson_iter_init(&field, key));
		while (i < text->len)
		{
			size_t		length = 0;
			size_t		expected_len;
			char		buf[40];
			const char *expected;

			CHECK(text->str[i] >= '0' && text->str[i] <= '9');
			while (i < text->len && text->str[i] >= '0' && text->str[i] <= '9')
				length = length * 10 + (size_t) (text->str[i++] - '0');
			CHECK(i < text->len && text->str[i] == ':');
			i++;
			/* each part is its field's value, in the key's order */
			CHECK(bson_iter_next(&field));
			expected = expected_part(&field, buf, &expected_len);
			CHECK(length == expected_len && i + length <= text->len &&
				  memcmp(text->str + i, expected, length) == 0);
			i += length;
			parts++;
			if (i < text->len)
				CHECK(text->str[i++] == ',' && i < text->len);
		}
		CHECK(parts == fields);
	}
	bson_string_free(text, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size + 1);
	bson_t		document;
	bson_error_t error;

	memcpy(text, data, size);
	text[size] = '\0';
	/* keys and numbers are C strings: stop at an embedded NUL */
	check_key(text, strlen(text), false);
	check_key(text, strlen(text), true);
	check_number(text);
	if (bson_init_from_json(&document, text, -1, &error))
	{
		check_document(&document, 0);
		check_digest_form(&document);
		check_store_id(&document);
		bson_destroy(&document);
	}
	free(text);
	return 0;
}
