/*-------------------------------------------------------------------------
 *
 * documents.h
 *	  PostgreSQL rows and values as the store's BSON documents, by the
 *	  rules of bson_rules.h (row_bson.c), and BSON back to jsonb.  One
 *	  builder for the decoder, the resync and the verifiers, so all three
 *	  agree byte for byte.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DOCUMENTS_H
#define DOCUMENTS_H

#include <bson/bson.h>

#include "access/tupdesc.h"
#include "nodes/pg_list.h"

#include "authlog_common.h"

/* The store's size limit for one document */
#define STORE_MAX_DOCUMENT_SIZE (16 * 1024 * 1024)

extern void row_bson_append_timestamptz(bson_t *out, const char *key, TimestampTz ts);
extern bson_t *row_bson_new_owned(MemoryContext context);
/*
 * A row's _id, made once for its message and its document: the store's
 * scalar key, or (row_bson_key_id) the document of its key columns, the
 * _id the form seals digest has (and the library before 1.1 stored)
 */
typedef struct RowStoreId
{
	const char *text;			/* valid until the next row_bson_store_id */
	size_t		len;
	bool		utf8;			/* a string; otherwise BinData (SQL_ASCII) */
	const bson_t *key;			/* not NULL: the key columns' document, valid
								 * until the next row_bson_key_id */
} RowStoreId;

extern void row_bson_store_id(RowStoreId *id, TupleDesc desc, Datum *values, bool *nulls,
							  const char *const *key_columns);
extern void row_bson_key_id(RowStoreId *id, TupleDesc desc, Datum *values, bool *nulls,
							const char *const *key_columns);
extern void row_bson_append_store_id(bson_t *out, const char *name, const RowStoreId *id);

/*
 * What a row's document is built as: the store's document, or the form a
 * seal digests (bson_rules_digest_form: _id the document of the key
 * columns, object keys "_id" below the top written as 1.0 wrote them, not
 * escaped, and the column SEAL_DIGEST_LEFT_OUT left out), whose bytes are
 * hashed as they are: the sealer's stream (option document 'digest') and
 * event_digest build it, and need no second pass over a store document.
 */
typedef enum RowDocumentForm
{
	ROW_DOCUMENT_STORE,
	ROW_DOCUMENT_DIGEST
} RowDocumentForm;

/* The top-level field a seal's digest leaves out: bookkeeping, not evidence */
#define SEAL_DIGEST_LEFT_OUT "retry_count"

/* id: the row's, when made already; NULL makes it (the key document, for the digest form) */
extern void row_bson_append_row(bson_t *out, const char *name, TupleDesc desc,
								Datum *values, bool *nulls,
								const char *const *key_columns, const RowStoreId *id,
								List **unchanged, RowDocumentForm form);
extern void row_bson_append_row_fields(bson_t *doc, TupleDesc desc, Datum *values,
									   bool *nulls, const char *const *key_columns,
									   const RowStoreId *id, List **unchanged,
									   RowDocumentForm form);

/* A BSON document's bytes as jsonb (canonical Extended JSON); 0 if unreadable */
extern Datum bson_bytes_to_jsonb(const uint8 *data, uint32 len);

#endif							/* DOCUMENTS_H */
