/*-------------------------------------------------------------------------
 *
 * row_bson.c
 *	  PostgreSQL values to BSON, by the rules the mirror's documents follow,
 *	  and BSON back to JSON for people and tests.
 *
 *	  Shared by the output plugin (decoder.c) and the SQL functions
 *	  authlog.jsonb_to_bson() and authlog.bson_to_json().  The rules make any
 *	  value PostgreSQL accepted storable in any MongoDB-compatible store,
 *	  reversibly:
 *	  - a JSON number is int32, int64 or double where that is exact, and
 *		otherwise {"%decimal": "<its exact decimal text>"};
 *	  - in object keys, "%" becomes "%25", "." becomes "%2E" and a leading
 *		"$" becomes "%24" (percent-encoding, so the rule is reversible and
 *		no escaped key can look like a marker);
 *	  - an array directly inside an array becomes {"%array": [...]}, since
 *		some stores refuse nested arrays;
 *	  - a string that is not UTF-8 (only a SQL_ASCII database holds one)
 *		becomes {"%bytes": BinData} of its exact bytes, and such a key has
 *		its non-ASCII bytes percent-encoded too: no store holds invalid
 *		UTF-8, and one such value must not stop the mirror;
 *	  - timestamptz is a BSON date (milliseconds) and, next to it, the exact
 *		microseconds since 1970 as Int64 under "<name>_us".
 *	  This file builds no message envelope; that is change_message.c's job.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>


#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "bson_rules.h"
#include "documents.h"

PG_FUNCTION_INFO_V1(authlog_jsonb_to_bson);
PG_FUNCTION_INFO_V1(authlog_bson_to_json);

/* Deepest BSON nesting bson_to_json converts; libbson elides deeper levels. */
#define BSON_JSON_MAX_DEPTH 100

static void append_jsonb_container(bson_t *out, JsonbContainer *container, RowDocumentForm form);
static void append_jsonb_value(bson_t *out, const char *key, int keylen, RowDocumentForm form,
							   JsonbValue *value, bool in_array);

static void
report_bson_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("document exceeds the BSON size limit"),
			 errdetail("A BSON document holds at most 2 GB.")));
}

#define BSON_CHECK(call) do { if (!(call)) report_bson_overflow(); } while (0)

/*
 * Can this string of the database encoding be stored as UTF-8?  Always,
 * but in a SQL_ASCII database, which accepts any bytes and declares none.
 */
static bool
storable_as_utf8(const char *str, int len)
{
	return GetDatabaseEncoding() != PG_SQL_ASCII ||
		pg_verify_mbstr(PG_UTF8, str, len, true);
}

/*
 * A string in the database encoding, as UTF-8 for BSON.  Returns a pointer
 * to the (possibly converted) bytes and sets *len.  The caller has checked
 * storable_as_utf8().
 */
static const char *
utf8_string(const char *str, int *len)
{
	char	   *converted;

	if (GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII)
		return str;
	converted = pg_server_to_any(str, *len, PG_UTF8);
	if (converted != str)
		*len = strlen(converted);
	return converted;
}

/*
 * A string value: UTF-8, or when it cannot be (bytes a SQL_ASCII database
 * took that are not UTF-8, which no store holds), its exact bytes as
 * {"%bytes": BinData}.
 */
static void
append_string(bson_t *out, const char *key, int keylen, const char *str, int len)
{
	if (storable_as_utf8(str, len))
	{
		str = utf8_string(str, &len);
		BSON_CHECK(bson_append_utf8(out, key, keylen, str, len));
	}
	else
	{
		bson_t		marker;

		BSON_CHECK(bson_append_document_begin(out, key, keylen, &marker));
		BSON_CHECK(bson_append_binary(&marker, BSON_RULES_BYTES_MARKER, -1,
									  BSON_SUBTYPE_BINARY, (const uint8_t *) str, len));
		BSON_CHECK(bson_append_document_end(out, &marker));
	}
}

/*
 * An object key under the escaping rule (bson_rules.c), in the store's
 * document format or, for the digest form, in 1.0's, which the form keeps
 * so that seals made before 1.1 verify.  Returns the key itself when
 * nothing needs escaping, the common case.
 */
