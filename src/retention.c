/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  Retention (1.1): the settings, the one statement that removes events
 *	  (with the sealed record naming them), and the steps the sealer worker
 *	  runs between cuts.  The rules (which tenants, which seals, holds) are
 *	  SQL: schema/58_retention.sql, doc/retention.md.
 *
 *	  Events leave only whole from sealed seals and only with a records_log
 *	  row of action 'retired' that lists them, written by the same statement
 *	  that deletes them: a crash leaves both or neither, and the verifiers
 *	  tell a retired event from a deleted one by that record alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/wait_event.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "authlog_common.h"
#include "retention.h"
#include "worker.h"
#include "write_path.h"

PG_FUNCTION_INFO_V1(authlog_retire_seal_members);
PG_FUNCTION_INFO_V1(authlog_new_record_id);
PG_FUNCTION_INFO_V1(authlog_clear_default_partition);

char	   *authlog_default_retention = NULL;
int			authlog_retention_interval_s = 3600;
int			authlog_retention_batch_rows = 5000;

/*
 * The default must parse as a positive interval: a typo in
 * postgresql.conf is refused at reload, not found by the next run.
 */
static bool
check_default_retention(char **newval, void **extra, GucSource source)
{
	char		workbuf[256];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_itm_in itm;
	int			rc;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* kept for ever */
	rc = ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (rc == 0)
		rc = DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm);
	if (rc == DTERR_BAD_FORMAT)
		rc = DecodeISO8601Interval(*newval, &dtype, &itm);
	if (rc != 0 || dtype != DTK_DELTA)
	{
		GUC_check_errdetail("\"%s\" is not an interval.", *newval);
		GUC_check_errhint("Set it to how long events are kept, such as '1 year', or to '' to keep them for ever.");
		return false;
	}
	if (itm.tm_usec < 0 || itm.tm_mday < 0 || itm.tm_mon < 0 || itm.tm_year < 0 ||
		(itm.tm_usec == 0 && itm.tm_mday == 0 && itm.tm_mon == 0 && itm.tm_year == 0))
	{
		GUC_check_errdetail("The retention must be positive.");
		return false;
	}
	return true;
}

