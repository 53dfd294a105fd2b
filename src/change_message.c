/*-------------------------------------------------------------------------
 *
 * change_message.c
 *	  The change message, written and read in one place (change_message.h
 *	  gives its layout), and the registry of the tables it covers.
 *
 *	  The writer appends fields in the documented order, so the plugin's
 *	  JSON output is stable; the reader takes them in any order, and
 *	  refuses what it cannot place, so a consumer never guesses.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "bson_rules.h"
#include "change_message.h"
#include "documents.h"


/* ---------- the tables ---------- */

const char *const change_table_names[CHANGE_TABLES] = {
	[CHANGE_TABLE_AUTH_LOGS] = "auth_logs",
	[CHANGE_TABLE_ACCOUNT_LOCKOUTS] = "account_lockouts",
	[CHANGE_TABLE_SEALS] = "seals",
	[CHANGE_TABLE_ACCESS_LOG] = "access_log",
	[CHANGE_TABLE_RECORDS_LOG] = "records_log",
};

/*
 * The columns that identify a row of each table, in table order: the
 * store's _id is made of them (and was, as a document, before 1.1's
 * library), and each is kept as a field of the document too.
 */
static const char *const auth_logs_key[] = {"tenant_id", "log_id", NULL};
static const char *const account_lockouts_key[] = {"tenant_id", "user_id", NULL};
static const char *const seals_key[] = {"tenant_id", "seal_no", NULL};
static const char *const access_log_key[] = {"tenant_id", "access_id", NULL};
static const char *const records_log_key[] = {"tenant_id", "record_id", NULL};

static const char *const *const table_keys[CHANGE_TABLES] = {
	[CHANGE_TABLE_AUTH_LOGS] = auth_logs_key,
	[CHANGE_TABLE_ACCOUNT_LOCKOUTS] = account_lockouts_key,
	[CHANGE_TABLE_SEALS] = seals_key,
	[CHANGE_TABLE_ACCESS_LOG] = access_log_key,
	[CHANGE_TABLE_RECORDS_LOG] = records_log_key,
};

ChangeTable
change_table_lookup(const char *relname)
{
	int			i;

	for (i = 0; i < CHANGE_TABLES; i++)
		if (strcmp(relname, change_table_names[i]) == 0)
			return (ChangeTable) i;
	return CHANGE_TABLE_NONE;
}

/*
 * The name of the table a relation's rows belong to: its own, or (1.1) a
 * partition's partitioned table's, as pgoutput's publish_via_partition_root
 * names them: auth_logs' months are auth_logs to every consumer.
 */
const char *
change_relation_table_name(Relation rel)
{
	List	   *ancestors;
	char	   *root = NULL;

	if (!rel->rd_rel->relispartition)
		return RelationGetRelationName(rel);
	ancestors = get_partition_ancestors(RelationGetRelid(rel));
	if (ancestors != NIL)
		root = get_rel_name(llast_oid(ancestors));
	list_free(ancestors);
	return root ? root : RelationGetRelationName(rel);
}

const char *const *
change_table_key_columns(ChangeTable table)
{
	Assert(table >= 0 && table < CHANGE_TABLES);
	return table_keys[table];
}

/*
 * Whether the installed schema has the table: a library newer than the
 * installed extension (1.1's before ALTER EXTENSION UPDATE) knows tables
 * the schema does not have yet.  Needs a transaction.
 */
bool
change_table_installed(ChangeTable table)
{
	Oid			schema = get_namespace_oid("authlog", true);

	return OidIsValid(schema) && OidIsValid(get_relname_relid(change_table_names[table], schema));
}

/*
 * Tables whose rows are evidence: append-only in PostgreSQL, and kept in the
 * store as they were committed (the mirror applies their inserts and
 * auth_logs' retry counts, nothing else).
 */
bool
change_table_is_evidence(ChangeTable table)
{
	return table == CHANGE_TABLE_AUTH_LOGS || table == CHANGE_TABLE_SEALS ||
		table == CHANGE_TABLE_ACCESS_LOG || table == CHANGE_TABLE_RECORDS_LOG;
}


/* ---------- the ops ---------- */

static const char *const op_names[] = {
	[CHANGE_BEGIN] = "begin",
	[CHANGE_COMMIT] = "commit",
	[CHANGE_INSERT] = "insert",
	[CHANGE_UPDATE] = "update",
	[CHANGE_DELETE] = "delete",
	[CHANGE_TRUNCATE] = "truncate",
};