static const char *
escaped_key(const char *key, int keylen, RowDocumentForm form, int *outlen)
{
	bool		bytes = !storable_as_utf8(key, keylen);
	BsonRulesFormat format = form == ROW_DOCUMENT_DIGEST ? BSON_RULES_FORMAT_1 : BSON_RULES_FORMAT_2;
	char	   *escaped;

	if (!bytes)
		key = utf8_string(key, &keylen);
	if (!bson_rules_key_needs_escape(key, keylen, bytes, format))
	{
		*outlen = keylen;
		return key;
	}
	*outlen = (int) bson_rules_escaped_key_length(key, keylen, bytes, format);
	escaped = palloc(*outlen + 1);
	bson_rules_escape_key(key, keylen, bytes, format, escaped);
	escaped[*outlen] = '\0';
	return escaped;
}

/* A JSON number, exactly, by the number rule (bson_rules.c). */
static void
append_json_number(bson_t *out, const char *key, int keylen, Numeric number)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(number)));

	BSON_CHECK(bson_rules_append_number(out, key, keylen, text));
	pfree(text);
}

static void
append_jsonb_array(bson_t *out, const char *key, int keylen, RowDocumentForm form,
				   JsonbContainer *container, bool in_array)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbIteratorToken token;
	JsonbValue	v;
	bson_t		array;
	bson_t		wrapper;
	bson_t	   *parent = out;
	uint32		index = 0;

	/* some stores refuse an array directly inside an array */
	if (in_array)
	{
		BSON_CHECK(bson_append_document_begin(out, key, keylen, &wrapper));
		parent = &wrapper;
		key = BSON_RULES_ARRAY_MARKER;
		keylen = -1;
	}
	BSON_CHECK(bson_append_array_begin(parent, key, keylen, &array));
	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token == WJB_ELEM)
		{
			char		index_buf[16];
			const char *index_key;
			size_t		index_len = bson_uint32_to_string(index++, &index_key,
														  index_buf, sizeof(index_buf));

			append_jsonb_value(&array, index_key, (int) index_len, form, &v, true);
		}
	}
	BSON_CHECK(bson_append_array_end(parent, &array));
	if (in_array)
		BSON_CHECK(bson_append_document_end(out, &wrapper));
}

static void
append_jsonb_value(bson_t *out, const char *key, int keylen, RowDocumentForm form,
				   JsonbValue *value, bool in_array)
{
	check_stack_depth();
	switch (value->type)
	{
		case jbvNull:
			BSON_CHECK(bson_append_null(out, key, keylen));
			break;
		case jbvBool:
			BSON_CHECK(bson_append_bool(out, key, keylen, value->val.boolean));
			break;
		case jbvString:
			append_string(out, key, keylen, value->val.string.val, value->val.string.len);
			break;
		case jbvNumeric:
			append_json_number(out, key, keylen, value->val.numeric);
			break;
		case jbvBinary:
			{
				JsonbContainer *container = value->val.binary.data;

				if (JsonContainerIsArray(container))
					append_jsonb_array(out, key, keylen, form, container, in_array);
				else
				{
					bson_t		child;

					BSON_CHECK(bson_append_document_begin(out, key, keylen, &child));
					append_jsonb_container(&child, container, form);
					BSON_CHECK(bson_append_document_end(out, &child));
				}
				break;
			}
		default:
			elog(ERROR, "authlog: unexpected jsonb value type %d", (int) value->type);
	}
}

/* The members of a jsonb object, appended to an open BSON document. */
static void
append_jsonb_container(bson_t *out, JsonbContainer *container, RowDocumentForm form)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbIteratorToken token;
	JsonbValue	v;
	const char *key = NULL;
	int			keylen = 0;

	while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (token == WJB_KEY)
		{
			key = escaped_key(v.val.string.val, v.val.string.len, form, &keylen);
		}
		else if (token == WJB_VALUE)
			append_jsonb_value(out, key, keylen, form, &v, false);
	}
}