void
retention_init(void)
{
	/*
	 * Unset, events are kept for ever: removing evidence is a decision a
	 * records schedule makes, never a default.
	 */
	DefineCustomStringVariable("authlog.default_retention",
							   "How long events of a tenant without its own retention are kept; empty: for ever.",
							   "authlog.set_retention() sets a tenant's own. Events are retired whole from sealed seals, never while a legal hold covers them.",
							   &authlog_default_retention,
							   "",
							   PGC_SUSET, 0,
							   check_default_retention, NULL, NULL);

	DefineCustomIntVariable("authlog.retention_interval",
							"How often the sealer worker runs a retention pass; 0 never (CALL authlog.run_retention() still does).",
							"A pass retires, in batches of authlog.retention_batch_rows events each committed on its own, the events past their tenant's retention.",
							&authlog_retention_interval_s,
							3600, 0, 30 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* auth_logs' partitions, made ahead by a worker of their own */
	if (process_shared_preload_libraries_in_progress)
		worker_register("authlog_partitions_main", "authlog partitions");

	/* Bounds each batch's locks and WAL, so no login waits on a removal. */
	DefineCustomIntVariable("authlog.retention_batch_rows",
							"Most events one retention batch (one transaction) removes.",
							NULL,
							&authlog_retention_batch_rows,
							5000, 1, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/* authlog.new_record_id(): a UUID v7, as every id authlog makes */
Datum
authlog_new_record_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	event_id_random(id);
	PG_RETURN_UUID_P(id);
}

/*
 * One statement: the seal's members recorded before the cutoff and covered
 * by no hold (at most $4, in the seal's order) are deleted with their
 * ids (event_ids), and the record naming them is written; what is left of the
 * seal is counted in the record (kept).  event_positions keeps its rows:
 * they are bookkeeping without content, and poll_events joins them to the
 * events, so a retired event no longer shows.
 */
static const char *retire_sql =
"WITH seal AS ("
" SELECT s.members FROM authlog.seals s"
" WHERE s.tenant_id OPERATOR(pg_catalog.=) $1 AND s.seal_no OPERATOR(pg_catalog.=) $2"
"   AND s.last_committed_at OPERATOR(pg_catalog.<) $3"
"), holds AS MATERIALIZED ("
" SELECT h.organisation_id, h.user_id, h.since, h.until FROM authlog.legal_holds h"
" WHERE h.tenant_id OPERATOR(pg_catalog.=) $1"
"), present AS MATERIALIZED ("
/* a hold covers an event by the time authlog recorded it or the time it claims */
" SELECT e.log_id, e.recorded_at, m.n, EXISTS (SELECT 1 FROM holds h"
"   WHERE (h.organisation_id IS NULL OR h.organisation_id OPERATOR(pg_catalog.=) e.organisation_id)"
"     AND (h.user_id IS NULL OR h.user_id OPERATOR(pg_catalog.=) e.user_id)"
"     AND ((e.recorded_at OPERATOR(pg_catalog.>=) h.since"
"           AND (h.until IS NULL OR e.recorded_at OPERATOR(pg_catalog.<) h.until))"
"       OR (e.occurred_at OPERATOR(pg_catalog.>=) h.since"
"           AND (h.until IS NULL OR e.occurred_at OPERATOR(pg_catalog.<) h.until)))) AS held"
" FROM seal CROSS JOIN LATERAL pg_catalog.unnest(seal.members) WITH ORDINALITY AS m(log_id, n)"
/* recorded before its commit, before the seal closed, before the cutoff: later months are not read */
" JOIN authlog.auth_logs e ON e.tenant_id OPERATOR(pg_catalog.=) $1 AND e.log_id OPERATOR(pg_catalog.=) m.log_id"
"   AND e.recorded_at OPERATOR(pg_catalog.<) $3"
"), doomed AS MATERIALIZED ("
" SELECT p.log_id, p.recorded_at, p.n FROM present p WHERE NOT p.held ORDER BY p.n LIMIT $4"
"), gone AS ("
/* by the whole key, a probe of the key's index per event */
" DELETE FROM authlog.auth_logs e USING doomed d"
" WHERE e.tenant_id OPERATOR(pg_catalog.=) $1 AND e.log_id OPERATOR(pg_catalog.=) d.log_id"
"   AND e.recorded_at OPERATOR(pg_catalog.=) d.recorded_at AND e.recorded_at OPERATOR(pg_catalog.<) $3"
" RETURNING e.log_id"
"), ids AS ("
" DELETE FROM authlog.event_ids f USING gone g"
" WHERE f.tenant_id OPERATOR(pg_catalog.=) $1 AND f.log_id OPERATOR(pg_catalog.=) g.log_id"
"), record AS ("
" INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name,"
"                                  reason, seal_no, retired, kept)"
" SELECT $1, authlog.new_record_id(), pg_catalog.now(), 'retired', $5, pg_catalog.\"session_user\"(), $6, $2,"
"        pg_catalog.array_agg(g.log_id ORDER BY d.n),"
"        ((SELECT pg_catalog.count(*) FROM present) OPERATOR(pg_catalog.-) pg_catalog.count(*))::pg_catalog.int4"
" FROM gone g JOIN doomed d ON d.log_id OPERATOR(pg_catalog.=) g.log_id"
" HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0"
" RETURNING pg_catalog.cardinality(retired) AS retired, kept"
")"
" SELECT coalesce((SELECT r.retired FROM record r), 0),"
"        coalesce((SELECT r.kept FROM record r), (SELECT pg_catalog.count(*) FROM present)::pg_catalog.int4)";

/*
 * Run a statement whose deletes of events the append-only trigger lets
 * through: the two that remove events, each with what accounts for it.
 */
static void
execute_retiring(SPIPlanPtr plan, Datum *values, int expected)
{
	authlog_log_retire_allowed = true;
	PG_TRY();
	{
		execute_plan(plan, values, NULL, false, expected);
	}
	PG_FINALLY();
	{
		authlog_log_retire_allowed = false;
	}
	PG_END_TRY();
}

/*
 * authlog.retire_seal_members(tenant_id, seal_no, cutoff, max_rows, actor,
 * reason) -> (retired, kept): the only way auth_logs loses a row.  The
 * tenant's retention lock first, so a hold placed meanwhile is either seen
 * or waits; then the one statement, with the append-only trigger letting
 * its deletes through.
 */
Datum
authlog_retire_seal_members(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr retire_plan = NULL;
	Oid			lock_types[1] = {TEXTOID};
	Oid			types[6] = {TEXTOID, INT8OID, TIMESTAMPTZOID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[6];
	TupleDesc	desc;
	Datum		result[2];
	bool		nulls[2] = {false, false};
	bool		isnull;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "authlog: retire_seal_members must return a composite type");
	if (PG_GETARG_INT32(3) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must be at least 1")));
	for (i = 0; i < 6; i++)
		values[i] = PG_GETARG_DATUM(i);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	prepare_saved(&lock_plan, "SELECT pg_catalog.pg_advisory_xact_lock("
				  "pg_catalog.hashtext('authlog retention ' OPERATOR(pg_catalog.||) $1))",
				  1, lock_types);
	prepare_saved(&retire_plan, retire_sql, 6, types);
	execute_plan(lock_plan, values, NULL, false, SPI_OK_SELECT);
	/* not read-only: a snapshot taken after the lock, which sees every hold */
	execute_retiring(retire_plan, values, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "authlog: the retention statement returned %d rows", (int) SPI_processed);
	result[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), result, nulls)));
}


