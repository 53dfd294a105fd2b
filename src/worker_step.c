/*-------------------------------------------------------------------------
 *
 * worker_step.c
 *	  What the two background workers (the mirror, the sealer) share: one
 *	  step in its own short transaction with SPI, as pg_cron runs its jobs,
 *	  and the handling of a logical slot of their own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "authlog.h"

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


/* ---------- a worker's logical slot, and its pending flag ---------- */

/*
 * Does the slot exist, is it lost, and is a copy pending for it (a resync
 * for the mirror, a table-scan backlog for the sealer)?  authlog.mirror_state
 * holds that flag, durably, per slot.
 */
bool
worker_step_check_slot(void *arg)
{
	WorkerSlot *slot = arg;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(slot->name)};
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.to_regclass('authlog.mirror_state') IS NOT NULL", true, 1) != SPI_OK_SELECT ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension authlog is not installed in database \"%s\"", authlog_mirror_dbname),
				 errhint("Run CREATE EXTENSION authlog in the database named by authlog.mirror_dbname.")));

	if (SPI_execute_with_args("SELECT wal_status OPERATOR(pg_catalog.=) 'lost' FROM pg_catalog.pg_replication_slots"
							  " WHERE slot_name OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read pg_replication_slots");
	slot->exists = SPI_processed > 0;
	slot->lost = slot->exists &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (SPI_execute_with_args("SELECT resync_pending FROM authlog.mirror_state WHERE slot_name OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read authlog.mirror_state");
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

	if (SPI_execute_with_args("INSERT INTO authlog.mirror_state (slot_name, resync_pending)"
							  " VALUES ($1, true) ON CONFLICT (slot_name)"
							  " DO UPDATE SET resync_pending = true",
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

	if (SPI_execute_with_args("UPDATE authlog.mirror_state SET resync_pending = false,"
							  " resynced_at = pg_catalog.now() WHERE slot_name OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "authlog: could not record the end of the copy for slot \"%s\"", slot_name);
}

static bool
step_advance_slot(void *arg)
{
	WorkerSlot *slot = arg;
	Oid			types[2] = {TEXTOID, PG_LSNOID};
	Datum		values[2] = {CStringGetTextDatum(slot->name), LSNGetDatum(slot->advance_to)};

	if (SPI_execute_with_args("SELECT pg_catalog.pg_replication_slot_advance($1, $2)",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not advance the slot \"%s\"", slot->name);
	return true;
}

/* Move a slot to target, in a transaction of its own. */
bool
worker_advance_slot(const char *slot_name, XLogRecPtr target, char **error)
{
	WorkerSlot	slot;

	memset(&slot, 0, sizeof(slot));
	slot.name = slot_name;
	slot.advance_to = target;
	return worker_run_step(step_advance_slot, &slot, error);
}