static void
append_jsonb(bson_t *out, const char *key, Jsonb *jsonb, RowDocumentForm form)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jsonb))
	{
		/* a scalar root is stored as a one-element array */
		JsonbValue *scalar = getIthJsonbValueFromContainer(&jsonb->root, 0);

		append_jsonb_value(out, key, -1, form, scalar, false);
		return;
	}
	v.type = jbvBinary;
	v.val.binary.data = &jsonb->root;
	v.val.binary.len = VARSIZE(jsonb) - VARHDRSZ;
	append_jsonb_value(out, key, -1, form, &v, false);
}

/* "<key>_us" into buf (NAMEDATALEN + 4 bytes): the exact microseconds' key */
static int
microseconds_key(const char *key, char *buf)
{
	size_t		len = strnlen(key, NAMEDATALEN);

	memcpy(buf, key, len);
	memcpy(buf + len, "_us", 4);
	return (int) len + 3;
}

void
row_bson_append_timestamptz(bson_t *out, const char *key, TimestampTz ts)
{
	char		us_key[NAMEDATALEN + 4];
	int64		unix_us;

	if (TIMESTAMP_IS_NOBEGIN(ts))
		unix_us = PG_INT64_MIN;
	else if (TIMESTAMP_IS_NOEND(ts))
		unix_us = PG_INT64_MAX;
	else
		unix_us = ts + UNIX_TO_POSTGRES_USECS;

	/* floor division: a date before 1970 rounds down, like MongoDB's */
	BSON_CHECK(bson_append_date_time(out, key, -1,
									 unix_us >= 0 ? unix_us / 1000 : -((-unix_us + 999) / 1000)));
	BSON_CHECK(bson_append_int64(out, us_key, microseconds_key(key, us_key), unix_us));
}

/* A uuid[] (a seal's members) as an array of UUIDs; NULL elements as null. */
static void
append_uuid_array(bson_t *out, const char *key, ArrayType *array)
{
	Datum	   *elements;
	bool	   *element_nulls;
	int			count;
	int			i;
	bson_t		child;

	deconstruct_array(array, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &elements, &element_nulls, &count);
	BSON_CHECK(bson_append_array_begin(out, key, -1, &child));
	for (i = 0; i < count; i++)
	{
		char		index_buf[16];
		const char *index_key;
		size_t		index_len = bson_uint32_to_string((uint32) i, &index_key,
													  index_buf, sizeof(index_buf));

		if (element_nulls[i])
			BSON_CHECK(bson_append_null(&child, index_key, (int) index_len));
		else
			BSON_CHECK(bson_append_binary(&child, index_key, (int) index_len, BSON_SUBTYPE_UUID,
										  DatumGetUUIDP(elements[i])->data, UUID_LEN));
	}
	BSON_CHECK(bson_append_array_end(out, &child));
	pfree(elements);
	pfree(element_nulls);
}

/*
 * The output function of a type, looked up once per backend: the decoder
 * calls it for the types it has no mapping of (enums: see below).  Types are few, so a short list.
 */
typedef struct OutputFunction
{
	Oid			typid;
	bool		is_enum;
	FmgrInfo	flinfo;
} OutputFunction;

static OutputFunction *
output_function(Oid typid)
{
	static OutputFunction cache[16];
	static int	cached = 0;
	static int	next_victim = 0;
	OutputFunction *slot;
	Oid			output_func;
	bool		is_varlena;
	int			i;

	for (i = 0; i < cached; i++)
		if (cache[i].typid == typid)
			return &cache[i];

	getTypeOutputInfo(typid, &output_func, &is_varlena);
	if (cached < (int) lengthof(cache))
		slot = &cache[cached++];
	else
		slot = &cache[next_victim++ % lengthof(cache)];
	slot->typid = InvalidOid;	/* complete only once fmgr_info succeeded */
	slot->is_enum = get_typtype(typid) == TYPTYPE_ENUM;
	fmgr_info_cxt(output_func, &slot->flinfo, TopMemoryContext);
	slot->typid = typid;
	return slot;
}

/*
 * Enum labels by the value's OID.  enum_out looks the label up in the
 * catalog cache for every value, and every event carries two enums; the
 * labels are few.  A label can change (ALTER TYPE ... RENAME VALUE): any
 * invalidation of pg_enum's cache empties this one, and decoding replays
 * each transaction's invalidations where it committed, so a row is always
 * written with the label of its time.
 */
