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
#include "nodes/parsenodes.h"
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
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "authlog_common.h"
#include "retention.h"
#include "worker.h"
#include "write_path.h"

PG_FUNCTION_INFO_V1(authlog_retire_seal_members);
PG_FUNCTION_INFO_V1(authlog_new_record_id);
PG_FUNCTION_INFO_V1(authlog_clear_default_partition);
PG_FUNCTION_INFO_V1(authlog_retire_partition_events);

char	   *authlog_default_retention = NULL;
int			authlog_retired_partitions = RETIRED_PARTITIONS_DROP;

static const struct config_enum_entry retired_partitions_options[] = {
	{"drop", RETIRED_PARTITIONS_DROP, false},
	{"archive", RETIRED_PARTITIONS_ARCHIVE, false},
	{NULL, 0, false}
};
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

	DefineCustomEnumVariable("authlog.retired_partitions",
							 "What becomes of a partition of auth_logs whose every event retention retires: drop, or archive (detached into the schema authlog_archive).",
							 "Either way its events are retired, each named by a sealed record; an archived partition is a plain table for the DBA to export and drop.",
							 &authlog_retired_partitions,
							 RETIRED_PARTITIONS_DROP, retired_partitions_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	/* auth_logs' partitions and the retention passes: a worker of their own */
	if (process_shared_preload_libraries_in_progress)
		worker_register("authlog_retention_main", "authlog retention");

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

/* A hold h covers an event e (schema/58_retention.sql: inlined by the planner) */
#define HOLD_COVERS_EVENT \
	"authlog.hold_covers(h.organisation_id, h.user_id, h.since, h.until," \
	" e.organisation_id, e.user_id, e.recorded_at, e.occurred_at)"

/*
 * One statement: the seal's members recorded before the cutoff and covered
 * by no hold (at most $4, in the seal's order) are deleted with their
 * ids (event_ids), and the record naming them is written; what is left of the
 * seal is counted in the record (kept).  The ids go with their events:
 * event_ids also holds the position poll_events pages by.
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
" SELECT e.log_id, e.recorded_at, m.n, EXISTS (SELECT 1 FROM holds h WHERE " HOLD_COVERS_EVENT ") AS held"
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
	/*
	 * A plan for each seal's values: the generic plan the plan cache took
	 * after five seals read the events without the cutoff's pruning, 3.5
	 * times slower (run_retention, 100 seals of 1,000 events)
	 */
	prepare_saved_options(&retire_plan, retire_sql, 6, types, CURSOR_OPT_CUSTOM_PLAN);
	execute_plan(lock_plan, values, NULL, false, SPI_OK_SELECT);
	/* not read-only: a snapshot taken after the lock, which sees every hold */
	execute_plan_allowed(&authlog_log_retire_allowed, retire_plan, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "authlog: the retention statement returned %d rows", (int) SPI_processed);
	result[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), result, nulls)));
}


/*
 * A whole partition of auth_logs retired at once (retire_partition): one
 * 'retired' record per seal with members in it, naming them in the seal's
 * order, from the seals themselves; kept is what of the seal remains in
 * other partitions (counted only for seals that straddle the boundary).
 * Events under a hold, or whose seal closed after their tenant's cutoff,
 * are named by no record: the caller then finds the month holds more
 * events than the records name, and nothing is retired.  %s: the
 * partition; $1 tenants, $2 their cutoffs, $3 their reasons, $4 actor,
 * $5 and $6 the partition's bounds.
 */
