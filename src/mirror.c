/*-------------------------------------------------------------------------
 *
 * mirror.c
 *	  The mirror background worker: keeps the document store in step with
 *	  authlog's tables, from the logical slot its output plugin feeds.
 *
 *	  Each round peeks a batch of change messages in a short transaction,
 *	  applies them to the store as ordered bulks of idempotent upserts (no
 *	  transaction open meanwhile), and only once the store acknowledged
 *	  advances the slot to the batch's last commit.  A crash anywhere
 *	  replays at most that batch: at-least-once delivery, exactly-once
 *	  effect.  A document the store refuses is set aside in dead_letters
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
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "authlog.h"

PGDLLEXPORT void authlog_mirror_main(Datum main_arg);

MirrorShared *authlog_mirror_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Set when this transaction wrote authlog rows: its commit wakes the worker. */
static bool wake_mirror_at_commit = false;

/* Worker-local state */
static MongoSink *sink = NULL;
static char *sink_uri = NULL;
static char *sink_database = NULL;
static bool indexes_ready = false;
static bool slot_ready = false;
static int	backoff_ms = 0;
static TimestampTz last_advance = 0;
static MemoryContext batch_context = NULL;
static char *step_error = NULL;		/* message of the last failed step */

#define MIRROR_DISABLED_WAIT_MS 10000
#define MIRROR_MIN_BACKOFF_MS 100
#define MIRROR_SYNC_POLL_MS 20


/* ---------- shared memory and wakeups ---------- */

static void
mirror_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MirrorShared)));
}

static void
mirror_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	authlog_mirror_shared = ShmemInitStruct("authlog mirror", sizeof(MirrorShared), &found);
	if (!found)
	{
		memset(authlog_mirror_shared, 0, sizeof(MirrorShared));
		SpinLockInit(&authlog_mirror_shared->mutex);
		authlog_mirror_shared->state = MIRROR_STARTING;
	}
	LWLockRelease(AddinShmemInitLock);
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
		Latch	   *latch;

		/*
		 * Tell the worker where the commit ends: with asynchronous commit
		 * the record may not be flushed yet, and decoding reads flushed WAL
		 * only, so the worker flushes up to here before it peeks.
		 */
		SpinLockAcquire(&authlog_mirror_shared->mutex);
		latch = authlog_mirror_shared->worker_latch;
		if (XactLastCommitEnd > authlog_mirror_shared->wake_lsn)
			authlog_mirror_shared->wake_lsn = XactLastCommitEnd;
		SpinLockRelease(&authlog_mirror_shared->mutex);
		if (latch)
			SetLatch(latch);
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
	Latch	   *latch = NULL;

	if (authlog_mirror_shared == NULL)
		return;
	SpinLockAcquire(&authlog_mirror_shared->mutex);
	latch = authlog_mirror_shared->worker_latch;
	SpinLockRelease(&authlog_mirror_shared->mutex);
	if (latch)
		SetLatch(latch);
}

/* Called from _PG_init while shared_preload_libraries is processed. */
void
mirror_register(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mirror_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mirror_shmem_startup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "authlog");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "authlog_mirror_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "authlog mirror");
	snprintf(worker.bgw_type, BGW_MAXLEN, "authlog mirror");
	RegisterBackgroundWorker(&worker);
}

/* In every backend of a server that preloads authlog. */
void
mirror_register_xact_callback(void)
{
	RegisterXactCallback(mirror_xact_callback, NULL);
}


/* ---------- reporting ---------- */

static void
set_state(MirrorState state)
{
	SpinLockAcquire(&authlog_mirror_shared->mutex);
	authlog_mirror_shared->state = state;
	SpinLockRelease(&authlog_mirror_shared->mutex);
}

static MirrorState
get_state(void)
{
	MirrorState state;

	SpinLockAcquire(&authlog_mirror_shared->mutex);
	state = authlog_mirror_shared->state;
	SpinLockRelease(&authlog_mirror_shared->mutex);
	return state;
}

/*
 * A round failed: back off exponentially up to authlog.mirror_max_backoff,
 * and log the error only when it differs from the last one, so an outage
 * is one line in the log, not one per retry.  Returns the wait.
 */
static long
report_failure(const char *what, const char *detail)
{
	char		message[sizeof(authlog_mirror_shared->last_error)];
	bool		changed;

	snprintf(message, sizeof(message), "%s: %s", what, detail ? detail : "unknown error");
	SpinLockAcquire(&authlog_mirror_shared->mutex);
	changed = authlog_mirror_shared->state != MIRROR_BACKING_OFF ||
		strcmp(authlog_mirror_shared->last_error, message) != 0;
	authlog_mirror_shared->state = MIRROR_BACKING_OFF;
	strlcpy(authlog_mirror_shared->last_error, message, sizeof(authlog_mirror_shared->last_error));
	authlog_mirror_shared->last_error_at = GetCurrentTimestamp();
	SpinLockRelease(&authlog_mirror_shared->mutex);
	if (changed)
		ereport(LOG,
				(errmsg("authlog mirror: %s", what),
				 errdetail("%s", detail ? detail : "unknown error"),
				 errhint("The mirror retries with backoff; the slot keeps every change until the store acknowledges it.")));

	backoff_ms = Max(MIRROR_MIN_BACKOFF_MS, Min(backoff_ms * 2, authlog_mirror_max_backoff_ms));
	return backoff_ms;
}

