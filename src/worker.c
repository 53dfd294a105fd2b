/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The frame of the two background workers (the mirror, the sealer):
 *	  their shared settings and shared memory, attach and detach, one step
 *	  in its own short transaction with SPI (as pg_cron runs its jobs),
 *	  backoff, and the handling of a logical slot of their own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
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

#include "worker.h"

char	   *authlog_database = "postgres";
int			authlog_worker_max_backoff_ms = 30000;

#define WORKER_MIN_BACKOFF_MS 100


/* ---------- settings ---------- */

void
worker_init(void)
{
	/* A dead store or a missing slot is retried, but never in a tight loop. */
	DefineCustomIntVariable("authlog.worker_max_backoff",
							"Longest wait between retries of the mirror or the sealer while something they need fails.",
							"Retries start at 100ms and double up to this.",
							&authlog_worker_max_backoff_ms,
							30000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	/* The workers exist only when preloaded; so does their start-time setting. */
	if (!process_shared_preload_libraries_in_progress)
		return;

	/* The workers connect to one database, the one holding the extension. */
	DefineCustomStringVariable("authlog.database",
							   "PostgreSQL database whose authlog tables the mirror and the sealer read.",
							   "The extension must be installed there. Takes effect at server start.",
							   &authlog_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
}


/* ---------- shared memory: one pair of hooks for every struct ---------- */

typedef struct SharedStruct
{
	const char *name;
	Size		size;
	void	  **location;
	SharedRequest request;
	SharedStartup startup;
} SharedStruct;

#define MAX_SHARED_STRUCTS 4
static SharedStruct shared_structs[MAX_SHARED_STRUCTS];
static int	nshared_structs = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
shared_request(void)
{
	int			i;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	for (i = 0; i < nshared_structs; i++)
	{
		RequestAddinShmemSpace(MAXALIGN(shared_structs[i].size));
		if (shared_structs[i].request)
			shared_structs[i].request();
	}
}

static void
shared_startup(void)
{
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	for (i = 0; i < nshared_structs; i++)
	{
		SharedStruct *s = &shared_structs[i];
		bool		found;

		*s->location = ShmemInitStruct(s->name, s->size, &found);
		if (!found)
			memset(*s->location, 0, s->size);
		s->startup(*s->location, found);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from the subsystems' init, while shared_preload_libraries is processed. */
void
worker_shared_add(const char *name, Size size, void **location,
				  SharedRequest request, SharedStartup startup)
{
	if (nshared_structs == MAX_SHARED_STRUCTS)
		elog(ERROR, "authlog: too many shared structs");
	if (nshared_structs == 0)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = shared_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = shared_startup;
	}
	shared_structs[nshared_structs++] = (SharedStruct)
	{
		name, size, location, request, startup
	};
}


/* ---------- a worker's life ---------- */

void
worker_register(const char *function_name, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "authlog");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function_name);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

static void
worker_detach(int code, Datum arg)
{
	WorkerShared *shared = (WorkerShared *) DatumGetPointer(arg);

	SpinLockAcquire(&shared->mutex);
	shared->latch = NULL;
	shared->pid = 0;
	SpinLockRelease(&shared->mutex);
}

/* From the worker's main: signals, the connection, the pinned session, shared memory. */
void
worker_attach(Worker *worker, int starting_state)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(authlog_database, NULL, 0);
	authlog_pin_worker_session();
	pgstat_report_appname(worker->name);

	SpinLockAcquire(&worker->shared->mutex);
	worker->shared->pid = MyProcPid;
	worker->shared->latch = MyLatch;
	worker->shared->state = starting_state;
	SpinLockRelease(&worker->shared->mutex);
	before_shmem_exit(worker_detach, PointerGetDatum(worker->shared));
}

/* SIGTERM and SIGHUP, between steps */
void
worker_serve_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

void
worker_wait(long timeout_ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(1, timeout_ms), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}


/* ---------- reporting ---------- */

void
worker_set_state(Worker *worker, int state)
{
	SpinLockAcquire(&worker->shared->mutex);
	worker->shared->state = state;
	SpinLockRelease(&worker->shared->mutex);
}

int
worker_get_state(Worker *worker)
{
	int			state;

	SpinLockAcquire(&worker->shared->mutex);
	state = worker->shared->state;
	SpinLockRelease(&worker->shared->mutex);
	return state;
}

/*
 * A round failed: back off exponentially up to authlog.worker_max_backoff,
 * and log the error only when it differs from the last one, so an outage
 * is one line in the log, not one per retry.  Returns the wait.
 */
long
worker_report_failure(Worker *worker, const char *what, const char *detail)
{
	WorkerShared *shared = worker->shared;
	char		message[sizeof(shared->last_error)];
	bool		changed;

	if (detail == NULL)
		detail = "unknown error";
	snprintf(message, sizeof(message), "%s: %s", what, detail);
	SpinLockAcquire(&shared->mutex);
	changed = shared->state != worker->backing_off_state ||
		strcmp(shared->last_error, message) != 0;
	shared->state = worker->backing_off_state;
	strlcpy(shared->last_error, message, sizeof(shared->last_error));
	shared->last_error_at = GetCurrentTimestamp();
	SpinLockRelease(&shared->mutex);
	if (changed)
		ereport(LOG,
				(errmsg("%s: %s", worker->name, what),
				 errdetail("%s", detail),
				 errhint("%s", worker->retry_hint)));

	worker->backoff_ms = Max(WORKER_MIN_BACKOFF_MS,
							 Min(worker->backoff_ms * 2, authlog_worker_max_backoff_ms));
	return worker->backoff_ms;
}

/* A round succeeded: the end of an outage is one line too. */
void
worker_report_recovered(Worker *worker, const char *message)
{
	if (worker_get_state(worker) == worker->backing_off_state)
		ereport(LOG, (errmsg("%s: %s", worker->name, message)));
	worker->backoff_ms = 0;
}


/* ---------- for the SQL functions ---------- */

void
worker_require_shared(const void *shared, const char *name)
{
	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the %s is not running in this server", name),
				 errhint("Add authlog to shared_preload_libraries and restart the server.")));
}

