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
#include "utils/jsonb.h"

#include "authlog_common.h"

/* The store's size limit for one document */
#define STORE_MAX_DOCUMENT_SIZE (16 * 1024 * 1024)

extern void row_bson_append_datum(bson_t *out, const char *key, Oid typid,
								  Datum value, bool isnull);
extern void row_bson_append_jsonb(bson_t *out, const char *key, Jsonb *jsonb);
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
/* id: the row's, when made already; NULL makes it */
extern void row_bson_append_row(bson_t *out, const char *name, TupleDesc desc,
								Datum *values, bool *nulls,
								const char *const *key_columns, const RowStoreId *id,
								List **unchanged);
extern void row_bson_append_row_fields(bson_t *doc, TupleDesc desc, Datum *values,
									   bool *nulls, const char *const *key_columns,
									   const RowStoreId *id, List **unchanged);

/* A BSON document's bytes as jsonb (canonical Extended JSON); 0 if unreadable */
extern Datum bson_bytes_to_jsonb(const uint8 *data, uint32 len);

#endif							/* DOCUMENTS_H */
