/*-------------------------------------------------------------------------
 *
 * change_message.h
 *	  The one definition of authlog's change message, the BSON document
 *	  the output plugin writes for each change to a mirrored table, and
 *	  the tables it covers.  As logicalproto.h and proto.c are for
 *	  pgoutput, the writer and the reader live together in
 *	  change_message.c:
 *
 *	  { op, [xid,] [table,] commit_lsn, end_lsn, [commit_time, commit_time_us,]
 *	    [_id, doc, unchanged] }
 *
 *	  written by the decoder (decoder.c) and the mirror's resync (which has
 *	  no transaction: LSNs 0, no commit time), read by the mirror's batch,
 *	  the store client, the sealer and the lockout NOTIFY.
 *	  doc/output-plugin.md specifies it for other consumers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHANGE_MESSAGE_H
#define CHANGE_MESSAGE_H

#include <bson/bson.h>

#include "access/tupdesc.h"
#include "access/xlogdefs.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

#include "authlog_common.h"
#include "documents.h"

/* The tables the output plugin decodes and the mirror copies, in apply order */
typedef enum ChangeTable
{
	CHANGE_TABLE_NONE = -1,		/* transaction markers */
	CHANGE_TABLE_AUTH_LOGS,
	CHANGE_TABLE_ACCOUNT_LOCKOUTS,
	CHANGE_TABLE_SEALS,
	CHANGE_TABLE_ACCESS_LOG,
	CHANGE_TABLE_RECORDS_LOG
} ChangeTable;

#define CHANGE_TABLES 5
extern const char *const change_table_names[CHANGE_TABLES];
extern ChangeTable change_table_lookup(const char *relname);
extern const char *change_relation_table_name(Relation rel);
extern const char *const *change_table_key_columns(ChangeTable table);
extern bool change_table_is_evidence(ChangeTable table);
extern bool change_table_installed(ChangeTable table);

typedef enum ChangeOp
{
	CHANGE_BEGIN,
	CHANGE_COMMIT,
	CHANGE_INSERT,
	CHANGE_UPDATE,
	CHANGE_DELETE,
	CHANGE_TRUNCATE
} ChangeOp;

/* Where a change's transaction sits in the WAL; zeroes for a resync's copy */
typedef struct ChangeTransaction
{
	TransactionId xid;			/* written on markers only */
	XLogRecPtr	commit_lsn;
	XLogRecPtr	end_lsn;
	bool		has_commit_time;
	TimestampTz commit_time;
} ChangeTransaction;

/* ---------- the write side ---------- */

/* Start a message: op, xid (markers), table (changes), the transaction's fields. */
extern void change_message_start(bson_t *out, ChangeOp op, ChangeTable table,
								 const ChangeTransaction *txn);

/*
 * _id: the store's _id of the row, a scalar made of its key columns, or
 * in the digest form the document of its key columns (the _id of the form
 * seals digest); *id (when not NULL) gets it, for change_message_append_row
 * of the same row.
 */
extern void change_message_append_key(bson_t *out, ChangeTable table, TupleDesc desc,
									  Datum *values, bool *nulls, RowDocumentForm form,
									  RowStoreId *id);

/*
 * doc: the row, as the store's document or in the form seals digest; with
 * track_unchanged, TOASTed columns an update left unchanged are left out
 * and named in "unchanged".
 */
extern void change_message_append_row(bson_t *out, ChangeTable table, TupleDesc desc,
									  Datum *values, bool *nulls, const RowStoreId *id,
									  bool track_unchanged, RowDocumentForm form);

/* ---------- the read side ---------- */

/*
 * A message, as views into its bytes.  Read it in place and never copy or
 * move it: a static bson_t (doc) points into itself.  id points to the
 * bytes of the message's _id (a string's, or a BinData's when the key is
 * not UTF-8, id_utf8 false): bson_rules_append_store_id_as writes it again.
 */
typedef struct ChangeMessage
{
	ChangeOp	op;
	ChangeTable table;			/* CHANGE_TABLE_NONE for markers */
	XLogRecPtr	commit_lsn;
	XLogRecPtr	end_lsn;
	bool		has_commit_time;
	TimestampTz commit_time;
	bool		has_id;
	const char *id;
	uint32		id_len;
	bool		id_utf8;		/* a string; otherwise BinData */
	bool		has_doc;
	bson_t		doc;
	bool		has_unchanged;
} ChangeMessage;

/* False when the bytes are not a change message of a known op and table. */
extern bool change_message_read(const bson_t *message, ChangeMessage *out);

/* Is it an insert into auth_logs, with a document? */
extern bool change_message_is_event_insert(const ChangeMessage *message);

/* A string field of doc, or NULL */
extern const char *change_message_doc_utf8(const ChangeMessage *message, const char *field);

/* doc's log_id; false when it has none or it is not a UUID */
extern bool change_message_member_id(const ChangeMessage *message, pg_uuid_t *id);
extern bool change_message_log_id(const ChangeMessage *message, pg_uuid_t *log_id);

/* doc's tenant_id: a string, or {"%bytes": ...} (SQL_ASCII); false when absent */
extern bool change_message_tenant(const ChangeMessage *message, const char **tenant, int *len);

#endif							/* CHANGE_MESSAGE_H */