static const char *retire_partition_sql =
"WITH cut AS ("
" SELECT c.tenant_id, c.cutoff, c.reason"
" FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.timestamptz[]),"
"                 pg_catalog.unnest($3::pg_catalog.text[])) AS c(tenant_id, cutoff, reason)"
"), holds AS MATERIALIZED ("
" SELECT h.tenant_id, h.organisation_id, h.user_id, h.since, h.until"
" FROM authlog.legal_holds h JOIN cut c ON c.tenant_id OPERATOR(pg_catalog.=) h.tenant_id"
"), month AS MATERIALIZED ("
" SELECT e.tenant_id, e.log_id FROM %s e"
" WHERE NOT EXISTS (SELECT 1 FROM holds h WHERE h.tenant_id OPERATOR(pg_catalog.=) e.tenant_id"
"                   AND " HOLD_COVERS_EVENT ")"
"), sealed AS MATERIALIZED ("
/* the seals with events here; each is read once (a join pushed into the unnest read one per event) */
" SELECT DISTINCT m.tenant_id, m.seal_no FROM month mo"
" JOIN authlog.seal_members m ON m.tenant_id OPERATOR(pg_catalog.=) mo.tenant_id"
"  AND m.log_id OPERATOR(pg_catalog.=) mo.log_id"
"), listed AS MATERIALIZED ("
" SELECT s.tenant_id, s.seal_no, s.event_count, x.log_id, x.n FROM sealed k"
" JOIN authlog.seals s ON s.tenant_id OPERATOR(pg_catalog.=) k.tenant_id AND s.seal_no OPERATOR(pg_catalog.=) k.seal_no"
" JOIN cut c ON c.tenant_id OPERATOR(pg_catalog.=) s.tenant_id AND s.last_committed_at OPERATOR(pg_catalog.<) c.cutoff"
" CROSS JOIN LATERAL pg_catalog.unnest(s.members) WITH ORDINALITY AS x(log_id, n)"
"), named AS MATERIALIZED ("
" SELECT l.tenant_id, l.seal_no, l.event_count, l.log_id, l.n FROM listed l"
" JOIN month mo ON mo.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND mo.log_id OPERATOR(pg_catalog.=) l.log_id"
"), record AS ("
" INSERT INTO authlog.records_log (tenant_id, record_id, recorded_at, action, actor, role_name,"
"                                  reason, seal_no, retired, kept)"
" SELECT n.tenant_id, authlog.new_record_id(), pg_catalog.now(), 'retired', $4, pg_catalog.\"session_user\"(), c.reason, n.seal_no,"
"        pg_catalog.array_agg(n.log_id ORDER BY n.n),"
"        CASE WHEN pg_catalog.count(*) OPERATOR(pg_catalog.=) n.event_count THEN 0 ELSE"
"        (SELECT pg_catalog.count(*) FROM authlog.seals s"
"         CROSS JOIN LATERAL pg_catalog.unnest(s.members) AS y(log_id)"
"         JOIN authlog.event_ids f ON f.tenant_id OPERATOR(pg_catalog.=) s.tenant_id AND f.log_id OPERATOR(pg_catalog.=) y.log_id"
"         WHERE s.tenant_id OPERATOR(pg_catalog.=) n.tenant_id AND s.seal_no OPERATOR(pg_catalog.=) n.seal_no"
"           AND NOT (f.recorded_at OPERATOR(pg_catalog.>=) $5 AND f.recorded_at OPERATOR(pg_catalog.<) $6)) END::pg_catalog.int4"
" FROM named n JOIN cut c ON c.tenant_id OPERATOR(pg_catalog.=) n.tenant_id"
" GROUP BY n.tenant_id, n.seal_no, n.event_count, c.reason"
" RETURNING tenant_id, pg_catalog.cardinality(retired) AS retired"
")"
" SELECT r.tenant_id, pg_catalog.count(*)::pg_catalog.int4, pg_catalog.sum(r.retired)::pg_catalog.int8"
" FROM record r GROUP BY r.tenant_id ORDER BY r.tenant_id";

/*
 * authlog.retire_partition_events(partition, tenants, cutoffs, reasons,
 * actor) -> (tenant_id, records, retired): the records that account for
 * every event of a partition of auth_logs about to be dropped whole, and
 * the events' ids removed; the caller (retire_partition, which checked
 * that the partition is due, took the tenants' retention locks and drops
 * the partition next in the same transaction) gets one row per tenant.
 * Every event must be named by a record, or nothing is written.
 */
