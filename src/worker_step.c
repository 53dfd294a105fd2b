/*-------------------------------------------------------------------------
 *
 * worker_step.c
 *	  One step of a background worker (the mirror, the sealer) in its own
 *	  short transaction with SPI, as pg_cron runs its jobs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/memutils.h"
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