#define ENUM_LABELS 64

typedef struct EnumLabel
{
	Oid			value;
	int			len;
	char	   *label;
} EnumLabel;

static EnumLabel enum_labels[ENUM_LABELS];
static int	enum_labels_used = 0;
static MemoryContext enum_label_context = NULL;

static void
forget_enum_labels(Datum arg, int cacheid, uint32 hashvalue)
{
	enum_labels_used = 0;
	if (enum_label_context != NULL)
		MemoryContextReset(enum_label_context);
}

static void
append_enum(bson_t *out, const char *key, OutputFunction *output, Datum value)
{
	Oid			oid = DatumGetObjectId(value);
	char	   *str;
	int			i;

	for (i = 0; i < enum_labels_used; i++)
		if (enum_labels[i].value == oid)
		{
			append_string(out, key, -1, enum_labels[i].label, enum_labels[i].len);
			return;
		}

	str = OutputFunctionCall(&output->flinfo, value);
	if (enum_label_context == NULL)
	{
		enum_label_context = AllocSetContextCreate(TopMemoryContext, "authlog enum labels",
												   ALLOCSET_SMALL_SIZES);
		CacheRegisterSyscacheCallback(ENUMOID, forget_enum_labels, (Datum) 0);
	}
	if (enum_labels_used < ENUM_LABELS)
	{
		EnumLabel  *label = &enum_labels[enum_labels_used];

		label->label = MemoryContextStrdup(enum_label_context, str);
		label->len = strlen(str);
		label->value = oid;
		enum_labels_used++;
	}
	append_string(out, key, -1, str, strlen(str));
}

/*
 * An IPv4 inet as inet_out writes it (pg_inet_net_ntop): all four octets
 * in decimal, then "/bits" unless bits is 32; into text (at least
 * sizeof("255.255.255.255/32") bytes), NUL-terminated; returns its length.
 * pg_inet_net_ntop prints each octet with sprintf, which cost more than
 * the rest of the address's way into the document (callgrind).
 */
static int
ipv4_text(const unsigned char *addr, int bits, char *text)
{
	int			len = 0;

	for (int i = 0; i < 4; i++)
	{
		if (i > 0)
			text[len++] = '.';
		len += pg_ultoa_n(addr[i], text + len);
	}
	if (bits != 32)
	{
		text[len++] = '/';
		len += pg_ultoa_n((uint32) bits, text + len);
	}
	text[len] = '\0';
	return len;
}

/*
 * One column value.  Types the tables use have exact mappings; any other
 * type is carried as its text output, which is never lossy.
 */