static void
report_success(void)
{
	if (get_state() == MIRROR_BACKING_OFF)
		ereport(LOG, (errmsg("authlog mirror: streaming again")));
	backoff_ms = 0;
}

static void
close_sink(void)
{
	mongo_sink_close(sink);
	sink = NULL;
	indexes_ready = false;
}


/* ---------- transactions the worker runs ---------- */

/* Each step runs in its own short transaction (worker_step.c). */
static bool
run_step(WorkerStep step, void *arg)
{
	return worker_run_step(step, arg, &step_error);
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
	bool	   *skip;
	int			count;
	int			allocated;
	XLogRecPtr	end_lsn;		/* the batch's last commit, to advance to */
	TimestampTz commit_time;
	XLogRecPtr	flush_before;	/* WAL flushed before the peek started */
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
	bson_iter_t iter;

	if (batch->count == batch->allocated)
	{
		batch->allocated = Max(64, batch->allocated * 2);
		batch->messages = batch->messages
			? repalloc(batch->messages, sizeof(bson_t *) * batch->allocated)
			: palloc(sizeof(bson_t *) * batch->allocated);
	}
	copy = palloc(len);
	memcpy(copy, data, len);
	message = palloc(sizeof(bson_t));
	if (!bson_init_static(message, copy, len))
		elog(ERROR, "authlog mirror: the output plugin produced an invalid message");
	batch->messages[batch->count] = message;
	if (bson_iter_init_find(&iter, message, "end_lsn"))
		batch->end_lsn = Max(batch->end_lsn, (XLogRecPtr) bson_iter_as_int64(&iter));
	if (bson_iter_init_find(&iter, message, "commit_time_us"))
		batch->commit_time = bson_iter_as_int64(&iter) -
			UNIX_TO_POSTGRES_USECS;
	batch->count++;
}

static bool
step_peek(void *arg)
{
	MirrorBatch *batch = arg;
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(authlog_mirror_slot_name), Int32GetDatum(authlog_mirror_batch_size)};
	MemoryContext old;
	uint64		i;

	batch->flush_before = GetFlushRecPtr(NULL);
	if (SPI_execute_with_args("SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes($1, NULL, $2)",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog mirror: could not peek the slot");

	old = MemoryContextSwitchTo(batch_context);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		bytea	   *data = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));

		batch_add(batch, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data));
	}
	MemoryContextSwitchTo(old);
	return true;
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
		bson_iter_t iter;
		bson_iter_t field;
		const bson_value_t *log_id;
		pg_uuid_t	uuid;
		Datum		payload;

		if (!bson_iter_init_find(&iter, batch->messages[i], "op") ||
			!BSON_ITER_HOLDS_UTF8(&iter) || strcmp(bson_iter_utf8(&iter, NULL), "insert") != 0)
			continue;
		if (!bson_iter_init_find(&iter, batch->messages[i], "table") ||
			strcmp(bson_iter_utf8(&iter, NULL), "auth_logs") != 0)
			continue;
		if (!bson_iter_init(&iter, batch->messages[i]) ||
			!bson_iter_find_descendant(&iter, "doc.event_type", &field) ||
			!BSON_ITER_HOLDS_UTF8(&field) ||
			strcmp(bson_iter_utf8(&field, NULL), "account_locked") != 0)
			continue;
		if (!bson_iter_init(&iter, batch->messages[i]) ||
			!bson_iter_find_descendant(&iter, "doc.log_id", &field) ||
			!BSON_ITER_HOLDS_BINARY(&field))
			elog(ERROR, "authlog mirror: an account_locked message has no log_id");
		log_id = bson_iter_value(&field);
		if (log_id->value.v_binary.data_len != UUID_LEN)
			elog(ERROR, "authlog mirror: an account_locked message has a malformed log_id");
		memcpy(uuid.data, log_id->value.v_binary.data, UUID_LEN);
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
 * Apply a batch, setting refused documents aside one by one: the ordered
 * bulk stops at a refused document, which goes to dead_letters; the batch
 * is then applied again without it (what was applied is applied again,
 * harmlessly).  Returns false when the store itself failed.
 */