static bool
op_is_marker(ChangeOp op)
{
	return op == CHANGE_BEGIN || op == CHANGE_COMMIT;
}


/* ---------- the write side ---------- */

static void
report_message_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("change message exceeds the BSON size limit")));
}

#define MESSAGE_CHECK(call) do { if (!(call)) report_message_overflow(); } while (0)

void
change_message_start(bson_t *out, ChangeOp op, ChangeTable table,
					 const ChangeTransaction *txn)
{
	Assert(op_is_marker(op) == (table == CHANGE_TABLE_NONE));
	MESSAGE_CHECK(bson_append_utf8(out, "op", -1, op_names[op], -1));
	if (op_is_marker(op))
		MESSAGE_CHECK(bson_append_int64(out, "xid", -1, (int64) txn->xid));
	else
		MESSAGE_CHECK(bson_append_utf8(out, "table", -1, change_table_names[table], -1));
	MESSAGE_CHECK(bson_append_int64(out, "commit_lsn", -1, (int64) txn->commit_lsn));
	MESSAGE_CHECK(bson_append_int64(out, "end_lsn", -1, (int64) txn->end_lsn));
	if (txn->has_commit_time)
		row_bson_append_timestamptz(out, "commit_time", txn->commit_time);
}

void
change_message_append_key(bson_t *out, ChangeTable table, TupleDesc desc,
						  Datum *values, bool *nulls, RowDocumentForm form, RowStoreId *id)
{
	RowStoreId	own;

	if (id == NULL)
		id = &own;
	if (form == ROW_DOCUMENT_DIGEST)
		row_bson_key_id(id, desc, values, nulls, change_table_key_columns(table));
	else
		row_bson_store_id(id, desc, values, nulls, change_table_key_columns(table));
	row_bson_append_store_id(out, "_id", id);
}

void
change_message_append_row(bson_t *out, ChangeTable table, TupleDesc desc,
						  Datum *values, bool *nulls, const RowStoreId *id,
						  bool track_unchanged, RowDocumentForm form)
{
	List	   *unchanged = NIL;
	bson_t		array;
	ListCell   *lc;
	uint32		index = 0;

	row_bson_append_row(out, "doc", desc, values, nulls, change_table_key_columns(table),
						id, track_unchanged ? &unchanged : NULL, form);
	if (unchanged == NIL)
		return;
	MESSAGE_CHECK(bson_append_array_begin(out, "unchanged", -1, &array));
	foreach(lc, unchanged)
	{
		char		index_buf[16];
		const char *index_key;
		size_t		index_len = bson_uint32_to_string(index++, &index_key,
													  index_buf, sizeof(index_buf));

		MESSAGE_CHECK(bson_append_utf8(&array, index_key, (int) index_len,
									   (const char *) lfirst(lc), -1));
	}
	MESSAGE_CHECK(bson_append_array_end(out, &array));
	list_free(unchanged);
}


/* ---------- the read side ---------- */

static bool
read_op(bson_iter_t *iter, ChangeOp *op)
{
	const char *name;
	int			i;

	if (!BSON_ITER_HOLDS_UTF8(iter))
		return false;
	name = bson_iter_utf8(iter, NULL);
	for (i = 0; i < (int) lengthof(op_names); i++)
		if (strcmp(name, op_names[i]) == 0)
		{
			*op = (ChangeOp) i;
			return true;
		}
	return false;
}

static bool
read_subdocument(bson_iter_t *iter, bson_t *out)
{
	const uint8_t *data;
	uint32_t	len;

	if (!BSON_ITER_HOLDS_DOCUMENT(iter))
		return false;
	bson_iter_document(iter, &len, &data);
	return bson_init_static(out, data, len);
}