static void
append_datum(bson_t *out, const char *key, Oid typid, Datum value, bool isnull,
			 RowDocumentForm form)
{
	if (isnull)
	{
		BSON_CHECK(bson_append_null(out, key, -1));
		if (typid == TIMESTAMPTZOID)
		{
			char		us_key[NAMEDATALEN + 4];

			BSON_CHECK(bson_append_null(out, us_key, microseconds_key(key, us_key)));
		}
		return;
	}

	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
			{
				text	   *t = DatumGetTextPP(value);

				append_string(out, key, -1, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case UUIDOID:
			BSON_CHECK(bson_append_binary(out, key, -1, BSON_SUBTYPE_UUID,
										  DatumGetUUIDP(value)->data, UUID_LEN));
			break;
		case TIMESTAMPTZOID:
			row_bson_append_timestamptz(out, key, DatumGetTimestampTz(value));
			break;
		case INT2OID:
			BSON_CHECK(bson_append_int32(out, key, -1, DatumGetInt16(value)));
			break;
		case INT4OID:
			BSON_CHECK(bson_append_int32(out, key, -1, DatumGetInt32(value)));
			break;
		case INT8OID:
			BSON_CHECK(bson_append_int64(out, key, -1, DatumGetInt64(value)));
			break;
		case BOOLOID:
			BSON_CHECK(bson_append_bool(out, key, -1, DatumGetBool(value)));
			break;
		case FLOAT8OID:
			BSON_CHECK(bson_append_double(out, key, -1, DatumGetFloat8(value)));
			break;
		case NUMERICOID:
			append_json_number(out, key, -1, DatumGetNumeric(value));
			break;
		case JSONBOID:
			append_jsonb(out, key, DatumGetJsonbP(value), form);
			break;
		case BYTEAOID:
			{
				bytea	   *b = DatumGetByteaPP(value);

				BSON_CHECK(bson_append_binary(out, key, -1, BSON_SUBTYPE_BINARY,
											  (const uint8_t *) VARDATA_ANY(b),
											  VARSIZE_ANY_EXHDR(b)));
				break;
			}
		case UUIDARRAYOID:
			append_uuid_array(out, key, DatumGetArrayTypeP(value));
			break;
		case INETOID:
			{
				/* inet_out's text, without its fmgr call and copy */
				inet	   *ip = DatumGetInetPP(value);
				char		text[sizeof("xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:255.255.255.255/128")];

				if (ip_family(ip) == PGSQL_AF_INET && ip_bits(ip) <= 32)
				{
					append_string(out, key, -1, text, ipv4_text(ip_addr(ip), ip_bits(ip), text));
					break;
				}
				if (pg_inet_net_ntop(ip_family(ip), ip_addr(ip), ip_bits(ip),
									 text, sizeof(text)) == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
							 errmsg("could not format inet value: %m")));
				append_string(out, key, -1, text, strlen(text));
				break;
			}
		default:
			{
				/* enums and anything else: the type's own text form */
				OutputFunction *output = output_function(typid);
				char	   *str;

				if (output->is_enum)
				{
					append_enum(out, key, output, value);
					break;
				}
				str = OutputFunctionCall(&output->flinfo, value);
				append_string(out, key, -1, str, strlen(str));
				break;
			}
	}
}


/*
 * Where a table's key columns are in its rows: found by name once per row
 * type, checked by name at each use (a column dropped and added again
 * moves), so a row costs one comparison per key column, not one per
 * column and key column.
 */
#define MAX_KEY_COLUMNS 4

typedef struct KeyPositions
{
	Oid			typid;
	const char *const *key_columns;
	int			natts;
	int			count;
	int			attnums[MAX_KEY_COLUMNS];	/* 0-based, in table order */
} KeyPositions;

static const int *
key_positions(TupleDesc desc, const char *const *key_columns, int *count)
{
	static KeyPositions cache[8];
	static int	next_victim = 0;
	KeyPositions *entry = NULL;
	int			c;
	int			i;

	for (c = 0; c < (int) lengthof(cache); c++)
	{
		KeyPositions *k = &cache[c];
		bool		valid = k->key_columns == key_columns && k->typid == desc->tdtypeid &&
			k->natts == desc->natts && k->count > 0;

		for (i = 0; valid && i < k->count; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, k->attnums[i]);

			valid = !att->attisdropped && strcmp(NameStr(att->attname), key_columns[i]) == 0;
		}
		if (valid)
		{
			*count = k->count;
			return k->attnums;
		}
	}

	entry = &cache[next_victim++ % lengthof(cache)];
	entry->count = 0;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *const *column;

		if (att->attisdropped)
			continue;
		for (column = key_columns; *column != NULL; column++)
			if (strcmp(*column, NameStr(att->attname)) == 0)
			{
				if (entry->count == MAX_KEY_COLUMNS)
					elog(ERROR, "authlog: too many key columns");
				entry->attnums[entry->count++] = i;
				break;
			}
	}
	/* cached only when the names it checks come in key_columns' order */
	for (i = 0; i < entry->count; i++)
		if (key_columns[i] == NULL ||
			strcmp(NameStr(TupleDescAttr(desc, entry->attnums[i])->attname), key_columns[i]) != 0)
			break;
	entry->key_columns = i == entry->count ? key_columns : NULL;
	entry->typid = desc->tdtypeid;
	entry->natts = desc->natts;
	*count = entry->count;
	return entry->attnums;
}

