/*-------------------------------------------------------------------------
 *
 * mirror.c
 *	  The mirror background worker: keeps the document store in step with
 *	  authlog's tables, from the logical slot its output plugin feeds.
 *
 *	  Each round reads a batch of change messages from the slot's stream
 *	  (slot_stream.c: one decoding context for as long as the worker
 *	  streams, so each change is decoded once) in a short transaction,
 *	  applies them to the store as ordered bulks of idempotent upserts (no
 *	  transaction open meanwhile), and only once the store acknowledged
 *	  confirms the slot up to where the batch was read.  A crash anywhere
 *	  replays at most what was not confirmed: at-least-once delivery,
 *	  exactly-once effect; a store failure closes the stream, and the next
 *	  one reads the batch again from the slot.  A document the store refuses is set aside in dead_letters
 *	  and never blocks the ones behind it.  A missing or lost slot is
 *	  healed by a resync (create the slot, copy the tables under a later
 *	  snapshot, replay from the slot), never skipped.  Events and seals are
 *	  evidence: the store keeps each as committed (mongo_sink.c).
 *
 *	  Also here: the shared memory the worker reports through, and the
 *	  commit hook that wakes it.  The SQL functions that read them are in
 *	  mirror_sql.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "change_message.h"
#include "mirror.h"
#include "mongo_sink.h"

PGDLLEXPORT void authlog_mirror_main(Datum main_arg);

char	   *authlog_mirror_slot_name = "authlog_mirror";
char	   *authlog_mirror_write_concern = NULL;
int			authlog_mirror_batch_size = 1000;
int			authlog_mirror_idle_advance_ms = 5000;
bool		authlog_mirror_test_pause_before_advance = false;

MirrorShared *authlog_mirror_shared = NULL;

const char *const mirror_state_names[] = {
	[MIRROR_STARTING] = "starting",
	[MIRROR_DISABLED] = "disabled",
	[MIRROR_STREAMING] = "streaming",
	[MIRROR_BACKING_OFF] = "backing_off",
	[MIRROR_RESYNCING] = "resyncing",
	[MIRROR_PAUSED] = "paused",
};
const int	mirror_nstates = lengthof(mirror_state_names);

/* Set when this transaction wrote authlog rows: its commit wakes the worker. */
static bool wake_mirror_at_commit = false;

/* Worker-local state */
static Worker mirror_worker = {
	.name = "authlog mirror",
	.backing_off_state = MIRROR_BACKING_OFF,
	.retry_hint = "The mirror retries with backoff; the slot keeps every change until the store acknowledges it.",
};
static MongoSink *sink = NULL;
static char *sink_uri = NULL;
static char *sink_database = NULL;
static bool indexes_ready = false;
static bool slot_ready = false;
static SlotStream slot_stream;
static TimestampTz last_advance = 0;
static MemoryContext batch_context = NULL;

#define MIRROR_DISABLED_WAIT_MS 10000
#define MIRROR_SYNC_POLL_MS 20


/* ---------- settings, shared memory and wakeups ---------- */

static void
mirror_shared_startup(void *shared, bool found)
{
	MirrorShared *mirror = shared;

	if (!found)
	{
		SpinLockInit(&mirror->worker.mutex);
		mirror->worker.state = MIRROR_STARTING;
	}
}

/*
 * The commit of a transaction that wrote authlog rows sets the worker's
 * latch, so the mirror's lag at light load is milliseconds, not a polling
 * interval.  Nothing here can fail the commit.
 */
static void
mirror_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_mirror_at_commit && authlog_mirror_shared)
	{
		/*
		 * Tell the worker where the commit ends: with asynchronous commit
		 * the record may not be flushed yet, and decoding reads flushed WAL
		 * only, so the worker flushes up to here before it reads.
		 */
		SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
		if (XactLastCommitEnd > authlog_mirror_shared->wake_lsn)
			authlog_mirror_shared->wake_lsn = XactLastCommitEnd;
		SpinLockRelease(&authlog_mirror_shared->worker.mutex);
		mirror_wake_worker();
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_mirror_at_commit = false;
}