Datum
authlog_retire_partition_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	Oid			bound_types[1] = {REGCLASSOID};
	Datum		bound_values[1] = {ObjectIdGetDatum(relid)};
	Oid			types[6] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[6];
	Oid			ids_types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	char	   *partition;
	int64		events;
	int64		named = 0;
	bool		isnull;
	SPIPlanPtr	plan;
	MemoryContext caller_context = CurrentMemoryContext;
	uint64		i;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");

	/* a month's partition of auth_logs, never the default one */
	if (SPI_execute_with_args("SELECT p.lower, p.upper FROM authlog.auth_logs_partitions p"
							  " WHERE p.partition OPERATOR(pg_catalog.=) $1 AND NOT p.is_default",
							  1, bound_types, bound_values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read the partitions of auth_logs");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not a partition of a time range of authlog.auth_logs",
						DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid))))));
	values[4] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	values[5] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	partition = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid));

	if (SPI_execute(psprintf("SELECT pg_catalog.count(*) FROM %s", partition), true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "authlog: could not count the events of %s", partition);
	events = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	for (i = 0; i < 4; i++)
		values[i] = PG_GETARG_DATUM(i + 1);
	if (SPI_execute_with_args(psprintf(retire_partition_sql, partition), 6, types, values, NULL,
							  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: the records of %s could not be written", partition);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		Datum		result[3];
		bool		nulls[3] = {false, false, false};
		MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

		result[0] = PointerGetDatum(DatumGetTextPCopy(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull)));
		result[1] = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
		result[2] = SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull);
		named += DatumGetInt64(result[2]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, nulls);
		MemoryContextSwitchTo(spi_context);
	}
	if (named != events)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s holds " INT64_FORMAT " events; " INT64_FORMAT " of them can be retired",
						partition, events, named),
				 errdetail("The others are under a legal hold, past no retention, or named by no seal closed before their tenant's cutoff."),
				 errhint("Retention retires such a partition's events in batches instead.")));

	/* their ids go with them, in the same transaction: a retry of one is a new event */
	plan = SPI_prepare(psprintf("DELETE FROM authlog.event_ids f USING %s e"
								" WHERE f.tenant_id OPERATOR(pg_catalog.=) e.tenant_id"
								"   AND f.log_id OPERATOR(pg_catalog.=) e.log_id"
								"   AND f.recorded_at OPERATOR(pg_catalog.>=) $1"
								"   AND f.recorded_at OPERATOR(pg_catalog.<) $2", partition),
					   2, ids_types);
	if (plan == NULL)
		elog(ERROR, "authlog: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	execute_plan_allowed(&authlog_log_retire_allowed, plan, &values[4], NULL, SPI_OK_DELETE);
	if ((int64) SPI_processed != events)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s holds " INT64_FORMAT " events but authlog.event_ids " UINT64_FORMAT " of their ids",
						partition, events, SPI_processed)));
	SPI_finish();
	return (Datum) 0;
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
	execute_plan_allowed(&authlog_log_retire_allowed, plan, values, NULL, SPI_OK_DELETE);
	deleted = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) deleted);
}


/* ---------- the retention worker ---------- */

/* A pass of the worker's, one step (one transaction) at a time */
typedef struct RetentionPass
{
	TimestampTz started;
	int64		retired;
	int			partitions;
	bool		finished;
} RetentionPass;

/*
 * One batch of the pass that started at pass->started, in the worker's
 * transaction.
 */