static bool
apply_batch(MirrorBatch *batch)
{
	int			attempts;

	if (batch->skip == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(batch_context);

		batch->skip = palloc0(sizeof(bool) * Max(batch->count, 1));
		MemoryContextSwitchTo(old);
	}
	for (attempts = 0; attempts <= batch->count; attempts++)
	{
		int			failed = -1;
		int64		documents = 0;

		CHECK_FOR_INTERRUPTS();
		if (mongo_sink_apply(sink, batch->messages, batch->count, batch->skip,
							 authlog_mirror_write_concern, &failed, &documents,
							 &batch->store_error))
		{
			batch->documents = documents;
			return true;
		}
		if (failed < 0 || mongo_sink_error_is_transient(&batch->store_error))
			return false;

		/* the store refused this document: set it aside, go on without it */
		if (!mongo_sink_dead_letter(sink, batch->messages[failed],
									batch->store_error.message, &batch->store_error))
			return false;
		ereport(WARNING,
				(errmsg("authlog mirror: the document store refused a document; it is kept in dead_letters"),
				 errdetail("%s", batch->store_error.message)));
		batch->skip[failed] = true;
		batch->refused++;
	}
	return false;
}

static void
pause_before_advance_for_tests(void)
{
	if (!authlog_mirror_test_pause_before_advance)
		return;
	set_state(MIRROR_PAUSED);
	while (authlog_mirror_test_pause_before_advance)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	set_state(MIRROR_STREAMING);
}

static void
record_applied(MirrorBatch *batch, XLogRecPtr confirmed, bool caught_up)
{
	SpinLockAcquire(&authlog_mirror_shared->mutex);
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
	if (authlog_mirror_shared->state != MIRROR_RESYNCING)
		authlog_mirror_shared->state = MIRROR_STREAMING;
	SpinLockRelease(&authlog_mirror_shared->mutex);
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
	SpinLockAcquire(&authlog_mirror_shared->mutex);
	wake_lsn = authlog_mirror_shared->wake_lsn;
	SpinLockRelease(&authlog_mirror_shared->mutex);
	if (wake_lsn > GetFlushRecPtr(NULL))
		XLogFlush(wake_lsn);

	if (!run_step(step_peek, &batch))
	{
		slot_ready = false;		/* check the slot again: it may be gone */
		return report_failure("could not read the logical slot", step_error);
	}

	SpinLockAcquire(&authlog_mirror_shared->mutex);
	sync_requested = authlog_mirror_shared->sync_requested;
	SpinLockRelease(&authlog_mirror_shared->mutex);

	if (batch.count == 0)
	{
		/*
		 * Nothing of authlog's committed before the peek started, so the
		 * slot may move up to there: WAL of other tables is never pinned.
		 */
		if (sync_requested ||
			TimestampDifferenceExceeds(last_advance, GetCurrentTimestamp(),
									   authlog_mirror_idle_advance_ms))
		{
			if (!worker_advance_slot(authlog_mirror_slot_name, batch.flush_before, &step_error))
			{
				slot_ready = false;
				return report_failure("could not advance the logical slot", step_error);
			}
			last_advance = GetCurrentTimestamp();
			report_success();
			record_applied(&batch, batch.flush_before, true);
		}
		else
		{
			report_success();
			record_applied(&batch, InvalidXLogRecPtr, true);
		}

		return sync_requested ? MIRROR_SYNC_POLL_MS : authlog_mirror_idle_advance_ms;
	}

	if (!apply_batch(&batch))
	{
		if (mongo_sink_error_is_transient(&batch.store_error))
			close_sink();
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
				 errdetail("%s", step_error)));
		SpinLockAcquire(&authlog_mirror_shared->mutex);
		authlog_mirror_shared->notifications_failed += batch.lockouts;
		SpinLockRelease(&authlog_mirror_shared->mutex);
		batch.lockouts = 0;
	}

	pause_before_advance_for_tests();
	if (!worker_advance_slot(authlog_mirror_slot_name, batch.end_lsn, &step_error))
	{
		slot_ready = false;
		return report_failure("could not advance the logical slot", step_error);
	}
	last_advance = GetCurrentTimestamp();
	report_success();
	record_applied(&batch, batch.end_lsn, false);
	return 0;
}


/* ---------- resync ---------- */