/*
 * A row's key columns, appended to doc: in the table's order for the
 * store's _id (as it has always been made), in key_columns' order for the
 * key document (the order bson_rules_key_of_fields gives the form seals
 * digest); the two differ only for a table whose key columns are not in
 * that order.
 */
static void
append_key_columns(bson_t *doc, TupleDesc desc, Datum *values, bool *nulls,
				   const char *const *key_columns, bool in_key_order)
{
	int			count;
	const int  *attnums = key_positions(desc, key_columns, &count);

	for (int k = 0; in_key_order ? key_columns[k] != NULL : k < count; k++)
		for (int i = 0; i < count; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, attnums[i]);

			if (in_key_order ? strcmp(NameStr(att->attname), key_columns[k]) != 0 : i != k)
				continue;
			append_datum(doc, NameStr(att->attname), att->atttypid,
						 values[attnums[i]], nulls[attnums[i]], ROW_DOCUMENT_STORE);
			break;
		}
}

/*
 * The store's _id text of a row, made into out from its key columns'
 * values for the types key columns have (text, uuid, integers), with the
 * parts bson_rules_store_id_text makes of the same values in a key
 * document: the decoder makes one for every row, and building the document
 * only to take it apart again cost a tenth of its instructions
 * (callgrind).  False, with out partly written, for anything else (a NULL,
 * another type, a string a SQL_ASCII database holds that is not UTF-8):
 * the key document's way then.
 */
static bool
store_id_from_values(bson_string_t *out, TupleDesc desc, Datum *values, bool *nulls,
					 const char *const *key_columns)
{
	int			count;
	const int  *attnums = key_positions(desc, key_columns, &count);

	for (int k = 0; k < count; k++)
	{
		int			i = attnums[k];
		Datum		value = values[i];

		if (nulls[i])
			return false;
		switch (TupleDescAttr(desc, i)->atttypid)
		{
			case TEXTOID:
			case VARCHAROID:
				{
					text	   *t = DatumGetTextPP(value);
					const char *str = VARDATA_ANY(t);
					int			len = VARSIZE_ANY_EXHDR(t);

					if (!storable_as_utf8(str, len))
						return false;
					str = utf8_string(str, &len);
					bson_rules_store_id_append_text(out, str, len);
					break;
				}
			case UUIDOID:
				bson_rules_store_id_append_uuid(out, DatumGetUUIDP(value)->data);
				break;
			case INT2OID:
				bson_rules_store_id_append_int(out, DatumGetInt16(value));
				break;
			case INT4OID:
				bson_rules_store_id_append_int(out, DatumGetInt32(value));
				break;
			case INT8OID:
				bson_rules_store_id_append_int(out, DatumGetInt64(value));
				break;
			default:
				return false;
		}
	}
	return count > 0;
}

/*
 * The store's _id of a row, as *id: one scalar made injectively from its
 * key columns (bson_rules_store_id_text), which every MongoDB-wire store
 * indexes; FerretDB leaves a document _id unindexed, so each update by
 * one was a scan (NOTES.md).  Made once per row, for both its message and
 * its document; id->text stays valid until the next call.
 */
void
row_bson_store_id(RowStoreId *id, TupleDesc desc, Datum *values, bool *nulls,
				  const char *const *key_columns)
{
	static bson_string_t *text = NULL;
	bson_t		key;
	bool		ok;

	if (text == NULL)
		text = bson_string_new(NULL);	/* kept for the process: one buffer for every row */
	bson_string_truncate(text, 0);

	if (store_id_from_values(text, desc, values, nulls, key_columns))
		ok = id->utf8 = true;
	else
	{
		/* a key is a few hundred bytes at most; a longer one is malloc'd and freed here */
		bson_string_truncate(text, 0);
		bson_init(&key);
		append_key_columns(&key, desc, values, nulls, key_columns, false);
		ok = bson_rules_store_id_text_utf8(&key, text, &id->utf8);
		bson_destroy(&key);
	}
	if (!ok)
		elog(ERROR, "authlog: a row's key columns cannot make a store _id");
	id->text = text->str;
	id->len = text->len;
	id->key = NULL;
}