void
worker_copy_shared(WorkerShared *shared, void *copy, Size size)
{
	SpinLockAcquire(&shared->mutex);
	memcpy(copy, shared, size);
	SpinLockRelease(&shared->mutex);
}

const char *
worker_state_name(const char *const *names, int nnames, int state)
{
	if (state < 0 || state >= nnames || names[state] == NULL)
		return "unknown";
	return names[state];
}

void
worker_wake(WorkerShared *shared)
{
	Latch	   *latch;

	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	latch = shared->latch;
	SpinLockRelease(&shared->mutex);
	if (latch)
		SetLatch(latch);
}

/*
 * Flush every WAL record inserted so far (asynchronous commits included:
 * decoding reads flushed WAL only) and return where they end.  The insert
 * position just after a page header is not a place any record reached, and
 * XLogFlush() refuses to flush to it ("xlog flush request ... is not
 * satisfied"): back up to the page boundary where the last record ended.
 */
XLogRecPtr
worker_flush_inserted_wal(void)
{
	XLogRecPtr	end = GetXLogInsertRecPtr();

	if (XLogSegmentOffset(end, wal_segment_size) == SizeOfXLogLongPHD)
		end -= SizeOfXLogLongPHD;
	else if (end % XLOG_BLCKSZ == SizeOfXLogShortPHD)
		end -= SizeOfXLogShortPHD;
	XLogFlush(end);
	return end;
}

/* When a wait of mirror_sync() or seal_now() given timeout ends */
TimestampTz
worker_wait_deadline(const Interval *timeout)
{
	int64		timeout_us = timeout->time + (int64) timeout->day * USECS_PER_DAY +
		(int64) timeout->month * DAYS_PER_MONTH * USECS_PER_DAY;

	if (timeout_us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	return GetCurrentTimestamp() + timeout_us;
}

/*
 * Note the request for target and wait until the worker's progress reaches
 * it, waking it each round; returns what the worker counted meanwhile, or
 * raises an error at the deadline that says where the worker stands.
 */
uint64
worker_wait_for(WorkerShared *shared, const WorkerWait *wait, XLogRecPtr target,
				TimestampTz deadline)
{
	bool		first = true;
	uint64		count_before = 0;

	for (;;)
	{
		XLogRecPtr	reached;
		uint64		count;
		int			state;
		char		last_error[sizeof(shared->last_error)];

		SpinLockAcquire(&shared->mutex);
		reached = wait->progress(shared, target);
		count = wait->count(shared);
		state = shared->state;
		strlcpy(last_error, shared->last_error, sizeof(last_error));
		SpinLockRelease(&shared->mutex);

		if (first)
			count_before = count;
		first = false;
		if (reached >= target)
			return count - count_before;
		if (GetCurrentTimestamp() >= deadline)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s within the timeout", wait->what),
					 errdetail("The %s is %s at %X/%X, waiting for %X/%X.%s%s",
							   wait->worker_noun,
							   worker_state_name(wait->state_names, wait->nstates, state),
							   LSN_FORMAT_ARGS(reached), LSN_FORMAT_ARGS(target),
							   last_error[0] ? " Last error: " : "", last_error),
					 errhint("%s", wait->status_hint)));
		worker_wake(shared);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}


