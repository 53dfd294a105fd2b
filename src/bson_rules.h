/*-------------------------------------------------------------------------
 *
 * bson_rules.h
 *	  The mirror's document rules that need no server: key escaping, the
 *	  exact number rule, and the form of a document that seals digest.  Used by row_bson.c in the server and by the
 *	  fuzzer (test/fuzz), which runs without one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BSON_RULES_H
#define BSON_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <bson/bson.h>

/* Markers of the rules' wrapped values; no escaped key can look like one */
#define BSON_RULES_DECIMAL_MARKER "%decimal"
#define BSON_RULES_ARRAY_MARKER "%array"
#define BSON_RULES_BYTES_MARKER "%bytes"

/* Deepest nesting bson_rules_digest_form follows (MongoDB allows 100) */
#define BSON_RULES_MAX_DEPTH 200

/* Longest decimal text bson_rules_number_text writes for a BSON number */
#define BSON_RULES_NUMBER_TEXT_LEN 32

/*
 * The documents' formats, which differ only in one key rule: format 2
 * (1.1's store) escapes an object key "_id" as "%5Fid"; format 1 (1.0's
 * store, and the form seals digest, which keeps it) writes it as it is.
 */
typedef enum BsonRulesFormat
{
	BSON_RULES_FORMAT_1 = 1,
	BSON_RULES_FORMAT_2 = 2
} BsonRulesFormat;

extern bool bson_rules_key_needs_escape(const char *key, size_t len, bool bytes,
										BsonRulesFormat format);
extern size_t bson_rules_escaped_key_length(const char *key, size_t len, bool bytes,
											BsonRulesFormat format);
extern void bson_rules_escape_key(const char *key, size_t len, bool bytes,
								  BsonRulesFormat format, char *out);
extern bool bson_rules_unescape_key(const char *key, size_t len, BsonRulesFormat format,
									char *out, size_t *outlen);
extern bool bson_rules_append_number(bson_t *out, const char *key, int keylen,
									 const char *decimal);
extern bool bson_rules_number_text(const bson_iter_t *iter, char *buf, size_t buflen);
extern bool bson_rules_decimal_equal(const char *a, const char *b);
extern bool bson_rules_digest_form(const bson_t *document, const char *exclude,
								   const char *const *key_columns, bson_t *out);

/*
 * The bytes of bson_rules_digest_form's document, handed to write(arg,
 * bytes, len) in order, mostly as runs of the document itself rather than
 * as a copy: for hashing.  scratch (initialised, emptied here) holds what
 * is rewritten.  Same result and failures as bson_rules_digest_form.
 */
typedef void (*BsonRulesWrite) (void *arg, const uint8_t *bytes, size_t len);
extern bool bson_rules_digest_form_write(const bson_t *document, const char *exclude,
										 const char *const *key_columns, bson_t *scratch,
										 BsonRulesWrite write, void *arg);

/*
 * The store's _id of a row (since 1.1's library): one scalar built
 * injectively from its key, so that every MongoDB-wire store indexes it.
 * key is the key columns as a document, in order, each as the document
 * holds it; the text is "<bytes>:<value>" per column, joined by ",".
 */
extern bool bson_rules_store_id_text(const bson_t *key, bson_string_t *out);
extern bool bson_rules_store_id_text_utf8(const bson_t *key, bson_string_t *out, bool *utf8);
/* the same parts from the values themselves, one key column at a time, in order */
extern void bson_rules_store_id_append_text(bson_string_t *out, const char *value, size_t len);
extern void bson_rules_store_id_append_uuid(bson_string_t *out, const uint8_t *uuid);
extern void bson_rules_store_id_append_int(bson_string_t *out, int64_t value);
extern bool bson_rules_append_store_id_as(bson_t *out, const char *name, const char *text,
										  size_t len, bool utf8);
extern bool bson_rules_append_store_id(bson_t *out, const char *name, const bson_t *key);
extern bool bson_rules_append_store_id_text(bson_t *out, const char *name,
											const char *text, size_t len);
extern bool bson_rules_key_of_fields(const bson_t *document,
									 const char *const *key_columns, bson_t *key);

#endif							/* BSON_RULES_H */