/*
 * A row's _id as the document of its key columns, in key_columns' order,
 * each as the row's document has it: the _id of the form seals digest
 * (bson_rules_digest_form), without the store's scalar made and then
 * replaced (the sealer's stream asks for it: option document).
 */
void
row_bson_key_id(RowStoreId *id, TupleDesc desc, Datum *values, bool *nulls,
				const char *const *key_columns)
{
	static bson_t *key = NULL;

	if (key == NULL)
		key = bson_new();		/* kept for the process: one buffer for every row */
	else
		bson_reinit(key);
	append_key_columns(key, desc, values, nulls, key_columns, true);
	id->text = NULL;
	id->len = 0;
	id->utf8 = true;
	id->key = key;
}

void
row_bson_append_store_id(bson_t *out, const char *name, const RowStoreId *id)
{
	if (id->key != NULL)
	{
		BSON_CHECK(bson_append_document(out, name, -1, id->key));
		return;
	}
	BSON_CHECK(bson_rules_append_store_id_as(out, name, id->text, id->len, id->utf8));
}

/* A varlena value an UPDATE's new row left out because it did not change. */
static bool
is_unchanged_toast(Form_pg_attribute att, Datum value, bool isnull)
{
	return !isnull && att->attlen == -1 &&
		VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value));
}

/*
 * A row as the document the store holds: {_id: its store id, every column}.  This
 * one function builds the document for the decoder, the resync and
 * mirror_verify, so all three agree byte for byte.  When unchanged is not
 * NULL (a decoded row), columns whose value is an on-disk TOAST pointer were
 * left out of an UPDATE because they did not change: they are skipped and
 * their names appended to *unchanged.  Otherwise such values are fetched.
 */
void
row_bson_append_row(bson_t *out, const char *name, TupleDesc desc,
					Datum *values, bool *nulls, const char *const *key_columns,
					const RowStoreId *id, List **unchanged, RowDocumentForm form)
{
	bson_t		doc;

	BSON_CHECK(bson_append_document_begin(out, name, -1, &doc));
	row_bson_append_row_fields(&doc, desc, values, nulls, key_columns, id, unchanged, form);
	BSON_CHECK(bson_append_document_end(out, &doc));
}

/* The fields of a row's document, appended to an open document. */
void
row_bson_append_row_fields(bson_t *doc, TupleDesc desc, Datum *values, bool *nulls,
						   const char *const *key_columns, const RowStoreId *id,
						   List **unchanged, RowDocumentForm form)
{
	RowStoreId	own;
	int			i;

	if (id == NULL)
	{
		if (form == ROW_DOCUMENT_DIGEST)
			row_bson_key_id(&own, desc, values, nulls, key_columns);
		else
			row_bson_store_id(&own, desc, values, nulls, key_columns);
		id = &own;
	}
	Assert(form == ROW_DOCUMENT_STORE || id->key != NULL);
	row_bson_append_store_id(doc, "_id", id);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (form == ROW_DOCUMENT_DIGEST && strcmp(NameStr(att->attname), SEAL_DIGEST_LEFT_OUT) == 0)
			continue;
		/* in a decoded row a TOAST pointer means "unchanged"; elsewhere it is fetched */
		if (unchanged != NULL && is_unchanged_toast(att, values[i], nulls[i]))
		{
			*unchanged = lappend(*unchanged, NameStr(att->attname));
			continue;
		}
		append_datum(doc, NameStr(att->attname), att->atttypid, values[i], nulls[i], form);
	}
}

/* ---------- BSON back to jsonb ---------- */

/*
 * libbson's JSON text as jsonb.  The text is copied into palloc'd memory
 * and freed at once, so an error in jsonb_in cannot leak it.
 */
static Datum
json_text_to_jsonb(char *json)
{
	char	   *copy = pstrdup(json);

	bson_free(json);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(copy));
}

Datum
bson_bytes_to_jsonb(const uint8 *data, uint32 len)
{
	bson_t		b;
	char	   *json;

	if (!bson_init_static(&b, data, len))
		return (Datum) 0;
	json = bson_as_canonical_extended_json(&b, NULL);
	if (json == NULL)
		elog(ERROR, "authlog: could not convert a document to JSON");
	return json_text_to_jsonb(json);
}