/* ---------- steps ---------- */

/*
 * Run step(arg) in a transaction of its own.  An ERROR inside is caught, its
 * message (with its hint) kept in *error, allocated in TopMemoryContext, and
 * the transaction aborted: a worker that backs off and retries serves a DBA
 * better than one that restarts in a loop.  Returns what the step returned,
 * false on an error.
 */
bool
worker_run_step(WorkerStep step, void *arg, char **error)
{
	MemoryContext caller_context = CurrentMemoryContext;
	volatile bool ok = false;

	if (*error)
	{
		pfree(*error);
		*error = NULL;
	}
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "authlog: SPI_connect failed");
		ok = step(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		*error = MemoryContextStrdup(TopMemoryContext,
									 edata->hint ? psprintf("%s (%s)", edata->message, edata->hint)
									 : edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller_context);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

bool
worker_step(Worker *worker, WorkerStep step, void *arg)
{
	return worker_run_step(step, arg, &worker->step_error);
}


/* ---------- a worker's logical slot, and its pending flag ---------- */

/*
 * The table of the workers' slots: authlog.worker_slots since 1.1, and
 * authlog.mirror_state in a database still at 1.0 (the library is updated
 * before ALTER EXTENSION authlog UPDATE runs).
 */
static const char *
slots_table(void)
{
	bool		isnull;
	Datum		name;

	if (SPI_execute("SELECT coalesce(pg_catalog.to_regclass('authlog.worker_slots'),"
					" pg_catalog.to_regclass('authlog.mirror_state'))::pg_catalog.text", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not look up the workers' slot table");
	name = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension authlog is not installed in database \"%s\"", authlog_database),
				 errhint("Run CREATE EXTENSION authlog in the database named by authlog.database.")));
	return TextDatumGetCString(name);
}

/*
 * Does the slot exist, is it lost, and is a copy pending for it (a resync
 * for the mirror, a table-scan backlog for the sealer)?  authlog.worker_slots
 * holds that flag, durably, per slot.
 */
bool
worker_step_check_slot(void *arg)
{
	WorkerSlot *slot = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot->name)};
	bool		isnull;
	const char *table = slots_table();

	if (SPI_execute_with_args("SELECT wal_status OPERATOR(pg_catalog.=) 'lost' FROM pg_catalog.pg_replication_slots"
							  " WHERE slot_name OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read pg_replication_slots");
	slot->exists = SPI_processed > 0;
	slot->lost = slot->exists &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (SPI_execute_with_args(psprintf("SELECT resync_pending FROM %s WHERE slot_name OPERATOR(pg_catalog.=) $1", table),
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read %s", table);
	slot->pending = SPI_processed > 0 &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/* Record, durably, that a copy is pending; drop the slot if it is lost. */
bool
worker_step_mark_pending(void *arg)
{
	WorkerSlot *slot = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot->name)};

	if (SPI_execute_with_args(psprintf("INSERT INTO %s (slot_name, resync_pending)"
									   " VALUES ($1, true) ON CONFLICT (slot_name)"
									   " DO UPDATE SET resync_pending = true", slots_table()),
							  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "authlog: could not record the pending copy for slot \"%s\"", slot->name);
	if (slot->lost &&
		SPI_execute_with_args("SELECT pg_catalog.pg_drop_replication_slot($1)",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not drop the lost slot \"%s\"", slot->name);
	return true;
}

bool
worker_step_create_slot(void *arg)
{
	WorkerSlot *slot = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot->name)};

	if (SPI_execute_with_args("SELECT pg_catalog.pg_create_logical_replication_slot($1, 'authlog')",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not create the slot \"%s\"", slot->name);
	return true;
}

/* In the transaction that finished the copy: it is no longer pending. */
void
worker_clear_pending(const char *slot_name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot_name)};

	if (SPI_execute_with_args(psprintf("UPDATE %s SET resync_pending = false,"
									   " resynced_at = pg_catalog.now() WHERE slot_name OPERATOR(pg_catalog.=) $1",
									   slots_table()),
							  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "authlog: could not record the end of the copy for slot \"%s\"", slot_name);
}