typedef struct CopyState
{
	const char *table;
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
	const char *const *key_columns = authlog_table_key_columns(copy->table);
	SPIPlanPtr	plan;
	Portal		portal;
	bson_t		message = BSON_INITIALIZER;

	plan = SPI_prepare(psprintf("SELECT * FROM authlog.%s", copy->table), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "authlog mirror: could not read authlog.%s", copy->table);
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
				MemoryContext old;

				heap_deform_tuple(SPI_tuptable->vals[i], desc, values, nulls);
				bson_reinit(&message);
				BSON_APPEND_UTF8(&message, "op", "insert");
				BSON_APPEND_UTF8(&message, "table", copy->table);
				BSON_APPEND_INT64(&message, "commit_lsn", 0);
				row_bson_append_key(&message, "_id", desc, values, nulls, key_columns);
				row_bson_append_row(&message, "doc", desc, values, nulls, key_columns, NULL);
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
			SpinLockAcquire(&authlog_mirror_shared->mutex);
			authlog_mirror_shared->documents_written += copy->batch.documents;
			authlog_mirror_shared->documents_refused += copy->batch.refused;
			SpinLockRelease(&authlog_mirror_shared->mutex);
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
		return report_failure("could not check the mirror's slot", step_error);
	if (slot->exists && !slot->lost && !slot->pending)
	{
		slot_ready = true;
		return 0;
	}

	set_state(MIRROR_RESYNCING);
	if (!slot->pending || slot->lost)
	{
		ereport(LOG,
				(errmsg("authlog mirror: %s; copying the tables to the document store",
						slot->lost ? "the slot was invalidated" :
						slot->exists ? "a resync was pending" : "the slot is missing")));
		if (!run_step(worker_step_mark_pending, slot))
			return report_failure("could not start a resync", step_error);
		slot->exists = slot->exists && !slot->lost;
	}
	if (!slot->exists && !run_step(worker_step_create_slot, slot))
		return report_failure("could not create the mirror's logical slot", step_error);

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
			return report_failure("could not empty the store's collections for a resync",
								  error.message);
		}
	}

	for (i = 0; i < AUTHLOG_MIRRORED_TABLES; i++)
	{
		CopyState	copy;

		memset(&copy, 0, sizeof(copy));
		copy.table = authlog_mirrored_tables[i];
		if (!run_step(step_copy_table, &copy))
		{
			if (copy.batch.store_failed)
			{
				if (mongo_sink_error_is_transient(&copy.batch.store_error))
					close_sink();
				return report_failure("the document store did not acknowledge the resync",
									  copy.batch.store_error.message);
			}
			return report_failure("could not copy the tables for a resync", step_error);
		}
	}
	if (!run_step(step_finish_resync, NULL))
		return report_failure("could not finish the resync", step_error);
	ereport(LOG, (errmsg("authlog mirror: resync complete, streaming from the slot")));
	set_state(MIRROR_STREAMING);
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
		set_state(MIRROR_DISABLED);
		return MIRROR_DISABLED_WAIT_MS;
	}
	/* a reload that changed where to write: connect again */
	if (sink != NULL &&
		(sink_uri == NULL || strcmp(sink_uri, authlog_mirror_uri) != 0 ||
		 sink_database == NULL || strcmp(sink_database, authlog_mirror_database) != 0))
		close_sink();
	if (sink == NULL)
	{
		sink = mongo_sink_connect(authlog_mirror_uri, authlog_mirror_database, &error);
		if (sink == NULL)
			return report_failure("could not connect to the document store", error.message);
		if (sink_uri)
			pfree(sink_uri);
		if (sink_database)
			pfree(sink_database);
		sink_uri = MemoryContextStrdup(TopMemoryContext, authlog_mirror_uri);
		sink_database = MemoryContextStrdup(TopMemoryContext, authlog_mirror_database);
	}
	if (!indexes_ready)
	{
		if (!mongo_sink_ensure_indexes(sink, &error))
		{
			close_sink();
			return report_failure("could not create the store's indexes", error.message);
		}
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
mirror_detach(int code, Datum arg)
{
	close_sink();
	if (authlog_mirror_shared)
	{
		SpinLockAcquire(&authlog_mirror_shared->mutex);
		authlog_mirror_shared->worker_latch = NULL;
		authlog_mirror_shared->pid = 0;
		SpinLockRelease(&authlog_mirror_shared->mutex);
	}
}

void
authlog_mirror_main(Datum main_arg)
{
	TimestampTz retry_at = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(authlog_mirror_dbname, NULL, 0);
	authlog_pin_worker_session();
	pgstat_report_appname("authlog mirror");

	batch_context = AllocSetContextCreate(TopMemoryContext, "authlog mirror batch",
										  ALLOCSET_DEFAULT_SIZES);
	SpinLockAcquire(&authlog_mirror_shared->mutex);
	authlog_mirror_shared->pid = MyProcPid;
	authlog_mirror_shared->worker_latch = MyLatch;
	authlog_mirror_shared->state = MIRROR_STARTING;
	SpinLockRelease(&authlog_mirror_shared->mutex);
	before_shmem_exit(mirror_detach, (Datum) 0);

	for (;;)
	{
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* while backing off, commits do not cut the wait short */
		if (backoff_ms > 0 && GetCurrentTimestamp() < retry_at)
			wait_ms = Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), retry_at));
		else
		{
			wait_ms = mirror_round();
			if (backoff_ms > 0)
				retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), wait_ms);
		}
		if (wait_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
