/*-------------------------------------------------------------------------
 *
 * mirror_sql.c
 *	  The SQL face of the mirror: its status, waiting for it to catch up,
 *	  comparing the store with PostgreSQL, and reading the store.
 *
 *	  These run in ordinary backends.  Functions that talk to the store open
 *	  a short-lived client of their own (mongo_sink_connect_for_backend),
 *	  closed with the calling function's memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "bson_rules.h"
#include "change_message.h"
#include "documents.h"
#include "mirror.h"
#include "mongo_sink.h"

PG_FUNCTION_INFO_V1(authlog_mirror_worker_status);
PG_FUNCTION_INFO_V1(authlog_mirror_sync);
PG_FUNCTION_INFO_V1(authlog_mirror_verify);
PG_FUNCTION_INFO_V1(authlog_mirror_find);

static void
require_mirror_shared(void)
{
	worker_require_shared(authlog_mirror_shared, "authlog mirror");
}

static const char *
state_name(int state)
{
	return worker_state_name(mirror_state_names, mirror_nstates, state);
}

/*
 * authlog.mirror_worker_status(): what the worker reports through shared
 * memory; the mirror_status view adds what the slot says.
 */
Datum
authlog_mirror_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[13];
	bool		nulls[13];
	MirrorShared copy;

	require_mirror_shared();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "authlog: mirror_worker_status must return a composite type");
	desc = BlessTupleDesc(desc);

	worker_copy_shared(&authlog_mirror_shared->worker, &copy, sizeof(MirrorShared));

	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum(authlog_mirror_slot_name);
	values[1] = CStringGetTextDatum(authlog_mirror_uri == NULL || authlog_mirror_uri[0] == '\0'
									? "disabled" : state_name(copy.worker.state));
	values[2] = Int32GetDatum(copy.worker.pid);
	nulls[2] = copy.worker.pid == 0;
	values[3] = LSNGetDatum(copy.confirmed_lsn);
	nulls[3] = copy.confirmed_lsn == InvalidXLogRecPtr;
	values[4] = BoolGetDatum(copy.caught_up);
	values[5] = TimestampTzGetDatum(copy.applied_commit_time);
	nulls[5] = copy.applied_commit_time == 0;
	values[6] = Int64GetDatum((int64) copy.documents_written);
	values[7] = Int64GetDatum((int64) copy.documents_refused);
	values[8] = Int64GetDatum((int64) copy.batches);
	values[9] = CStringGetTextDatum(copy.worker.last_error);
	nulls[9] = copy.worker.last_error[0] == '\0';
	values[10] = TimestampTzGetDatum(copy.worker.last_error_at);
	nulls[10] = copy.worker.last_error_at == 0;
	values[11] = Int64GetDatum((int64) copy.lockouts_notified);
	values[12] = Int64GetDatum((int64) copy.notifications_failed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* Under the worker's mutex: how far the store has acknowledged; the wait asks for no delay. */
static XLogRecPtr
mirror_sync_progress(WorkerShared *worker, XLogRecPtr target)
{
	MirrorShared *mirror = (MirrorShared *) worker;

	mirror->sync_requested = true;
	return mirror->confirmed_lsn;
}

static uint64
documents_written(WorkerShared *worker)
{
	return ((MirrorShared *) worker)->documents_written;
}

/*
 * authlog.mirror_sync(timeout): wait until everything committed before the
 * call is acknowledged by the store; returns the documents applied
 * meanwhile, or raises an error naming what held the mirror back.
 */
Datum
authlog_mirror_sync(PG_FUNCTION_ARGS)
{
	WorkerWait	wait = {
		.what = "the authlog mirror did not catch up",
		.worker_noun = "mirror",
		.status_hint = "See authlog.mirror_status.",
		.state_names = mirror_state_names,
		.nstates = mirror_nstates,
		.progress = mirror_sync_progress,
		.count = documents_written,
	};
	TimestampTz deadline;

	require_mirror_shared();
	if (authlog_mirror_uri == NULL || authlog_mirror_uri[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the authlog mirror is disabled"),
				 errhint("Set authlog.mirror_uri in postgresql.conf and reload.")));
	deadline = worker_wait_deadline(PG_GETARG_INTERVAL_P(0));

	/* everything committed so far, asynchronous commits included, on disk */
	PG_RETURN_INT64((int64) worker_wait_for(&authlog_mirror_shared->worker, &wait,
											worker_flush_inserted_wal(), deadline));
}


/* ---------- mirror_verify ---------- */

/*
 * A difference, naming the document by its key columns ({tenant_id,
 * log_id}, ...: what its scalar _id is made of), or by its _id when the
 * document lacks one of them.
 */
static void
report_difference(ReturnSetInfo *rsinfo, const char *tenant, ChangeTable table,
				  const bson_t *document, const char *problem)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	bson_t		key = BSON_INITIALIZER;

	values[0] = tenant ? CStringGetTextDatum(tenant) : (Datum) 0;
	nulls[0] = tenant == NULL;
	values[1] = CStringGetTextDatum(change_table_names[table]);
	if (!bson_rules_key_of_fields(document, change_table_key_columns(table), &key))
	{
		bson_iter_t id;

		bson_reinit(&key);
		if (bson_iter_init_find(&id, document, "_id"))
			bson_append_iter(&key, "_id", 3, &id);
	}
	values[2] = bson_bytes_to_jsonb(bson_get_data(&key), key.len);
	bson_destroy(&key);
	values[3] = CStringGetTextDatum(problem);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static const char *
document_tenant(const bson_t *doc)
{
	bson_iter_t iter;

	if (bson_iter_init_find(&iter, doc, "tenant_id") && BSON_ITER_HOLDS_UTF8(&iter))
		return pstrdup(bson_iter_utf8(&iter, NULL));
	return NULL;
}

/*
 * built without its top-level null fields that stored lacks: a column
 * added by an update of the extension (seals' anchor_* in 1.1) is null in
 * the rows from before it, whose documents the store keeps as committed,
 * without it.
 */
static void
without_absent_nulls(const bson_t *built, const bson_t *stored, bson_t *out)
{
	bson_iter_t iter;
	bson_iter_t probe;

	if (!bson_iter_init(&iter, built))
		return;
	while (bson_iter_next(&iter))
	{
		if (BSON_ITER_HOLDS_NULL(&iter) &&
			!bson_iter_init_find(&probe, stored, bson_iter_key(&iter)))
			continue;
		bson_append_iter(out, bson_iter_key(&iter), -1, &iter);
	}
}

/*
 * The store holds the document PostgreSQL's row makes: byte for byte, or
 * in the same digest form (an event mirrored before 1.1 escaped nested
 * "_id" keys: what its seal covers), less columns added since it was
 * mirrored.
 */
static bool
same_document(const bson_t *stored, const bson_t *built)
{
	bson_t		trimmed = BSON_INITIALIZER;
	bson_t		stored_form = BSON_INITIALIZER;
	bson_t		built_form = BSON_INITIALIZER;
	bool		same;

	if (stored->len == built->len &&
		memcmp(bson_get_data(stored), bson_get_data(built), built->len) == 0)
		return true;
	without_absent_nulls(built, stored, &trimmed);
	same = bson_rules_digest_form(stored, NULL, NULL, &stored_form) &&
		bson_rules_digest_form(&trimmed, NULL, NULL, &built_form) &&
		stored_form.len == built_form.len &&
		memcmp(bson_get_data(&stored_form), bson_get_data(&built_form), built_form.len) == 0;
	bson_destroy(&trimmed);
	bson_destroy(&stored_form);
	bson_destroy(&built_form);
	return same;
}

static void
verify_collection(ReturnSetInfo *rsinfo, MongoSink *sink, ChangeTable table,
				  text *tenant)
{
	const char *collection = change_table_names[table];
	const char *const *key_columns = change_table_key_columns(table);
	bson_t		filter = BSON_INITIALIZER;
	bson_t	  **store_docs;
	bson_error_t error;
	int			nstore;
	int			i;
	HTAB	   *store;
	HTAB	   *refused;
	StoreEntry *entry;
	HASH_SEQ_STATUS seq;
	Portal		portal;
	SPIPlanPtr	plan;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bson_t		built = BSON_INITIALIZER;

	if (tenant)
		BSON_APPEND_UTF8(&filter, "tenant_id", text_to_cstring(tenant));
	nstore = mongo_sink_find(sink, collection, &filter, &store_docs, &error);
	bson_destroy(&filter);
	refused = nstore < 0 ? NULL : mongo_sink_dead_letters(sink, collection, tenant, &error);
	if (refused == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read the document store"),
				 errdetail("%s", error.message)));

	store = store_key_table_create("authlog verify store");
	for (i = 0; i < nstore; i++)
	{
		BsonKey		key;
		bool		found;

		if (!store_id_key(store_docs[i], "_id", &key))
			continue;
		entry = hash_search(store, &key, HASH_ENTER, &found);
		entry->document = store_docs[i];
		entry->seen = false;
	}

	plan = SPI_prepare(psprintf("SELECT * FROM authlog.%s%s", collection,
								tenant ? " WHERE tenant_id OPERATOR(pg_catalog.=) $1" : ""),
					   tenant ? 1 : 0, types);
	if (plan == NULL)
		elog(ERROR, "authlog: could not read authlog.%s", collection);
	args[0] = PointerGetDatum(tenant);
	/*
	 * Not read-only: a snapshot taken now, after the store was read, sees
	 * every row the store could have, so a commit racing this function is
	 * never reported as "in the store but not in PostgreSQL".
	 */
	portal = SPI_cursor_open(NULL, plan, args, NULL, false);
	PG_TRY();
	{
		for (;;)
		{
			uint64		r;

			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (r = 0; r < SPI_processed; r++)
			{
				TupleDesc	desc = SPI_tuptable->tupdesc;
				Datum	   *values = palloc(sizeof(Datum) * desc->natts);
				bool	   *nulls = palloc(sizeof(bool) * desc->natts);
				BsonKey		key;
				StoreEntry *found;

				CHECK_FOR_INTERRUPTS();
				heap_deform_tuple(SPI_tuptable->vals[r], desc, values, nulls);
				bson_reinit(&built);
				row_bson_append_row_fields(&built, desc, values, nulls, key_columns, NULL, NULL,
										   ROW_DOCUMENT_STORE);
				if (!store_id_key(&built, "_id", &key))
					continue;
				found = hash_search(store, &key, HASH_FIND, NULL);
				if (found == NULL)
				{
					StoreEntry *letter = hash_search(refused, &key, HASH_FIND, NULL);

					report_difference(rsinfo, document_tenant(&built), table, &built,
									  letter ? psprintf("refused by the store, kept in dead_letters: %s",
														letter->reason)
									  : "missing from the store");
				}
				else
				{
					found->seen = true;
					if (!same_document(found->document, &built))
						report_difference(rsinfo, document_tenant(&built), table, &built,
										  "differs from PostgreSQL");
				}
				pfree(values);
				pfree(nulls);
			}
			SPI_freetuptable(SPI_tuptable);
		}
	}
	PG_FINALLY();
	{
		bson_destroy(&built);
	}
	PG_END_TRY();
	SPI_cursor_close(portal);

	hash_seq_init(&seq, store);
	while ((entry = hash_seq_search(&seq)) != NULL)
		if (!entry->seen)
			report_difference(rsinfo, document_tenant(entry->document), table,
							  entry->document, "in the store but not in PostgreSQL");
}