/*
 * authlog.clear_default_partition(lower, upper): create_partitions' second
 * half of a move, run once the month's new table holds copies of the rows:
 * the originals leave auth_logs_default.  Its deletes are decoded as
 * deletes from auth_logs, which neither the sealer (inserts only) nor the
 * store (which keeps every event as committed) takes.
 */
Datum
authlog_clear_default_partition(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)};
	uint64		deleted;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	prepare_saved(&plan, "DELETE FROM authlog.auth_logs_default"
				  " WHERE recorded_at OPERATOR(pg_catalog.>=) $1"
				  "   AND recorded_at OPERATOR(pg_catalog.<) $2",
				  2, types);
	execute_retiring(plan, values, SPI_OK_DELETE);
	deleted = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) deleted);
}


/* ---------- the worker's passes ---------- */

/*
 * One batch of the pass that started at pass->started, in the worker's
 * transaction; a database still at 1.0 has nothing to run.
 */
bool
retention_step_batch(void *arg)
{
	RetentionPass *pass = arg;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(pass->started)};
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.to_regprocedure('authlog.retention_batch(integer, timestamptz)') IS NOT NULL",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog: could not look up retention_batch");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		pass->finished = true;
		return true;
	}
	if (SPI_execute_with_args("SELECT retired, finished FROM authlog.retention_batch(NULL, $1)",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog: a retention batch failed");
	pass->retired += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pass->finished = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/*
 * auth_logs' partitions are made by a worker of their own, hourly (and a
 * minute after a failure, or while the database has no 1.1 schema): DDL
 * run in a process that also decodes its slot in-process crashed that
 * decoder after a crash restart (found by test/t/280), so neither the
 * sealer nor the mirror runs it.
 */
PGDLLEXPORT void authlog_partitions_main(Datum main_arg);

#define PARTITIONS_EVERY_MS (3600 * 1000)
#define PARTITIONS_RETRY_MS (60 * 1000)

/*
 * WorkerStep: make the partitions ahead and drop the months retention
 * emptied, if the schema has them; arg: PartitionsRun
 */
typedef struct PartitionsRun
{
	bool		available;
	int			made;
	int			dropped;
} PartitionsRun;

static bool
step_make_partitions(void *arg)
{
	PartitionsRun *run = arg;
	bool		isnull;

	pgstat_report_activity(STATE_RUNNING, "SELECT authlog.create_partitions()");
	if (SPI_execute("SELECT pg_catalog.to_regprocedure('authlog.create_partitions(integer)') IS NOT NULL",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog: could not look up create_partitions");
	run->available = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!run->available)
		return true;
	if (SPI_execute("SELECT authlog.create_partitions()", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "authlog: create_partitions failed");
	run->made = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/* WorkerStep: drop the months retention emptied, in a transaction of its own; arg: PartitionsRun */
static bool
step_drop_partitions(void *arg)
{
	PartitionsRun *run = arg;
	bool		isnull;

	pgstat_report_activity(STATE_RUNNING, "SELECT authlog.drop_empty_partitions()");
	if (SPI_execute("SELECT authlog.drop_empty_partitions()", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "authlog: drop_empty_partitions failed");
	run->dropped = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

void
authlog_partitions_main(Datum main_arg)
{
	char	   *error = NULL;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(authlog_database, NULL, 0);

	for (;;)
	{
		PartitionsRun run = {false, 0, 0};
		long		wait_ms = PARTITIONS_EVERY_MS;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!worker_run_step(step_make_partitions, &run, &error))
		{
			ereport(WARNING,
					(errmsg("authlog: could not make the partitions of auth_logs: %s", error),
					 errhint("It tries again in a minute; SELECT authlog.create_partitions() makes them now.")));
			wait_ms = PARTITIONS_RETRY_MS;
		}
		else if (!run.available)
			wait_ms = PARTITIONS_RETRY_MS;
		else if (!worker_run_step(step_drop_partitions, &run, &error))
		{
			ereport(WARNING,
					(errmsg("authlog: could not drop the partitions of auth_logs retention emptied: %s", error),
					 errhint("It tries again in a minute; SELECT authlog.drop_empty_partitions() drops them now.")));
			wait_ms = PARTITIONS_RETRY_MS;
		}
		if (run.made > 0 || run.dropped > 0)
			ereport(LOG,
					(errmsg("authlog: made %d partitions of auth_logs, dropped %d that retention emptied",
							run.made, run.dropped)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