static bool
step_retention_batch(void *arg)
{
	RetentionPass *pass = arg;
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(pass->started)};
	bool		isnull;

	pgstat_report_activity(STATE_RUNNING, "SELECT authlog.retention_batch()");
	if (SPI_execute_with_args("SELECT retired, finished FROM authlog.retention_batch(NULL, $1)",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog: a retention batch failed");
	pass->retired += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	pass->finished = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/* WorkerStep: the next partition due whole, if any; arg: RetentionPass */
static bool
step_retire_partition(void *arg)
{
	RetentionPass *pass = arg;
	bool		isnull;

	pgstat_report_activity(STATE_RUNNING, "SELECT authlog.retire_partition()");
	if (SPI_execute("SELECT retired FROM authlog.retire_partition()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "authlog: retire_partition failed");
	pass->finished = (SPI_processed == 0);
	if (!pass->finished)
	{
		pass->partitions++;
		pass->retired += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	return true;
}

/*
 * auth_logs' partitions and the retention passes are a worker's of their
 * own, authlog retention: DDL run in a process that also decodes its slot
 * in-process crashed that decoder after a crash restart (found by
 * test/t/280), so neither the sealer nor the mirror runs it, and a pass
 * that drops a partition must run where the DDL runs.  Hourly it makes the
 * months ahead (a minute after a failure, or while the database has no
 * 1.1 schema); every authlog.retention_interval it runs a pass: the
 * partitions due whole, then the other events in batches, then the months
 * batches emptied; each step is a transaction of its own.
 */
PGDLLEXPORT void authlog_retention_main(Datum main_arg);

#define PARTITIONS_EVERY_MS (3600 * 1000)
#define RETENTION_RETRY_MS (60 * 1000)

/*
 * WorkerStep: make the partitions ahead, if the schema has them; arg:
 * PartitionsRun
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
	if (SPI_execute("SELECT pg_catalog.to_regprocedure('authlog.retire_partition()') IS NOT NULL",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "authlog: could not look up retire_partition");
	run->available = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!run->available)
		return true;
	if (SPI_execute("SELECT authlog.create_partitions()", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "authlog: create_partitions failed");
	run->made = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/* WorkerStep: drop the months retention emptied; arg: PartitionsRun */
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

/* Reload the configuration if asked; the worker stops at once on SIGTERM. */
static void
serve_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * A whole retention pass, a transaction a step; false (with *error) when a
 * step failed: the next pass goes on where this one stopped.
 */
static bool
retention_pass(PartitionsRun *run, RetentionPass *pass, char **error)
{
	memset(pass, 0, sizeof(RetentionPass));
	pass->started = GetCurrentTimestamp();
	do
	{
		serve_interrupts();
		if (!worker_run_step(step_retire_partition, pass, error))
			return false;
	} while (!pass->finished);
	pass->finished = false;
	do
	{
		serve_interrupts();
		if (!worker_run_step(step_retention_batch, pass, error))
			return false;
	} while (!pass->finished);
	return worker_run_step(step_drop_partitions, run, error);
}

void
authlog_retention_main(Datum main_arg)
{
	char	   *error = NULL;
	TimestampTz started;
	TimestampTz partitions_due = 0;
	TimestampTz retained = 0;	/* the last pass's end, or its retry's base */
	PartitionsRun run = {false, 0, 0};

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(authlog_database, NULL, 0);
	started = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now;
		TimestampTz wake_at;
		TimestampTz retention_due = 0;

		serve_interrupts();
		now = GetCurrentTimestamp();
		if (now >= partitions_due)
		{
			run.made = 0;
			partitions_due = TimestampTzPlusMilliseconds(now, PARTITIONS_EVERY_MS);
			if (!worker_run_step(step_make_partitions, &run, &error))
			{
				ereport(WARNING,
						(errmsg("authlog: could not make the partitions of auth_logs: %s", error),
						 errhint("It tries again in a minute; SELECT authlog.create_partitions() makes them now.")));
				partitions_due = TimestampTzPlusMilliseconds(now, RETENTION_RETRY_MS);
			}
			else if (!run.available)
				partitions_due = TimestampTzPlusMilliseconds(now, RETENTION_RETRY_MS);
			else if (run.made > 0)
				ereport(LOG, (errmsg("authlog: made %d partitions of auth_logs", run.made)));
		}

		/*
		 * The first pass one interval after the start, then one interval
		 * (as set now) after the last one's end.
		 */
		if (run.available && authlog_retention_interval_s > 0)
			retention_due = TimestampTzPlusMilliseconds(retained != 0 ? retained : started,
														(int64) authlog_retention_interval_s * 1000);
		if (retention_due != 0 && now >= retention_due)
		{
			RetentionPass pass;

			run.dropped = 0;
			if (!retention_pass(&run, &pass, &error))
			{
				ereport(WARNING,
						(errmsg("authlog: a retention pass stopped: %s", error),
						 errhint("It goes on in a minute; CALL authlog.run_retention() runs a pass now.")));
				/* due again a minute from now */
				retained = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   RETENTION_RETRY_MS - (int64) authlog_retention_interval_s * 1000);
			}
			else
				retained = GetCurrentTimestamp();
			if (pass.retired > 0 || run.dropped > 0)
				ereport(LOG,
						(errmsg("authlog: the retention pass retired " INT64_FORMAT " events, %d partitions whole; dropped %d partitions it emptied",
								pass.retired, pass.partitions, run.dropped),
						 errdetail("authlog.retention_status shows each tenant's result; records_log lists what was retired.")));
			continue;
		}

		wake_at = partitions_due;
		if (retention_due != 0 && retention_due < wake_at)
			wake_at = retention_due;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(TimestampDifferenceMilliseconds(now, wake_at), 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