/*
 * authlog.mirror_verify(tenant_id): every difference between PostgreSQL
 * and the store, one row each; none when they hold the same documents.
 * Each row of auth_logs and account_lockouts is built into the document
 * the mirror would write (the same code as the decoder) and compared byte
 * for byte with the store's.
 */
Datum
authlog_mirror_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *tenant = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	MongoSink  *sink;
	int			pinned;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	sink = mongo_sink_connect_for_backend();
	pinned = authlog_pin_settings();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	for (i = 0; i < CHANGE_TABLES; i++)
		if (change_table_installed((ChangeTable) i))
			verify_collection(rsinfo, sink, (ChangeTable) i, tenant);
	SPI_finish();
	authlog_restore_settings(pinned);
	return (Datum) 0;
}

/*
 * authlog.mirror_find(collection, filter jsonb): documents of the store,
 * as canonical Extended JSON.  The filter is MongoDB Extended JSON.
 */
Datum
authlog_mirror_find(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *collection = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *filter_json = PG_ARGISNULL(1) ? "{}" :
		DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(1)));
	bson_t		filter;
	bson_error_t error;
	bson_t	  **documents;
	int			count;
	int			i;
	MongoSink  *sink;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (!bson_init_from_json(&filter, filter_json, -1, &error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid filter for the document store"),
				 errdetail("%s", error.message)));
	sink = mongo_sink_connect_for_backend();
	count = mongo_sink_find(sink, collection, &filter, &documents, &error);
	bson_destroy(&filter);
	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read the document store"),
				 errdetail("%s", error.message)));
	for (i = 0; i < count; i++)
	{
		Datum		value = bson_bytes_to_jsonb(bson_get_data(documents[i]), documents[i]->len);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}