bool
change_message_read(const bson_t *message, ChangeMessage *out)
{
	bson_iter_t iter;
	bool		has_op = false;
	bool		ok = true;

	memset(out, 0, sizeof(ChangeMessage));
	out->table = CHANGE_TABLE_NONE;
	if (!bson_iter_init(&iter, message))
		return false;
	while (ok && bson_iter_next(&iter))
	{
		const char *key = bson_iter_key(&iter);

		if (strcmp(key, "op") == 0)
			ok = has_op = read_op(&iter, &out->op);
		else if (strcmp(key, "table") == 0)
			ok = BSON_ITER_HOLDS_UTF8(&iter) &&
				(out->table = change_table_lookup(bson_iter_utf8(&iter, NULL))) != CHANGE_TABLE_NONE;
		else if (strcmp(key, "commit_lsn") == 0)
			out->commit_lsn = (XLogRecPtr) bson_iter_as_int64(&iter);
		else if (strcmp(key, "end_lsn") == 0)
			out->end_lsn = (XLogRecPtr) bson_iter_as_int64(&iter);
		else if (strcmp(key, "commit_time_us") == 0)
		{
			out->has_commit_time = true;
			out->commit_time = bson_iter_as_int64(&iter) - UNIX_TO_POSTGRES_USECS;
		}
		else if (strcmp(key, "_id") == 0)
		{
			/*
			 * a scalar (UTF-8, or BinData for a key that is not UTF-8), or
			 * the key columns' document (option document 'digest'), which
			 * no reader of a store key asks for
			 */
			if (BSON_ITER_HOLDS_DOCUMENT(&iter))
				continue;
			if (BSON_ITER_HOLDS_UTF8(&iter))
			{
				out->id = bson_iter_utf8(&iter, &out->id_len);
				out->id_utf8 = true;
			}
			else if (BSON_ITER_HOLDS_BINARY(&iter))
			{
				bson_subtype_t subtype;

				bson_iter_binary(&iter, &subtype, &out->id_len, (const uint8_t **) &out->id);
			}
			ok = out->has_id = out->id != NULL;
		}
		else if (strcmp(key, "doc") == 0)
			ok = out->has_doc = read_subdocument(&iter, &out->doc);
		else if (strcmp(key, "unchanged") == 0)
			out->has_unchanged = true;
	}
	return ok && has_op && (op_is_marker(out->op) == (out->table == CHANGE_TABLE_NONE));
}

bool
change_message_is_event_insert(const ChangeMessage *message)
{
	return message->op == CHANGE_INSERT && message->table == CHANGE_TABLE_AUTH_LOGS &&
		message->has_doc;
}

const char *
change_message_doc_utf8(const ChangeMessage *message, const char *field)
{
	bson_iter_t iter;

	if (!message->has_doc || !bson_iter_init_find(&iter, &message->doc, field) ||
		!BSON_ITER_HOLDS_UTF8(&iter))
		return NULL;
	return bson_iter_utf8(&iter, NULL);
}

/* The uuid a document holds in field */
static bool
doc_uuid(const ChangeMessage *message, const char *field, pg_uuid_t *id)
{
	bson_iter_t iter;
	bson_subtype_t subtype;
	const uint8_t *data;
	uint32_t	len;

	if (!message->has_doc || !bson_iter_init_find(&iter, &message->doc, field) ||
		!BSON_ITER_HOLDS_BINARY(&iter))
		return false;
	bson_iter_binary(&iter, &subtype, &len, &data);
	if (len != UUID_LEN)
		return false;
	memcpy(id->data, data, UUID_LEN);
	return true;
}

/*
 * The id a seal lists an insert of an evidence row under: its key's uuid
 * (auth_logs' log_id, access_log's access_id).
 */
bool
change_message_member_id(const ChangeMessage *message, pg_uuid_t *id)
{
	return message->table != CHANGE_TABLE_NONE && doc_uuid(message, change_table_key_columns(message->table)[1], id);
}

bool
change_message_log_id(const ChangeMessage *message, pg_uuid_t *log_id)
{
	return doc_uuid(message, "log_id", log_id);
}

bool
change_message_tenant(const ChangeMessage *message, const char **tenant, int *len)
{
	bson_iter_t iter;
	bson_iter_t bytes;
	uint32_t	length;

	if (!message->has_doc || !bson_iter_init_find(&iter, &message->doc, "tenant_id"))
		return false;
	if (BSON_ITER_HOLDS_UTF8(&iter))
	{
		*tenant = bson_iter_utf8(&iter, &length);
		*len = (int) length;
		return true;
	}
	if (BSON_ITER_HOLDS_DOCUMENT(&iter) && bson_iter_recurse(&iter, &bytes) &&
		bson_iter_find(&bytes, BSON_RULES_BYTES_MARKER) && BSON_ITER_HOLDS_BINARY(&bytes))
	{
		bson_subtype_t subtype;

		bson_iter_binary(&bytes, &subtype, &length, (const uint8_t **) tenant);
		*len = (int) length;
		return true;
	}
	return false;
}