void
mirror_note_write(void)
{
	wake_mirror_at_commit = true;
}

void
mirror_wake_worker(void)
{
	if (authlog_mirror_shared)
		worker_wake(&authlog_mirror_shared->worker);
}

void
mirror_init(void)
{
	/* The slot advances only past what the store acknowledged at this concern. */
	DefineCustomStringVariable("authlog.mirror_write_concern",
							   "Write concern the store must acknowledge before the mirror advances its slot.",
							   "majority, or a number of nodes.",
							   &authlog_mirror_write_concern,
							   "majority",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	/* Bounded bulks keep each store round trip short, so SIGTERM is served fast. */
	DefineCustomIntVariable("authlog.mirror_batch_size",
							"Change messages the mirror reads and writes per batch.",
							"A batch always ends at a transaction's end, so it may hold more.",
							&authlog_mirror_batch_size,
							1000, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* While authlog is idle, the slot still moves so WAL is never pinned. */
	DefineCustomIntVariable("authlog.mirror_idle_advance",
							"Longest interval between slot advances while no authlog change is pending.",
							"Advancing releases WAL of other tables that the slot would otherwise retain.",
							&authlog_mirror_idle_advance_ms,
							5000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Test-only: the worker stops between the store's acknowledgement and
	 * the slot advance, so tests reach that fault point exactly.
	 */
	DefineCustomBoolVariable("authlog.mirror_test_pause_before_advance",
							 "Test only: pause the mirror after a batch is acknowledged and before the slot advances.",
							 NULL,
							 &authlog_mirror_test_pause_before_advance,
							 false,
							 PGC_SIGHUP, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	/* The worker, its shared memory and its wakeups need preloading. */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("authlog.mirror_slot_name",
							   "Name of the logical replication slot the mirror worker reads.",
							   "The worker creates it, with the authlog output plugin, when it is missing. Takes effect at server start.",
							   &authlog_mirror_slot_name,
							   "authlog_mirror",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	worker_shared_add("authlog mirror", sizeof(MirrorShared),
					  (void **) &authlog_mirror_shared, NULL, mirror_shared_startup);
	worker_register("authlog_mirror_main", mirror_worker.name);
	/* in every backend of a server that preloads authlog */
	RegisterXactCallback(mirror_xact_callback, NULL);
}


/* ---------- reporting ---------- */

static long
report_failure(const char *what, const char *detail)
{
	return worker_report_failure(&mirror_worker, what, detail);
}

static void
close_sink(void)
{
	mongo_sink_close(sink);
	sink = NULL;
	indexes_ready = false;
}


/* ---------- transactions the worker runs ---------- */

/* Each step runs in its own short transaction (worker.c). */
static bool
run_step(WorkerStep step, void *arg)
{
	return worker_step(&mirror_worker, step, arg);
}

static bool
step_finish_resync(void *arg)
{
	worker_clear_pending(authlog_mirror_slot_name);
	return true;
}

/* Messages of one batch, as views into bytes kept in batch_context. */
typedef struct MirrorBatch
{
	bson_t	  **messages;		/* each palloc'd alone: a static bson_t must not move */
	ChangeMessage **read;		/* each message, read; each palloc'd alone too */
	bool	   *skip;
	int			count;
	int			allocated;
	TimestampTz commit_time;
	XLogRecPtr	read_upto;		/* the stream read this far: to confirm once applied */
	int64		documents;
	int64		refused;
	int64		lockouts;		/* account_locked events announced */
	bool		store_failed;
	bson_error_t store_error;
} MirrorBatch;

static void
batch_add(MirrorBatch *batch, const char *data, int len)
{
	uint8	   *copy;
	bson_t	   *message;
	ChangeMessage *read;

	if (batch->count == batch->allocated)
	{
		batch->allocated = Max(64, batch->allocated * 2);
		batch->messages = batch->messages
			? repalloc(batch->messages, sizeof(bson_t *) * batch->allocated)
			: palloc(sizeof(bson_t *) * batch->allocated);
		batch->read = batch->read
			? repalloc(batch->read, sizeof(ChangeMessage *) * batch->allocated)
			: palloc(sizeof(ChangeMessage *) * batch->allocated);
	}
	copy = palloc(len);
	memcpy(copy, data, len);
	message = palloc(sizeof(bson_t));
	if (!bson_init_static(message, copy, len))
		elog(ERROR, "authlog mirror: the output plugin produced an invalid message");
	read = palloc(sizeof(ChangeMessage));
	if (!change_message_read(message, read))
		elog(ERROR, "authlog mirror: the output plugin produced a message that is not a change message");
	batch->messages[batch->count] = message;
	batch->read[batch->count] = read;
	if (read->has_commit_time)
		batch->commit_time = read->commit_time;
	batch->count++;
}

/* Each message the stream decodes, into the batch */
static void
batch_add_from_stream(void *arg, const char *data, Size len)
{
	MemoryContext old = MemoryContextSwitchTo(batch_context);

	batch_add((MirrorBatch *) arg, data, (int) len);
	MemoryContextSwitchTo(old);
}

/*
 * Read the next batch from the slot's stream, opening it first if it is
 * closed (at start, after a failure): at most authlog.mirror_batch_size
 * messages, whole transactions, up to the WAL flushed now.
 */
static bool
step_read(void *arg)
{
	MirrorBatch *batch = arg;

	if (!slot_stream_is_open(&slot_stream))
		slot_stream_open(&slot_stream, authlog_mirror_slot_name, NULL);
	(void) slot_stream_read(&slot_stream, InvalidXLogRecPtr, authlog_mirror_batch_size,
							batch_add_from_stream, batch);
	batch->read_upto = slot_stream_decoded_upto(&slot_stream);
	return true;
}

/*
 * The slot has taken everything the stream read so far (read_upto): what
 * committed before it is in the store, or was nothing of authlog's.
 */
static void
confirm_read(XLogRecPtr read_upto)
{
	slot_stream_confirm(&slot_stream, read_upto);
	last_advance = GetCurrentTimestamp();
}

/*
 * NOTIFY authlog_lockout for each account_locked the batch inserts, with the
 * log_id alone as payload: LISTEN checks no privilege, so listeners read the
 * row itself under row-level security.  Sent here, from the stream, never
 * from the login's transaction: a listener that stops reading can fill the
 * notification queue and fail this step, but never a login.
 */
static bool
step_notify_lockouts(void *arg)
{
	MirrorBatch *batch = arg;
	Oid			types[1] = {TEXTOID};
	int			i;

	batch->lockouts = 0;
	for (i = 0; i < batch->count; i++)
	{
		const ChangeMessage *message = batch->read[i];
		const char *event_type;
		pg_uuid_t	uuid;
		Datum		payload;

		if (!change_message_is_event_insert(message))
			continue;
		event_type = change_message_doc_utf8(message, "event_type");
		if (event_type == NULL || strcmp(event_type, "account_locked") != 0)
			continue;
		if (!change_message_log_id(message, &uuid))
			elog(ERROR, "authlog mirror: an account_locked message has no log_id");
		payload = DirectFunctionCall1(uuid_out, UUIDPGetDatum(&uuid));
		payload = CStringGetTextDatum(DatumGetCString(payload));
		if (SPI_execute_with_args("SELECT pg_catalog.pg_notify('authlog_lockout', $1)",
								  1, types, &payload, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "authlog mirror: could not send NOTIFY authlog_lockout");
		batch->lockouts++;
	}
	return true;
}

/* ---------- applying ---------- */

/*
 * Updates and deletes per bulk, and inserts per bulk, adapted to the
 * store: half the bulk that did not come back in time, doubled (up to the
 * most) after each batch that goes through.  A store that is slow shows as
 * lag, never as the same bulk sent again forever.
 */
static int	bulk_writes = SINK_MAX_WRITES_PER_BULK;
static int	bulk_inserts = SINK_MAX_WRITES_PER_BULK * SINK_INSERTS_PER_WRITE;

/*
 * Apply a batch, setting refused documents aside one by one: the ordered
 * bulk stops at a refused document, which goes to dead_letters; the batch
 * is then applied again without it, from where the store's acknowledgements
 * reached (what was applied again is applied harmlessly).  A bulk that
 * timed out is tried again at once in smaller bulks, down to one write.
 * Returns false when the store itself failed.
 */
static bool
apply_batch(MirrorBatch *batch)
{
	SinkProgress progress;
	int			refusals = 0;
	bool		is_new;

	if (batch->skip == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(batch_context);

		batch->skip = palloc0(sizeof(bool) * Max(batch->count, 1));
		MemoryContextSwitchTo(old);
	}
	memset(&progress, 0, sizeof(progress));
	for (;;)
	{
		int			failed = -1;
		int64		documents = 0;
		bool		applied;

		CHECK_FOR_INTERRUPTS();
		progress.writes_per_bulk = bulk_writes;
		progress.inserts_per_bulk = bulk_inserts;
		applied = mongo_sink_apply(sink, batch->messages, batch->count, batch->skip,
								   authlog_mirror_write_concern, &progress, &failed, &documents,
								   &batch->store_error);
		batch->documents += documents;
		if (applied)
		{
			bulk_writes = Min(bulk_writes * 2, SINK_MAX_WRITES_PER_BULK);
			bulk_inserts = Min(bulk_inserts * 2, SINK_MAX_WRITES_PER_BULK * SINK_INSERTS_PER_WRITE);
			return true;
		}

		/*
		 * Each time, the bulk that failed is halved, so this ends: at a
		 * bulk of one write, the batch fails and is retried with backoff.
		 */
		if (failed < 0 && progress.failed_bulk > 1 && mongo_sink_error_may_be_size(&batch->store_error))
		{
			int		   *size = progress.failed_inserts ? &bulk_inserts : &bulk_writes;

			*size = Max(Min(*size, progress.failed_bulk) / 2, 1);
			ereport(LOG,
					(errmsg("authlog mirror: a bulk did not come back from the store (%s); going on in bulks of %d %s",
							batch->store_error.message, *size,
							progress.failed_inserts ? "inserts" : "writes")));
			continue;
		}
		if (failed < 0 || mongo_sink_error_is_transient(&batch->store_error) ||
			refusals++ >= batch->count)
			return false;

		/* the store refused this document: set it aside, go on without it */
		if (!mongo_sink_dead_letter(sink, batch->messages[failed],
									batch->store_error.message, &is_new, &batch->store_error))
			return false;
		ereport(WARNING,
				(errmsg("authlog mirror: the document store refused a document; it is kept in dead_letters"),
				 errdetail("%s", batch->store_error.message)));
		batch->skip[failed] = true;
		if (is_new)
			batch->refused++;	/* counted once, however often it comes */
	}
}

static void
pause_before_advance_for_tests(void)
{
	if (!authlog_mirror_test_pause_before_advance)
		return;
	worker_set_state(&mirror_worker, MIRROR_PAUSED);
	while (authlog_mirror_test_pause_before_advance)
	{
		worker_wait(100);
		worker_serve_interrupts();
	}
	worker_set_state(&mirror_worker, MIRROR_STREAMING);
}

static void
record_applied(MirrorBatch *batch, XLogRecPtr confirmed, bool caught_up)
{
	SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
	authlog_mirror_shared->confirmed_lsn = Max(authlog_mirror_shared->confirmed_lsn, confirmed);
	authlog_mirror_shared->documents_written += batch->documents;
	authlog_mirror_shared->documents_refused += batch->refused;
	authlog_mirror_shared->lockouts_notified += batch->lockouts;
	if (batch->count > 0)
	{
		authlog_mirror_shared->batches++;
		authlog_mirror_shared->applied_commit_time = batch->commit_time;
	}
	authlog_mirror_shared->caught_up = caught_up;
	if (caught_up)
		authlog_mirror_shared->sync_requested = false;
	if (authlog_mirror_shared->worker.state != MIRROR_RESYNCING)
		authlog_mirror_shared->worker.state = MIRROR_STREAMING;
	SpinLockRelease(&authlog_mirror_shared->worker.mutex);
}

/*
 * One round of streaming.  Returns how long to wait before the next round:
 * 0 when more changes may be pending.
 */
static long
stream_round(void)
{
	MirrorBatch batch;
	bool		sync_requested;
	XLogRecPtr	wake_lsn;

	MemoryContextReset(batch_context);
	memset(&batch, 0, sizeof(batch));

	/* committed authlog changes still only in WAL buffers: flush them to decode them */
	SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
	wake_lsn = authlog_mirror_shared->wake_lsn;
	SpinLockRelease(&authlog_mirror_shared->worker.mutex);
	if (wake_lsn > GetFlushRecPtr(NULL))
		XLogFlush(wake_lsn);

	if (!run_step(step_read, &batch))
	{
		slot_stream_close(&slot_stream);
		slot_ready = false;		/* check the slot again: it may be gone */
		return report_failure("could not read the logical slot", mirror_worker.step_error);
	}

	SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
	sync_requested = authlog_mirror_shared->sync_requested;
	SpinLockRelease(&authlog_mirror_shared->worker.mutex);

	if (batch.count == 0)
	{
		/*
		 * Nothing of authlog's committed before where the stream read to,
		 * so the slot may move up to there: WAL of other tables is never
		 * pinned.  Confirming costs a spinlock (a write only when the
		 * restart point moves), but the idle interval keeps the slot's
		 * position quiet while nothing happens.
		 */
		if (sync_requested ||
			TimestampDifferenceExceeds(last_advance, GetCurrentTimestamp(),
									   authlog_mirror_idle_advance_ms))
		{
			confirm_read(batch.read_upto);
			worker_report_recovered(&mirror_worker, "streaming again");
			record_applied(&batch, batch.read_upto, true);
		}
		else
		{
			worker_report_recovered(&mirror_worker, "streaming again");
			record_applied(&batch, InvalidXLogRecPtr, true);
		}

		return sync_requested ? MIRROR_SYNC_POLL_MS : authlog_mirror_idle_advance_ms;
	}

	if (!apply_batch(&batch))
	{
		if (mongo_sink_error_is_transient(&batch.store_error))
			close_sink();
		slot_stream_close(&slot_stream);	/* the batch is read again from the slot */
		return report_failure("the document store did not acknowledge a batch",
							  batch.store_error.message);
	}

	/*
	 * Announce lockouts once the store has them and before the slot moves
	 * past them: a crash in between announces them again, never not at all.
	 * Failing to announce must not stop the mirror, which keeps WAL from
	 * piling up: it is logged and counted instead.
	 */
	if (!run_step(step_notify_lockouts, &batch))
	{
		ereport(WARNING,
				(errmsg("authlog mirror: could not send NOTIFY authlog_lockout for the lockouts of a batch"),
				 errdetail("%s", mirror_worker.step_error)));
		SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
		authlog_mirror_shared->notifications_failed += batch.lockouts;
		SpinLockRelease(&authlog_mirror_shared->worker.mutex);
		batch.lockouts = 0;
	}

	pause_before_advance_for_tests();
	confirm_read(batch.read_upto);
	worker_report_recovered(&mirror_worker, "streaming again");
	record_applied(&batch, batch.read_upto, false);
	return 0;
}


/* ---------- resync ---------- */

typedef struct CopyState
{
	ChangeTable table;
	Portal		portal;
	bool		done;
	MirrorBatch batch;
} CopyState;

/*
 * Copy a table to the store as insert messages applied like any batch, so
 * refused documents are set aside the same way.  One transaction, one
 * snapshot: taken after the slot was created, so replaying the slot from
 * its start converges on the same state.
 */
static bool
step_copy_table(void *arg)
{
	CopyState  *copy = arg;
	ChangeTransaction no_transaction = {0};
	SPIPlanPtr	plan;
	Portal		portal;
	bson_t		message = BSON_INITIALIZER;

	if (!change_table_installed(copy->table))
		return true;			/* not in this schema version: nothing to copy */
	plan = SPI_prepare(psprintf("SELECT * FROM authlog.%s", change_table_names[copy->table]), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "authlog mirror: could not read authlog.%s", change_table_names[copy->table]);
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	PG_TRY();
	{
		for (;;)
		{
			uint64		i;

			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, Max(authlog_mirror_batch_size, 1));
			if (SPI_processed == 0)
				break;

			MemoryContextReset(batch_context);
			memset(&copy->batch, 0, sizeof(MirrorBatch));
			for (i = 0; i < SPI_processed; i++)
			{
				TupleDesc	desc = SPI_tuptable->tupdesc;
				Datum	   *values = palloc(sizeof(Datum) * desc->natts);
				bool	   *nulls = palloc(sizeof(bool) * desc->natts);
				RowStoreId	id;
				MemoryContext old;

				heap_deform_tuple(SPI_tuptable->vals[i], desc, values, nulls);
				bson_reinit(&message);
				change_message_start(&message, CHANGE_INSERT, copy->table, &no_transaction);
				change_message_append_key(&message, copy->table, desc, values, nulls, ROW_DOCUMENT_STORE, &id);
				change_message_append_row(&message, copy->table, desc, values, nulls, &id, false,
										  ROW_DOCUMENT_STORE);
				old = MemoryContextSwitchTo(batch_context);
				batch_add(&copy->batch, (const char *) bson_get_data(&message), message.len);
				MemoryContextSwitchTo(old);
				pfree(values);
				pfree(nulls);
			}
			SPI_freetuptable(SPI_tuptable);
			if (!apply_batch(&copy->batch))
			{
				copy->batch.store_failed = true;
				break;
			}
			SpinLockAcquire(&authlog_mirror_shared->worker.mutex);
			authlog_mirror_shared->documents_written += copy->batch.documents;
			authlog_mirror_shared->documents_refused += copy->batch.refused;
			SpinLockRelease(&authlog_mirror_shared->worker.mutex);
		}
	}
	PG_FINALLY();
	{
		bson_destroy(&message);
	}
	PG_END_TRY();
	SPI_cursor_close(portal);
	return !copy->batch.store_failed;
}

/*
 * Make sure the slot exists and, if it had to be created, that the store
 * holds everything the slot will not replay.  Returns 0 when streaming can
 * start, otherwise the wait before trying again.
 */
static long
prepare_slot(void)
{
	WorkerSlot	slot_state = {0};
	WorkerSlot *slot = &slot_state;
	int			i;

	slot->name = authlog_mirror_slot_name;

	if (!run_step(worker_step_check_slot, slot))
		return report_failure("could not check the mirror's slot", mirror_worker.step_error);
	if (slot->exists && !slot->lost && !slot->pending)
	{
		slot_ready = true;
		return 0;
	}

	worker_set_state(&mirror_worker, MIRROR_RESYNCING);
	if (!slot->pending || slot->lost)
	{
		ereport(LOG,
				(errmsg("authlog mirror: %s; copying the tables to the document store",
						slot->lost ? "the slot was invalidated" :
						slot->exists ? "a resync was pending" : "the slot is missing")));
		if (!run_step(worker_step_mark_pending, slot))
			return report_failure("could not start a resync", mirror_worker.step_error);
		slot->exists = slot->exists && !slot->lost;
	}
	if (!slot->exists && !run_step(worker_step_create_slot, slot))
		return report_failure("could not create the mirror's logical slot", mirror_worker.step_error);

	/*
	 * Copy with inserts only: account_lockouts into an empty collection, so
	 * nothing stale survives; events and seals next to those the store has,
	 * which it keeps as they were committed.
	 */
	{
		bson_error_t error;

		if (!mongo_sink_empty_state_collections(sink, &error) ||
			!mongo_sink_ensure_indexes(sink, &error))
		{
			if (mongo_sink_error_is_transient(&error))
				close_sink();
			return report_failure("could not empty the document store's collections for a resync",
								  error.message);
		}
	}

	for (i = 0; i < CHANGE_TABLES; i++)
	{
		CopyState	copy;

		memset(&copy, 0, sizeof(copy));
		copy.table = (ChangeTable) i;
		if (!run_step(step_copy_table, &copy))
		{
			if (copy.batch.store_failed)
			{
				if (mongo_sink_error_is_transient(&copy.batch.store_error))
					close_sink();
				return report_failure("the document store did not acknowledge the resync",
									  copy.batch.store_error.message);
			}
			return report_failure("could not copy the tables for a resync", mirror_worker.step_error);
		}
	}
	if (!run_step(step_finish_resync, NULL))
		return report_failure("could not finish the resync", mirror_worker.step_error);
	ereport(LOG, (errmsg("authlog mirror: resync complete, streaming from the slot")));
	worker_set_state(&mirror_worker, MIRROR_STREAMING);
	slot_ready = true;
	return 0;
}


/* ---------- main loop ---------- */

static long
mirror_round(void)
{
	bson_error_t error;

	if (authlog_mirror_uri == NULL || authlog_mirror_uri[0] == '\0')
	{
		close_sink();
		slot_stream_close(&slot_stream);	/* the slot is free while the mirror is off */
		worker_set_state(&mirror_worker, MIRROR_DISABLED);
		return MIRROR_DISABLED_WAIT_MS;
	}
	/* a reload that changed where to write: connect again */
	if (sink != NULL &&
		(sink_uri == NULL || strcmp(sink_uri, authlog_mirror_uri) != 0 ||
		 sink_database == NULL || strcmp(sink_database, authlog_store_database) != 0))
		close_sink();
	if (sink == NULL)
	{
		sink = mongo_sink_connect(authlog_mirror_uri, authlog_store_database, &error);
		if (sink == NULL)
			return report_failure("could not connect to the document store", error.message);
		if (sink_uri)
			pfree(sink_uri);
		if (sink_database)
			pfree(sink_database);
		sink_uri = MemoryContextStrdup(TopMemoryContext, authlog_mirror_uri);
		sink_database = MemoryContextStrdup(TopMemoryContext, authlog_store_database);
	}
	if (!indexes_ready)
	{
		int64		migrated;

		if (!mongo_sink_ensure_indexes(sink, &error))
		{
			close_sink();
			return report_failure("could not create the document store's indexes", error.message);
		}
		/* a store 1.0's library wrote: its documents under scalar _ids first */
		if (!mongo_sink_migrate_store_ids(sink, &migrated, &error))
		{
			close_sink();
			return report_failure("could not move the document store's documents to scalar _ids",
								  error.message);
		}
		if (migrated > 0)
			ereport(LOG,
					(errmsg("authlog mirror: moved %lld documents of the store from 1.0's _ids to scalar _ids",
							(long long) migrated)));
		indexes_ready = true;
	}
	if (!slot_ready)
	{
		long		wait = prepare_slot();

		if (wait > 0)
			return wait;
	}
	return stream_round();
}

static void
mirror_close_sink_at_exit(int code, Datum arg)
{
	close_sink();
}

void
authlog_mirror_main(Datum main_arg)
{
	TimestampTz retry_at = 0;

	mirror_worker.shared = &authlog_mirror_shared->worker;
	worker_attach(&mirror_worker, MIRROR_STARTING);
	before_shmem_exit(mirror_close_sink_at_exit, (Datum) 0);
	batch_context = AllocSetContextCreate(TopMemoryContext, "authlog mirror batch",
										  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		wait_ms;

		worker_serve_interrupts();

		/* while backing off, commits do not cut the wait short */
		if (mirror_worker.backoff_ms > 0 && GetCurrentTimestamp() < retry_at)
			wait_ms = Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), retry_at));
		else
		{
			wait_ms = mirror_round();
			if (mirror_worker.backoff_ms > 0)
				retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), wait_ms);
		}
		if (wait_ms > 0)
			worker_wait(wait_ms);
	}
}