/* ---------- SQL functions ---------- */

/* Releases a libbson-allocated document if an error unwinds past it. */
static void
free_bson_callback(void *arg)
{
	bson_destroy((bson_t *) arg);
}

bson_t *
row_bson_new_owned(MemoryContext context)
{
	MemoryContextCallback *callback;
	bson_t	   *document = bson_new();

	callback = MemoryContextAlloc(context, sizeof(MemoryContextCallback));
	callback->func = free_bson_callback;
	callback->arg = document;
	MemoryContextRegisterResetCallback(context, callback);
	return document;
}

static bytea *
bson_to_bytea(const bson_t *document)
{
	bytea	   *result = palloc(VARHDRSZ + document->len);

	SET_VARSIZE(result, VARHDRSZ + document->len);
	memcpy(VARDATA(result), bson_get_data(document), document->len);
	return result;
}

/*
 * authlog.jsonb_to_bson(jsonb) RETURNS bytea: the document the mirror
 * stores for a metadata value, so the rules can be tested and fuzzed
 * without decoding WAL.  A non-object is wrapped as {"value": ...}.
 */
Datum
authlog_jsonb_to_bson(PG_FUNCTION_ARGS)
{
	Jsonb	   *jsonb = PG_GETARG_JSONB_P(0);
	bson_t	   *document = row_bson_new_owned(CurrentMemoryContext);

	if (JB_ROOT_IS_OBJECT(jsonb) && !JB_ROOT_IS_SCALAR(jsonb))
		append_jsonb_container(document, &jsonb->root, ROW_DOCUMENT_STORE);
	else
		append_jsonb(document, "value", jsonb, ROW_DOCUMENT_STORE);
	PG_RETURN_BYTEA_P(bson_to_bytea(document));
}

/* Nesting depth of a BSON document; the document itself is 1. */
static int
bson_depth(const bson_t *document, int limit)
{
	bson_iter_t iter;
	int			deepest = 1;

	if (!bson_iter_init(&iter, document))
		return limit + 1;
	while (bson_iter_next(&iter))
	{
		if (BSON_ITER_HOLDS_DOCUMENT(&iter) || BSON_ITER_HOLDS_ARRAY(&iter))
		{
			const uint8_t *data;
			uint32_t	len;
			bson_t		child;
			int			depth;

			if (BSON_ITER_HOLDS_DOCUMENT(&iter))
				bson_iter_document(&iter, &len, &data);
			else
				bson_iter_array(&iter, &len, &data);
			if (limit <= 1 || !bson_init_static(&child, data, len))
				return limit + 1;
			depth = 1 + bson_depth(&child, limit - 1);
			if (depth > deepest)
				deepest = depth;
			if (deepest > limit)
				return deepest;
		}
	}
	return deepest;
}

/*
 * authlog.bson_to_json(bytea) RETURNS jsonb: a BSON document (a change
 * message, or a document of the store) as MongoDB canonical Extended JSON.
 * Invalid or too deeply nested input is an error, never a truncated result.
 */
Datum
authlog_bson_to_json(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	bson_t		document;
	size_t		error_offset = 0;
	char	   *json;

	if (!bson_init_static(&document, (const uint8_t *) VARDATA_ANY(raw),
						  VARSIZE_ANY_EXHDR(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid BSON document"),
				 errdetail("The value is %d bytes long, or its length header does not match it.",
						   (int) VARSIZE_ANY_EXHDR(raw)),
				 errhint("Pass one whole BSON document, such as a message of the authlog output plugin.")));
	if (!bson_validate(&document, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &error_offset))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid BSON document"),
				 errdetail("The document is malformed at byte %zu.", error_offset)));
	if (bson_depth(&document, BSON_JSON_MAX_DEPTH) > BSON_JSON_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("BSON document nests deeper than %d levels", BSON_JSON_MAX_DEPTH),
				 errhint("MongoDB refuses such documents too.")));

	json = bson_as_canonical_extended_json(&document, NULL);
	if (json == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("BSON document cannot be converted to JSON")));
	PG_RETURN_DATUM(json_text_to_jsonb(json));
}
