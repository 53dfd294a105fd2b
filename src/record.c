/*-------------------------------------------------------------------------
 *
 * record.c
 *	  The write path: record_login, reset_lockout and lockout_status.
 *
 *	  Each call is one short sequence of saved SPI plans inside the caller's
 *	  transaction.  The account's account_lockouts row is locked first: it
 *	  is the serialisation point that makes concurrent failures all count
 *	  and makes a retry see its original.  The rules themselves live in
 *	  lockout.c; this file only reads state, writes rows and validates input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "access/xact.h"

#include "change_message.h"
#include "identity.h"
#include "mirror.h"
#include "stats.h"
#include "write_path.h"

PG_FUNCTION_INFO_V1(authlog_record_login);
PG_FUNCTION_INFO_V1(authlog_record_login_1_1);
PG_FUNCTION_INFO_V1(authlog_reset_lockout);
PG_FUNCTION_INFO_V1(authlog_reset_lockout_1_1);
PG_FUNCTION_INFO_V1(authlog_lockout_status);
PG_FUNCTION_INFO_V1(authlog_lockout_status_1_1);
PG_FUNCTION_INFO_V1(authlog_move_account);
PG_FUNCTION_INFO_V1(authlog_forbid_log_rewrite);

/* Set only while record.c itself updates auth_logs (retry bookkeeping). */
bool		authlog_log_rewrite_allowed = false;

/*
 * Set only while retention.c deletes retired events, in the statement
 * that also writes the record naming them.
 */
bool		authlog_log_retire_allowed = false;

static int	authlog_max_user_agent_length = 1024;
static int	authlog_max_metadata_depth = 32;

/* From _PG_init: the limits of what a call may send */
void
record_init(void)
{
	/*
	 * Attack tools send huge headers; the record keeps the first characters
	 * and the original length rather than refusing the event.
	 */
	DefineCustomIntVariable("authlog.max_user_agent_length",
							"Characters of a user agent kept in auth_logs; longer ones are truncated.",
							"The original length is kept in metadata.authlog.user_agent_length.",
							&authlog_max_user_agent_length,
							1024, 16, 1024 * 1024,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	/* Deeply nested metadata is a denial-of-service vector for every consumer. */
	DefineCustomIntVariable("authlog.max_metadata_depth",
							"Deepest nesting of objects and arrays accepted in a login's metadata.",
							"The metadata object itself is depth 1. Deeper metadata is refused with an error.",
							&authlog_max_metadata_depth,
							32, 1, 48,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/*
 * One auth_logs row to insert; Datums in the order of insert_event_sql,
 * and (1.1) the call's fingerprint, which goes to event_ids; whether the
 * event is its account's first, whose organisation account_organisations
 * then keeps, chooses the statement.
 */
#define EVENT_NCOLS 16
#define EVENT_NPARAMS (EVENT_NCOLS + 1)
typedef struct EventRow
{
	Datum		values[EVENT_NPARAMS];
	char		nulls[EVENT_NPARAMS];
	const char *event_type;		/* for the event counters */
	bool		register_account;	/* 1.1: insert_registering_event_sql */
} EventRow;

enum
{
	EV_TENANT, EV_LOG_ID, EV_ORGANISATION, EV_USER, EV_EVENT_TYPE, EV_IP,
	EV_USER_AGENT, EV_AUTH_PATH, EV_OCCURRED_AT, EV_RECORDED_AT, EV_METADATA,
	EV_REASON, EV_ACTOR, EV_DECISION, EV_FAILED_ATTEMPTS, EV_LOCKED_UNTIL,
	EV_FINGERPRINT
};

static const char *insert_event_sql =
"INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id,"
" event_type, ip_address, user_agent, auth_path, occurred_at, recorded_at,"
" metadata, reason, actor, decision, failed_login_attempts, account_locked_until)"
" VALUES ($1, $2, $3, $4, $5::authlog.event_type, $6, $7, $8, $9, $10,"
" $11, $12, $13, $14, $15, $16)"
" ON CONFLICT (tenant_id, log_id) DO NOTHING";

/*
 * 1.1: the event's id and the event in one statement.  auth_logs is
 * partitioned by recorded_at, so the id is taken in event_ids
 * (unpartitioned: one probe, whatever month the first one's partition is)
 * with the call's fingerprint and, by its column's default, the inserting
 * transaction's id (poll_events' order); the event is inserted only if the
 * id was free.  An account's first event (register_account) also registers
 * its organisation, in a form of its own: every other event would pay for
 * the registration's insert being set up, not run (executor start-up costs
 * as much as a small insert: doc/performance.md).  A database still at 1.0
 * has none of these tables.
 */
#define EVENT_ID \
"WITH id AS (" \
" INSERT INTO authlog.event_ids (tenant_id, log_id, recorded_at, fingerprint)" \
" VALUES ($1, $2, $10, $17)" \
" ON CONFLICT (tenant_id, log_id) DO NOTHING" \
" RETURNING tenant_id, log_id)"
#define EVENT_OF_ID \
" INSERT INTO authlog.auth_logs (tenant_id, log_id, organisation_id, user_id," \
" event_type, ip_address, user_agent, auth_path, occurred_at, recorded_at," \
" metadata, reason, actor, decision, failed_login_attempts, account_locked_until)" \
" SELECT id.tenant_id, id.log_id, $3, $4, $5::authlog.event_type, $6, $7, $8, $9, $10," \
" $11, $12, $13, $14, $15, $16 FROM id"

static const char *insert_identified_event_sql = EVENT_ID EVENT_OF_ID;

/* returns a row for the event inserted: the registration may find one */
static const char *insert_registering_event_sql =
EVENT_ID ","
" event AS (" EVENT_OF_ID
" RETURNING tenant_id, user_id, organisation_id),"
" account AS ("
" INSERT INTO authlog.account_organisations (tenant_id, user_id, organisation_id)"
" SELECT tenant_id, user_id, organisation_id FROM event"
" ON CONFLICT (tenant_id, user_id) DO NOTHING)"
" SELECT 1 FROM event";

static const char *lock_account_sql =
"SELECT failed_login_attempts, first_failed_at, account_locked_until, lockout_count,"
" organisation_id, updated_at"
" FROM authlog.account_lockouts"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2"
" FOR UPDATE";

/* Parameters of the two statements that write an account's row */
#define ACCOUNT_NPARAMS 10

/*
 * An account's first failure creates its row with its state after the call
 * (move_account too, for an account that only ever logged in).
 */
static const char *create_account_sql =
"INSERT INTO authlog.account_lockouts (tenant_id, user_id, organisation_id,"
" failed_login_attempts, first_failed_at, last_failed_at, last_failed_ip,"
" account_locked_until, lockout_count, updated_at)"
" VALUES ($1, $2, $3, $4, $5, CASE WHEN $9 THEN $8 END, CASE WHEN $9 THEN $10 END, $6, $7, $8)"
" ON CONFLICT (tenant_id, user_id) DO NOTHING";

static const char *delete_account_sql =
"DELETE FROM authlog.account_lockouts"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2";

static const char *update_account_sql =
"UPDATE authlog.account_lockouts SET organisation_id = $3,"
" failed_login_attempts = $4, first_failed_at = $5, account_locked_until = $6,"
" lockout_count = $7, updated_at = $8,"
" last_failed_at = CASE WHEN $9 THEN $8 ELSE last_failed_at END,"
" last_failed_ip = CASE WHEN $9 THEN $10 ELSE last_failed_ip END"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2";

/*
 * 1.1: the organisation of an account that has no row in account_lockouts,
 * as its first event recorded it: one probe (a search of the events probed
 * every month's partition of auth_logs, measured by make bench's
 * partitions section).
 */
static const char *registered_organisation_sql =
"SELECT organisation_id FROM authlog.account_organisations"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2";


static const char *move_account_sql =
"UPDATE authlog.account_lockouts SET organisation_id = $3, updated_at = $4"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2";

#define COUNT_RETRY_UPDATE \
"UPDATE authlog.auth_logs SET retry_count = retry_count OPERATOR(pg_catalog.+) 1" \
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND log_id OPERATOR(pg_catalog.=) $2"
#define COUNT_RETRY_RETURNING \
" RETURNING user_id, event_type::pg_catalog.text, reason, decision," \
" failed_login_attempts, account_locked_until"

static const char *count_retry_sql = COUNT_RETRY_UPDATE COUNT_RETRY_RETURNING;

/* 1.1: the same, in the partition event_ids says the event is in */
static const char *count_retry_1_1_sql = COUNT_RETRY_UPDATE
" AND recorded_at OPERATOR(pg_catalog.=) (SELECT i.recorded_at FROM authlog.event_ids i"
"   WHERE i.tenant_id OPERATOR(pg_catalog.=) $1 AND i.log_id OPERATOR(pg_catalog.=) $2)"
COUNT_RETRY_RETURNING;

/* 1.1: the fingerprint of the call that recorded a caller's log_id */
static const char *read_fingerprint_sql =
"SELECT fingerprint FROM authlog.event_ids"
" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND log_id OPERATOR(pg_catalog.=) $2";

static const char *reader_covers_sql =
"SELECT 1 FROM authlog.reader_grants g"
" WHERE g.tenant_id OPERATOR(pg_catalog.=) $1"
" AND (g.organisation_id IS NULL OR $2 IS NULL OR g.organisation_id OPERATOR(pg_catalog.=) $2)"
" AND pg_catalog.pg_has_role($3, g.role::pg_catalog.oid, 'USAGE')"
" LIMIT 1";

/*
 * 1.1: a grant whose role no longer has the name it was granted to is
 * stale; a gateway's request in this transaction covers what its token does.
 */
static const char *reader_covers_1_1_sql =
"SELECT 1 FROM authlog.reader_grants g"
" WHERE g.tenant_id OPERATOR(pg_catalog.=) $1"
" AND (g.organisation_id IS NULL OR $2 IS NULL OR g.organisation_id OPERATOR(pg_catalog.=) $2)"
" AND CASE WHEN g.role::pg_catalog.text OPERATOR(pg_catalog.=) g.role_name"
"          THEN pg_catalog.pg_has_role($3, g.role::pg_catalog.oid, 'USAGE') ELSE false END"
" UNION ALL"
" SELECT 1 FROM authlog.request_scope($3) r"
" WHERE r.tenant_id OPERATOR(pg_catalog.=) $1"
" AND (r.organisations IS NULL OR $2 IS NULL OR $2 OPERATOR(pg_catalog.=) ANY (r.organisations))"
" AND r.roles OPERATOR(pg_catalog.&&) '{reader,helpdesk,compliance}'::pg_catalog.text[]"
" LIMIT 1";

static SPIPlanPtr insert_event_plan;
static SPIPlanPtr insert_registering_event_plan;	/* 1.1: an account's first event */
static Oid	insert_event_auth_path_type;
static bool insert_event_identified;
static SPIPlanPtr lock_account_plan;
static SPIPlanPtr create_account_plan;
static SPIPlanPtr delete_account_plan;
static SPIPlanPtr update_account_plan;
static SPIPlanPtr count_retry_plan;
static SPIPlanPtr move_account_plan;
static SPIPlanPtr registered_organisation_plan;
static SPIPlanPtr reader_covers_plan;
static SPIPlanPtr reader_covers_1_1_plan;
static SPIPlanPtr read_fingerprint_plan;

/* A recorded event found again by its (tenant_id, log_id) */
typedef struct RecordedEvent
{
	char	   *user_id;
	char	   *event_type;
	char	   *reason;
	bool		has_decision;
	LoginDecision decision;
	int			failed_login_attempts;
	bool		has_locked_until;
	TimestampTz locked_until;
} RecordedEvent;


/* ---------- saved plans ---------- */

static Oid
authlog_type_oid(const char *name)
{
	TypeName   *type_name = makeTypeNameFromNameList(list_make2(makeString("authlog"),
															   makeString(pstrdup(name))));

	return typenameTypeId(NULL, type_name);
}

SPIPlanPtr
prepare_saved(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return prepare_saved_options(plan, sql, nargs, argtypes, 0);
}

/*
 * As prepare_saved, with cursor options: CURSOR_OPT_CUSTOM_PLAN for a
 * statement whose best plan depends on its values, which a generic plan
 * (the plan cache's choice after five executions) does not see.
 */
SPIPlanPtr
prepare_saved_options(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, int options)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare_cursor(sql, nargs, argtypes, options);

		if (prepared == NULL)
			elog(ERROR, "authlog: SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(prepared) != 0)
			elog(ERROR, "authlog: SPI_keepplan failed");
		*plan = prepared;
	}
	return *plan;
}

void
execute_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
			 bool read_only, int expected)
{
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, 0);

	if (rc != expected)
		elog(ERROR, "authlog: SPI_execute_plan returned %s, expected %s",
			 SPI_result_code_string(rc), SPI_result_code_string(expected));
}

/*
 * Run a plan while *allowed is set: the one statement the append-only
 * trigger lets through (the retry bookkeeping's update, a retention
 * removal), and no other, even when the statement fails.
 */
void
execute_plan_allowed(bool *allowed, SPIPlanPtr plan, Datum *values, const char *nulls, int expected)
{
	*allowed = true;
	PG_TRY();
	{
		execute_plan(plan, values, nulls, false, expected);
	}
	PG_FINALLY();
	{
		*allowed = false;
	}
	PG_END_TRY();
}

/*
 * Prepare the write path's plans once per backend.  auth_path_type is the
 * OID of authlog.auth_path, which the caller knows from its own arguments
 * where it can (no catalog lookup on the login path).
 */
static void
prepare_write_plans(Oid auth_path_type)
{
	Oid			event_types[EVENT_NPARAMS] = {
		TEXTOID, UUIDOID, TEXTOID, TEXTOID, TEXTOID, INETOID, TEXTOID,
		InvalidOid, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID, TEXTOID,
		TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, BYTEAOID
	};
	Oid			lock_types[2] = {TEXTOID, TEXTOID};
	Oid			account_types[ACCOUNT_NPARAMS] = {
		TEXTOID, TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INT4OID, TIMESTAMPTZOID, BOOLOID, INETOID
	};
	Oid			retry_types[2] = {TEXTOID, UUIDOID};
	bool		identified = OidIsValid(get_relname_relid("event_ids",
															 get_namespace_oid(AUTHLOG_SCHEMA, false)));

	/*
	 * The enum's OID is a parameter type of the saved plan; after DROP and
	 * CREATE EXTENSION in this backend it changes, and so must the plan; and
	 * after ALTER EXTENSION UPDATE events get their ids in event_ids.
	 */
	event_types[EV_AUTH_PATH] = auth_path_type;
	if (insert_event_plan != NULL &&
		(event_types[EV_AUTH_PATH] != insert_event_auth_path_type ||
		 identified != insert_event_identified))
	{
		SPI_freeplan(insert_event_plan);
		insert_event_plan = NULL;
		if (insert_registering_event_plan != NULL)
			SPI_freeplan(insert_registering_event_plan);
		insert_registering_event_plan = NULL;
		if (count_retry_plan != NULL)
			SPI_freeplan(count_retry_plan);
		count_retry_plan = NULL;
	}
	insert_event_auth_path_type = event_types[EV_AUTH_PATH];
	insert_event_identified = identified;
	prepare_saved(&insert_event_plan, identified ? insert_identified_event_sql : insert_event_sql,
				  identified ? EVENT_NPARAMS : EVENT_NCOLS, event_types);
	if (identified)
		prepare_saved(&insert_registering_event_plan, insert_registering_event_sql,
					  EVENT_NPARAMS, event_types);
	prepare_saved(&lock_account_plan, lock_account_sql, 2, lock_types);
	prepare_saved(&create_account_plan, create_account_sql, ACCOUNT_NPARAMS, account_types);
	prepare_saved(&update_account_plan, update_account_sql, ACCOUNT_NPARAMS, account_types);
	prepare_saved(&count_retry_plan, identified ? count_retry_1_1_sql : count_retry_sql,
				  2, retry_types);
}


/* ---------- input validation ---------- */

/*
 * A tenant, organisation, user or actor id: not NULL, not empty, at most
 * AUTHLOG_MAX_ID_LENGTH characters.  Ids are keys, so they are never
 * truncated: an over-long one is an error.
 */
static text *
validated_id(FunctionCallInfo fcinfo, int argno, const char *name)
{
	text	   *id;
	int			nbytes;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("Every event is recorded against a tenant, an organisation and a user.")));
	id = PG_GETARG_TEXT_PP(argno);
	nbytes = VARSIZE_ANY_EXHDR(id);
	if (nbytes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name),
				 errhint("Pass the identifier the auth service uses for it.")));
	if (nbytes > AUTHLOG_MAX_ID_LENGTH &&
		pg_mbstrlen_with_len(VARDATA_ANY(id), nbytes) > AUTHLOG_MAX_ID_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", name),
				 errdetail("The value has %d characters; ids have at most %d.",
						   pg_mbstrlen_with_len(VARDATA_ANY(id), nbytes),
						   AUTHLOG_MAX_ID_LENGTH),
				 errhint("Ids are keys and are never truncated; shorten or hash it before recording.")));
	return id;
}

/* Deepest nesting of containers in a jsonb value; the root object is 1. */
static int
jsonb_depth(Jsonb *jb, int limit)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken token;
	int			depth = 0;
	int			deepest = 0;

	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (token == WJB_BEGIN_OBJECT || token == WJB_BEGIN_ARRAY)
		{
			depth++;
			if (depth > deepest)
				deepest = depth;
			if (deepest > limit)
				break;			/* no need to walk the rest */
		}
		else if (token == WJB_END_OBJECT || token == WJB_END_ARRAY)
			depth--;
	}
	return deepest;
}

static Jsonb *
validated_metadata(FunctionCallInfo fcinfo, int argno)
{
	Jsonb	   *metadata;
	int			depth;
	JsonbValue	key;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("metadata must not be null"),
				 errhint("Pass an empty object, '{}', when there is nothing to add.")));
	metadata = PG_GETARG_JSONB_P(argno);
	if (JB_ROOT_IS_SCALAR(metadata) || !JB_ROOT_IS_OBJECT(metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object"),
				 errhint("Wrap the value in an object, e.g. '{\"value\": ...}'.")));

	depth = jsonb_depth(metadata, authlog_max_metadata_depth);
	if (depth > authlog_max_metadata_depth)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata nests deeper than authlog.max_metadata_depth"),
				 errdetail("The limit is %d levels, the object itself being level 1.",
						   authlog_max_metadata_depth),
				 errhint("Flatten the metadata, or have a superuser raise authlog.max_metadata_depth.")));

	key.type = jbvString;
	key.val.string.val = "authlog";
	key.val.string.len = strlen("authlog");
	if (findJsonbValueFromContainer(&metadata->root, JB_FOBJECT, &key) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata key \"authlog\" is reserved"),
				 errdetail("The extension records its own notes under that key."),
				 errhint("Rename the key.")));
	return metadata;
}

static void
reject_null(FunctionCallInfo fcinfo, int argno, const char *name, const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("%s", hint)));
}


/* ---------- building rows ---------- */

static void
append_json_timestamp(StringInfo buf, TimestampTz ts)
{
	char		encoded[MAXDATELEN + 1];
	const int	utc = 0;

	appendStringInfo(buf, "\"%s\"",
					 JsonEncodeDateTime(encoded, TimestampTzGetDatum(ts),
										TIMESTAMPTZOID, &utc));
}

static Datum
jsonb_from_text(StringInfo buf)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));
}

static void
event_row_init(EventRow *row, text *tenant, const pg_uuid_t *log_id,
			   text *organisation, text *user, const char *event_type,
			   TimestampTz now)
{
	memset(row->nulls, 'n', EVENT_NPARAMS);
	row->event_type = event_type;
	row->values[EV_TENANT] = PointerGetDatum(tenant);
	row->values[EV_LOG_ID] = UUIDPGetDatum(log_id);
	row->values[EV_ORGANISATION] = PointerGetDatum(organisation);
	row->values[EV_USER] = PointerGetDatum(user);
	row->values[EV_EVENT_TYPE] = CStringGetTextDatum(event_type);
	row->values[EV_OCCURRED_AT] = TimestampTzGetDatum(now);
	row->values[EV_RECORDED_AT] = TimestampTzGetDatum(now);
	row->values[EV_FAILED_ATTEMPTS] = Int32GetDatum(0);
	row->register_account = false;
	row->nulls[EV_TENANT] = row->nulls[EV_LOG_ID] = row->nulls[EV_ORGANISATION] = ' ';
	row->nulls[EV_USER] = row->nulls[EV_EVENT_TYPE] = ' ';
	row->nulls[EV_OCCURRED_AT] = row->nulls[EV_RECORDED_AT] = ' ';
	row->nulls[EV_FAILED_ATTEMPTS] = ' ';
}

static void
event_row_set(EventRow *row, int column, Datum value)
{
	row->values[column] = value;
	row->nulls[column] = ' ';
}

static void
event_row_set_state(EventRow *row, const LockoutState *state)
{
	event_row_set(row, EV_FAILED_ATTEMPTS, Int32GetDatum(state->failed_login_attempts));
	if (state->is_locked)
		event_row_set(row, EV_LOCKED_UNTIL, TimestampTzGetDatum(state->locked_until));
}

/* Insert one event; false when its (tenant_id, log_id) is already taken. */
static bool
insert_event(EventRow *row)
{
	if (row->register_account)
	{
		if (insert_registering_event_plan == NULL)
			elog(ERROR, "authlog: an account's first event needs authlog 1.1's tables");
		execute_plan(insert_registering_event_plan, row->values, row->nulls, false, SPI_OK_SELECT);
	}
	else
		execute_plan(insert_event_plan, row->values, row->nulls, false, SPI_OK_INSERT);
	if (SPI_processed != 1)
		return false;
	stats_note_event(DatumGetTextPP(row->values[EV_TENANT]),
					 DatumGetTextPP(row->values[EV_ORGANISATION]), row->event_type);
	return true;
}

/* Insert an event implied by another; its id is authlog's own random one, so it is new. */
static void
insert_derived_event(EventRow *row)
{
	if (!insert_event(row))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("derived event id %s is already recorded",
						DatumGetCString(DirectFunctionCall1(uuid_out, row->values[EV_LOG_ID]))),
				 errhint("This should not happen: report it.")));
}

/*
 * A lockout_reset records what it cleared, so resetting a lockout never
 * deletes the evidence of it.
 */
/* 1.1: the user id as the call spelled it, when the tenant's rule keyed it otherwise */
static void
append_user_id_as_sent(StringInfo buf, const text *as_sent)
{
	if (as_sent == NULL)
		return;
	appendStringInfoString(buf, ", \"user_id_as_sent\": ");
	escape_json(buf, text_to_cstring(as_sent));
}

static Datum
reset_metadata(const pg_uuid_t *trigger, int cleared_attempts,
			   bool has_cleared_until, TimestampTz cleared_until,
			   const char *note, const text *as_sent)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"authlog\": {\"cleared_failed_login_attempts\": %d, \"cleared_locked_until\": ",
					 cleared_attempts);
	if (has_cleared_until)
		append_json_timestamp(&buf, cleared_until);
	else
		appendStringInfoString(&buf, "null");
	if (trigger != NULL)
		appendStringInfo(&buf, ", \"trigger_log_id\": \"%s\"",
						 DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(trigger))));
	if (note != NULL)
	{
		appendStringInfoString(&buf, ", \"note\": ");
		escape_json(&buf, note);
	}
	append_user_id_as_sent(&buf, as_sent);
	appendStringInfoString(&buf, "}}");
	return jsonb_from_text(&buf);
}


/* ---------- reading state ---------- */

/* An account's lockout state from its columns, however they were read */
static void
state_from_columns(Datum failed_attempts, Datum first_failed_at, bool no_first_failed,
				   Datum locked_until, bool not_locked, Datum lockout_count, LockoutState *state)
{
	state->failed_login_attempts = DatumGetInt32(failed_attempts);
	state->has_first_failed = !no_first_failed;
	state->first_failed_at = no_first_failed ? 0 : DatumGetTimestampTz(first_failed_at);
	state->is_locked = !not_locked;
	state->locked_until = not_locked ? 0 : DatumGetTimestampTz(locked_until);
	state->lockout_count = DatumGetInt32(lockout_count);
}

/* The account_lockouts columns every state query returns first, in this order. */
static void
read_state_columns(HeapTuple tuple, TupleDesc desc, LockoutState *state)
{
	Datum		values[4];
	bool		nulls[4];

	for (int i = 0; i < 4; i++)
		values[i] = SPI_getbinval(tuple, desc, i + 1, &nulls[i]);
	state_from_columns(values[0], values[1], nulls[1], values[2], nulls[2], values[3], state);
}

/*
 * Lock the account's row and read its state and organisation, through the
 * table AM (account_row.c) or, for a table it leaves to the statements,
 * lock_account_sql; *row: what update_account needs of the lock.  Returns
 * false, with a clean state, when the account has no row.
 */
static bool
lock_account(text *tenant, text *user, LockoutState *state, text **organisation,
			 TimestampTz *updated_at, AccountRow *row)
{
	Datum		values[2] = {PointerGetDatum(tenant), PointerGetDatum(user)};
	bool		isnull;

	switch (account_row_lock(tenant, user, row))
	{
		case ACCOUNT_ROW_ABSENT:
			memset(state, 0, sizeof(LockoutState));
			*organisation = NULL;
			*updated_at = DT_NOBEGIN;
			return false;
		case ACCOUNT_ROW_FOUND:
			state_from_columns(row->values[ACCOUNT_FAILED_ATTEMPTS],
							   row->values[ACCOUNT_FIRST_FAILED_AT], row->nulls[ACCOUNT_FIRST_FAILED_AT],
							   row->values[ACCOUNT_LOCKED_UNTIL], row->nulls[ACCOUNT_LOCKED_UNTIL],
							   row->values[ACCOUNT_LOCKOUT_COUNT], state);
			*organisation = DatumGetTextPP(row->values[ACCOUNT_ORGANISATION]);
			*updated_at = DatumGetTimestampTz(row->values[ACCOUNT_UPDATED_AT]);
			return true;
		case ACCOUNT_ROW_USE_SQL:
			row->locked_here = false;
			break;
	}
	execute_plan(lock_account_plan, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 0)
	{
		memset(state, 0, sizeof(LockoutState));
		*organisation = NULL;
		*updated_at = DT_NOBEGIN;
		return false;
	}
	read_state_columns(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, state);
	*organisation = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	*updated_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
	return true;
}

/*
 * The lockout clock: the call's own time, read once it holds the account's
 * row lock, and never before the account's last update, so that an
 * account's events stay in order even if the system clock steps back.  Not
 * the transaction's start: a transaction older than a lock's duration
 * would set a lock that is already over, or judge an expired one in force.
 */
static TimestampTz
call_time(TimestampTz account_updated_at)
{
	TimestampTz now = GetCurrentTimestamp();

	return Max(now, account_updated_at);
}

static bool
same_text(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/*
 * The organisation of an account without a row (it never failed since its
 * last reset, or only ever logged in), as its first event registered it;
 * NULL for an account never seen.  Two first calls of one account must not
 * both find nothing and record it under two organisations, so the check
 * holds a transaction-level advisory lock on the account (class
 * AUTHLOG_ACCOUNT_LOCK and a hash of tenant and user), and reads with a
 * fresh snapshot, which sees the other call once it committed.  1.1's
 * record_login takes the lock before it looks for the account's row, and
 * every call that creates a row holds it: a row not there then is created
 * by no one else before this transaction ends.
 */
#define AUTHLOG_ACCOUNT_LOCK 0x41554c47	/* "AULG" */

/* Take the account's advisory lock (above); held to the end of the transaction */
static void
lock_account_registration(text *tenant, text *user)
{
	uint32		hash;

	hash = hash_bytes((const unsigned char *) VARDATA_ANY(tenant), VARSIZE_ANY_EXHDR(tenant));
	hash = hash_combine(hash, hash_bytes((const unsigned char *) VARDATA_ANY(user),
										 VARSIZE_ANY_EXHDR(user)));
	(void) DirectFunctionCall2(pg_advisory_xact_lock_int4,
							   Int32GetDatum(AUTHLOG_ACCOUNT_LOCK), Int32GetDatum((int32) hash));
}

static text *
registered_organisation(text *tenant, text *user)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {PointerGetDatum(tenant), PointerGetDatum(user)};
	bool		isnull;
	text	   *organisation;

	switch (account_row_registered_organisation(tenant, user, &organisation))
	{
		case ACCOUNT_ROW_FOUND:
			return organisation;
		case ACCOUNT_ROW_ABSENT:
			return NULL;
		case ACCOUNT_ROW_USE_SQL:
			break;
	}
	prepare_saved(&registered_organisation_plan, registered_organisation_sql, 2, types);
	execute_plan(registered_organisation_plan, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	return DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * 1.1: the account's advisory lock, then lock_account; for an account
 * without a row, *organisation is the one its first event registered
 * (NULL: an account never seen).  Every 1.1 function that reads or writes
 * an account takes its locks in this order.
 */
static bool
lock_account_1_1(text *tenant, text *user, LockoutState *state, text **organisation,
				 TimestampTz *updated_at, AccountRow *row)
{
	lock_account_registration(tenant, user);
	if (lock_account(tenant, user, state, organisation, updated_at, row))
		return true;
	*organisation = registered_organisation(tenant, user);
	return false;
}

/*
 * 1.1: an account belongs to the organisation it was first recorded in.  A
 * call naming another would hide the account, and what happens to it, from
 * its organisation's readers; it is refused before it writes anything.
 */
static void
require_account_organisation(text *tenant, text *user, text *organisation,
							 text *account_organisation)
{
	if (same_text(organisation, account_organisation))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_AUTHLOG_ORGANISATION_MISMATCH),
			 errmsg("user \"%s\" of tenant \"%s\" belongs to organisation \"%s\", not \"%s\"",
					text_to_cstring(user), text_to_cstring(tenant),
					text_to_cstring(account_organisation), text_to_cstring(organisation)),
			 errdetail("An account belongs to the organisation it was first recorded in."),
			 errhint("Deny the attempt and record it under the account's organisation; authlog.move_account() moves an account.")));
}

/*
 * The parameters create_account_sql and update_account_sql share: the
 * account, its state, the time and, for a failure, the IP it came from.
 */
static void
pack_account_params(Datum *values, char *nulls, text *tenant, text *organisation,
					text *user, TimestampTz now, const LockoutState *state,
					bool failed, Datum ip, bool ip_null)
{
	memset(nulls, ' ', ACCOUNT_NPARAMS);
	values[0] = PointerGetDatum(tenant);
	values[1] = PointerGetDatum(user);
	values[2] = PointerGetDatum(organisation);
	values[3] = Int32GetDatum(state->failed_login_attempts);
	values[4] = TimestampTzGetDatum(state->first_failed_at);
	if (!state->has_first_failed)
		nulls[4] = 'n';
	values[5] = TimestampTzGetDatum(state->locked_until);
	if (!state->is_locked)
		nulls[5] = 'n';
	values[6] = Int32GetDatum(state->lockout_count);
	values[7] = TimestampTzGetDatum(now);
	values[8] = BoolGetDatum(failed);
	values[9] = ip;
	if (ip_null)
		nulls[9] = 'n';
}

/*
 * Create the row of an account seen for the first time, with its state
 * after its first failure.  Returns false when another session created it
 * first: the insert waited for that session, and the caller must lock the
 * row and judge again on what it holds, so that both failures count.
 */
static bool
create_account(text *tenant, text *organisation, text *user, TimestampTz now,
			   const LockoutState *state, bool failed, Datum ip, bool ip_null,
			   bool registration_locked)
{
	Datum		values[ACCOUNT_NPARAMS];
	char		nulls[ACCOUNT_NPARAMS];

	/* under the account's advisory lock, taken before the row was looked for */
	if (registration_locked &&
		account_row_create(tenant, user, organisation, state, now, failed, ip, ip_null))
		return true;

	pack_account_params(values, nulls, tenant, organisation, user, now, state,
						failed, ip, ip_null);
	execute_plan(create_account_plan, values, nulls, false, SPI_OK_INSERT);
	return SPI_processed == 1;
}

/* Take back a row create_account made, when the call turned out to be a retry. */
static void
delete_created_account(text *tenant, text *user)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {PointerGetDatum(tenant), PointerGetDatum(user)};

	prepare_saved(&delete_account_plan, delete_account_sql, 2, types);
	execute_plan(delete_account_plan, values, NULL, false, SPI_OK_DELETE);
}

/* The row lock_account locked (row), with the state after the call */
static void
update_account(const AccountRow *row, text *tenant, text *organisation, text *user,
			   TimestampTz now, const LockoutState *state, bool failed, Datum ip, bool ip_null)
{
	Datum		values[ACCOUNT_NPARAMS];
	char		nulls[ACCOUNT_NPARAMS];

	if (row->locked_here &&
		account_row_update(row, organisation, state, now, failed, ip, ip_null))
		return;
	pack_account_params(values, nulls, tenant, organisation, user, now, state,
						failed, ip, ip_null);
	execute_plan(update_account_plan, values, nulls, false, SPI_OK_UPDATE);
}

static LoginDecision
decision_from_name(const char *name)
{
	if (strcmp(name, "allowed") == 0)
		return LOGIN_ALLOWED;
	if (strcmp(name, "locked") == 0)
		return LOGIN_LOCKED;
	return LOGIN_FAILED;
}

/*
 * A call repeated with a (tenant_id, log_id) already recorded: count the
 * retry and read back what was recorded.  The update runs with the
 * append-only trigger's permission, and only here.
 */
static void
count_retry(text *tenant, const pg_uuid_t *log_id, RecordedEvent *recorded)
{
	Datum		values[2] = {PointerGetDatum(tenant), UUIDPGetDatum(log_id)};
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		value;

	execute_plan_allowed(&authlog_log_rewrite_allowed, count_retry_plan, values, NULL,
						 SPI_OK_UPDATE_RETURNING);

	if (SPI_processed != 1)
		elog(ERROR, "authlog: recorded event not found for retry");
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	recorded->user_id = SPI_getvalue(tuple, desc, 1);
	recorded->event_type = SPI_getvalue(tuple, desc, 2);
	recorded->reason = SPI_getvalue(tuple, desc, 3);
	value = SPI_getbinval(tuple, desc, 4, &isnull);
	recorded->has_decision = !isnull;
	if (!isnull)
		recorded->decision = decision_from_name(TextDatumGetCString(value));
	recorded->failed_login_attempts = DatumGetInt32(SPI_getbinval(tuple, desc, 5, &isnull));
	value = SPI_getbinval(tuple, desc, 6, &isnull);
	recorded->has_locked_until = !isnull;
	recorded->locked_until = isnull ? 0 : DatumGetTimestampTz(value);
}

static void
reject_reused_log_id(const pg_uuid_t *log_id, const char *recorded_kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("log_id %s already records a different event",
					DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(log_id)))),
			 errdetail("The recorded event is %s.", recorded_kind),
			 errhint("A log_id identifies one event; repeat it only to retry that same call.")));
}


/* ---------- request fingerprints (1.1) ---------- */

static void
prepare_fingerprint_plans(void)
{
	Oid			types[2] = {TEXTOID, UUIDOID};

	prepare_saved(&read_fingerprint_plan, read_fingerprint_sql, 2, types);
}

/* The call's fingerprint, kept with the event's id (event_ids) */
static void
event_row_set_fingerprint(EventRow *row, const uint8 *fingerprint)
{
	event_row_set(row, EV_FINGERPRINT, bytes_to_bytea_datum(fingerprint, REQUEST_FINGERPRINT_LEN));
}

/*
 * A log_id already recorded came again: it is a retry only if every
 * argument is the one it was recorded with.  Anything else is refused, and
 * its error undoes the call's writes, so a replayed id can neither turn a recorded
 * success into an answer for another attempt nor make many guesses count
 * as one.
 */
static void
require_same_call(text *tenant, const pg_uuid_t *log_id, const uint8 *fingerprint)
{
	Datum		values[2] = {PointerGetDatum(tenant), UUIDPGetDatum(log_id)};
	const char *why;
	Datum		kept = (Datum) 0;
	bool		isnull = true;

	/* not read-only: a fresh snapshot, which sees an original committed meanwhile */
	execute_plan(read_fingerprint_plan, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed == 1)
		kept = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		/* NULL: an event authlog derived, or one recorded before 1.1 */
		bytea	   *recorded = DatumGetByteaPP(kept);

		if (VARSIZE_ANY_EXHDR(recorded) == REQUEST_FINGERPRINT_LEN &&
			memcmp(VARDATA_ANY(recorded), fingerprint, REQUEST_FINGERPRINT_LEN) == 0)
			return;
		why = "this call differs from it in at least one argument";
	}
	else
		why = "the id belongs to an event authlog derived, or to one recorded before authlog 1.1, whose arguments were not kept";
	ereport(ERROR,
			(errcode(ERRCODE_AUTHLOG_RETRY_MISMATCH),
			 errmsg("log_id %s was recorded for a different call",
					DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(log_id)))),
			 errdetail("A retry repeats every argument of the call it retries; %s.", why),
			 errhint("Deny the attempt and alert: send a new log_id for every new attempt, and repeat one only to retry the same call.")));
}


/* ---------- account keys (1.1) ---------- */

static Oid	icu_root_collation = InvalidOid;

/*
 * The account a user id names under the tenant's rule: as sent (exact), or
 * with surrounding white space trimmed and lower-cased by Unicode's rules
 * (casefold; the ICU root collation, since the C collation folds ASCII
 * only), after NFKC normalisation for nfkc_casefold (full-width letters,
 * ligatures).  Accents are kept: é is not e.
 */
static text *
account_key_of(text *tenant, text *user)
{
	UserIdMatch rule = tenant_user_id_match(tenant);
	Datum		key = PointerGetDatum(user);
	text	   *result;
	int			nbytes;

	if (rule == USER_ID_MATCH_EXACT)
		return user;
	if (rule == USER_ID_MATCH_NFKC_CASEFOLD)
		key = DirectFunctionCall2(unicode_normalize_func, key, CStringGetTextDatum("NFKC"));
	key = DirectFunctionCall2(btrim, key, CStringGetTextDatum(" \t\n\r\v\f"));
	if (!OidIsValid(icu_root_collation))
	{
		icu_root_collation = get_collation_oid(list_make2(makeString("pg_catalog"),
														  makeString("und-x-icu")), true);
		if (!OidIsValid(icu_root_collation))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the tenant's user id matching rule needs the ICU collation \"und-x-icu\""),
					 errhint("Use a PostgreSQL built with ICU, or set the tenant's rule to exact.")));
	}
	key = DirectFunctionCall1Coll(lower, icu_root_collation, key);
	result = DatumGetTextPP(key);
	nbytes = VARSIZE_ANY_EXHDR(result);
	if (nbytes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_id is empty under the tenant's user id matching rule"),
				 errhint("Pass the identifier the auth service uses for the user.")));
	if (pg_mbstrlen_with_len(VARDATA_ANY(result), nbytes) > AUTHLOG_MAX_ID_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("user_id is too long under the tenant's user id matching rule"),
				 errdetail("Normalised, it has more than %d characters.", AUTHLOG_MAX_ID_LENGTH)));
	return result;
}

/* Key a call's user id; *as_sent is the spelling when it differs from the key. */
static text *
keyed_user(text *tenant, text *user, text **as_sent)
{
	text	   *key = account_key_of(tenant, user);

	*as_sent = same_text(key, user) ? NULL : user;
	return key;
}

PG_FUNCTION_INFO_V1(authlog_account_key);

/* authlog.account_key(tenant_id, user_id): the account a user id names */
Datum
authlog_account_key(PG_FUNCTION_ARGS)
{
	text	   *key;
	text	   *copy;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	key = account_key_of(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	copy = SPI_palloc(VARSIZE_ANY(key));
	memcpy(copy, key, VARSIZE_ANY(key));
	SPI_finish();
	PG_RETURN_TEXT_P(copy);
}


/*
 * The user agent as stored: at most authlog.max_user_agent_length
 * characters; *original_length is the length of a truncated one, else -1.
 * The start and the size are kept: an attack's record is never lost to it.
 */
static text *
stored_user_agent(text *user_agent, int *original_length)
{
	int			nbytes = VARSIZE_ANY_EXHDR(user_agent);
	int			nchars;

	*original_length = -1;
	if (nbytes <= authlog_max_user_agent_length ||
		(nchars = pg_mbstrlen_with_len(VARDATA_ANY(user_agent), nbytes)) <= authlog_max_user_agent_length)
		return user_agent;
	*original_length = nchars;
	return cstring_to_text_with_len(VARDATA_ANY(user_agent),
									pg_mbcharcliplen(VARDATA_ANY(user_agent), nbytes,
													 authlog_max_user_agent_length));
}


/*
 * A caller's log_id already recorded: count the retry and read back what was
 * recorded, then (1.1, fingerprint given) require the same call.  The retry
 * count's UPDATE comes first: it waits for and sees a concurrent original,
 * so the fingerprint read after it sees that original's too; a mismatch
 * then undoes the count with the rest.
 */
static void
retry_of_recorded(text *tenant, const pg_uuid_t *log_id, const uint8 *fingerprint,
				  RecordedEvent *recorded)
{
	count_retry(tenant, log_id, recorded);
	if (fingerprint != NULL)
		require_same_call(tenant, log_id, fingerprint);
}


/* ---------- record_login ---------- */

typedef struct LoginResult
{
	LoginDecision decision;
	int			failed_login_attempts;
	bool		has_locked_until;
	TimestampTz locked_until;
} LoginResult;

/* One record_login call: its arguments, validated, and what it finds out */
typedef struct LoginCall
{
	bool		fingerprinted;	/* 1.1: a retry must repeat every argument */
	text	   *tenant;
	text	   *organisation;
	text	   *user;			/* the account (1.1: by the tenant's matching rule) */
	text	   *user_as_sent;	/* the spelling sent, when it is not the account's */
	bool		success;
	Datum		ip;
	bool		ip_null;
	text	   *user_agent;
	int			user_agent_length;	/* a truncated one's original, else -1 */
	Datum		auth_path;
	Jsonb	   *metadata;
	pg_uuid_t	log_id;
	bool		occurred_at_given;
	TimestampTz occurred_at;
	uint8		fingerprint[REQUEST_FINGERPRINT_LEN];

	/* the account, once its row is locked */
	bool		has_account;
	AccountRow	account_row;
	bool		created_account;
	text	   *account_organisation;
	TimestampTz account_updated_at;
	TimestampTz now;			/* the lockout clock (call_time) */
	LockoutState before;
	LockoutPolicy policy;
	LockoutOutcome outcome;
} LoginCall;

static Datum
login_decision_datum(FunctionCallInfo fcinfo, const pg_uuid_t *log_id,
					 const LoginResult *result)
{
	TupleDesc	desc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	/* the result type is looked up once per call site, not once per login */
	if (desc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "authlog: record_login must return a composite type");
		desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		fcinfo->flinfo->fn_extra = desc;
		MemoryContextSwitchTo(old);
	}
	*id = *log_id;
	values[0] = UUIDPGetDatum(id);
	values[1] = CStringGetTextDatum(lockout_decision_name(result->decision));
	values[2] = Int32GetDatum(result->failed_login_attempts);
	values[3] = TimestampTzGetDatum(result->locked_until);
	nulls[3] = !result->has_locked_until;
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/*
 * The attempt's own notes under metadata.authlog: the original length of a
 * truncated user agent, and the user id as sent when it is not the account's.
 */
static Datum
attempt_metadata(Jsonb *metadata, int user_agent_length, const text *as_sent)
{
	StringInfoData buf;

	if (user_agent_length < 0 && as_sent == NULL)
		return JsonbPGetDatum(metadata);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"authlog\": {");
	if (user_agent_length >= 0)
		appendStringInfo(&buf, "\"user_agent_length\": %d", user_agent_length);
	if (as_sent != NULL)
	{
		if (user_agent_length >= 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "\"user_id_as_sent\": ");
		escape_json(&buf, text_to_cstring(as_sent));
	}
	appendStringInfoString(&buf, "}}");
	return DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(metadata),
							   jsonb_from_text(&buf));
}

/* The caller's time of an event: evidence only, so any finite time will do. */
static TimestampTz
validated_occurred_at(FunctionCallInfo fcinfo, int argno)
{
	TimestampTz occurred_at;

	reject_null(fcinfo, argno, "occurred_at",
				"Omit the argument to use the transaction time.");
	occurred_at = PG_GETARG_TIMESTAMPTZ(argno);
	if (TIMESTAMP_NOT_FINITE(occurred_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("occurred_at must be a finite timestamp"),
				 errhint("Pass the time the event happened, or omit it to use the transaction time.")));
	return occurred_at;
}

/* The fingerprint of record_login's arguments, as sent (request_fingerprint.c). */
static void
login_fingerprint(FunctionCallInfo fcinfo, LoginCall *call)
{
	RequestFingerprint fp;

	fingerprint_begin(&fp, "record_login");
	fingerprint_add_text(&fp, call->tenant);
	fingerprint_add_text(&fp, call->organisation);
	fingerprint_add_text(&fp, call->user);
	fingerprint_add_cstring(&fp, call->success ? "true" : "false");
	fingerprint_add_cstring(&fp, call->ip_null ? NULL :
							DatumGetCString(DirectFunctionCall1(inet_out, call->ip)));
	fingerprint_add_text(&fp, PG_ARGISNULL(5) ? NULL : PG_GETARG_TEXT_PP(5));
	fingerprint_add_cstring(&fp, DatumGetCString(DirectFunctionCall1(enum_out, call->auth_path)));
	fingerprint_add_cstring(&fp, JsonbToCString(NULL, &call->metadata->root,
												VARSIZE(call->metadata)));
	fingerprint_add_timestamptz(&fp, call->occurred_at_given, call->occurred_at);
	fingerprint_end(&fp, call->fingerprint);
}

/*
 * Every argument checked before anything is read or written; the user
 * agent cut to its stored length; the log_id the caller's or a new one.
 */
static void
login_validate(FunctionCallInfo fcinfo, bool fingerprinted, LoginCall *call)
{
	memset(call, 0, sizeof(LoginCall));
	call->fingerprinted = fingerprinted;
	call->tenant = validated_id(fcinfo, 0, "tenant_id");
	call->organisation = validated_id(fcinfo, 1, "organisation_id");
	call->user = validated_id(fcinfo, 2, "user_id");
	reject_null(fcinfo, 3, "success",
				"Pass true for a correct credential and false for a wrong one.");
	call->success = PG_GETARG_BOOL(3);
	reject_null(fcinfo, 6, "auth_path",
				"Pass the path the attempt came through: web, mobile, api or sso.");
	call->auth_path = PG_GETARG_DATUM(6);
	call->metadata = validated_metadata(fcinfo, 7);
	/* not given (1.1): the call's time, once it is known */
	call->occurred_at_given = !PG_ARGISNULL(9);
	if (!fingerprinted || call->occurred_at_given)
		call->occurred_at = validated_occurred_at(fcinfo, 9);
	call->ip_null = PG_ARGISNULL(4);
	if (!call->ip_null)
		call->ip = PG_GETARG_DATUM(4);
	if (fingerprinted)
		login_fingerprint(fcinfo, call);
	call->user_agent_length = -1;
	if (!PG_ARGISNULL(5))
		call->user_agent = stored_user_agent(PG_GETARG_TEXT_PP(5), &call->user_agent_length);
	if (PG_ARGISNULL(8))
		event_id_random(&call->log_id);
	else
		call->log_id = *PG_GETARG_UUID_P(8);
}

/*
 * Lock the account's row and read the clock; 1.1: the call must name the
 * account's organisation (its row's, or for an account without one, its
 * events').  Returns whether the account has a row.
 */
static bool
login_lock_account(LoginCall *call)
{
	/*
	 * 1.1: the account's advisory lock first, so that an account found
	 * without a row has none until this transaction ends but the one it
	 * creates (create_account)
	 */
	if (call->fingerprinted)
		call->has_account = lock_account_1_1(call->tenant, call->user, &call->before,
											 &call->account_organisation,
											 &call->account_updated_at, &call->account_row);
	else
		call->has_account = lock_account(call->tenant, call->user, &call->before,
										 &call->account_organisation,
										 &call->account_updated_at, &call->account_row);
	call->now = call_time(call->account_updated_at);
	if (!call->fingerprinted)
		return call->has_account;
	if (!call->occurred_at_given)
		call->occurred_at = call->now;
	if (call->account_organisation != NULL)
		require_account_organisation(call->tenant, call->user, call->organisation,
									 call->account_organisation);
	return call->has_account;
}

/*
 * The rules' decision (lockout.c).  A success never reads the tenant's
 * policy, and on an account never seen needs no row; a first failure
 * creates the row, and if another session created it first, the call
 * locks that row and judges again, so that both failures count.
 */
static void
login_judge(LoginCall *call)
{
	if (call->success)
		lockout_policy_defaults(&call->policy);
	else
		lockout_policy_for_tenant(call->tenant, &call->policy);
	lockout_judge_attempt(&call->before, &call->policy, call->success, call->now,
						  &call->outcome);
	if (call->success || call->has_account)
		return;

	call->created_account = create_account(call->tenant, call->organisation, call->user,
										   call->now, &call->outcome.after, true,
										   call->ip, call->ip_null, call->fingerprinted);
	if (call->created_account)
		return;
	if (!login_lock_account(call))
		elog(ERROR, "authlog: account row vanished after a concurrent insert");
	lockout_judge_attempt(&call->before, &call->policy, call->success, call->now,
						  &call->outcome);
}

/* The attempt's own row; false when its log_id is recorded already (a retry). */
static bool
insert_attempt(LoginCall *call)
{
	const LockoutOutcome *outcome = &call->outcome;
	EventRow	row;

	event_row_init(&row, call->tenant, &call->log_id, call->organisation, call->user,
				   outcome->decision == LOGIN_ALLOWED ? "login_success" : "login_failed",
				   call->now);
	event_row_set(&row, EV_OCCURRED_AT, TimestampTzGetDatum(call->occurred_at));
	if (!call->ip_null)
		event_row_set(&row, EV_IP, call->ip);
	if (call->user_agent != NULL)
		event_row_set(&row, EV_USER_AGENT, PointerGetDatum(call->user_agent));
	event_row_set(&row, EV_AUTH_PATH, call->auth_path);
	event_row_set(&row, EV_METADATA, attempt_metadata(call->metadata, call->user_agent_length,
													  call->user_as_sent));
	if (outcome->refused_by_lock)
		event_row_set(&row, EV_REASON, CStringGetTextDatum("account_locked"));
	event_row_set(&row, EV_DECISION, CStringGetTextDatum(lockout_decision_name(outcome->decision)));
	event_row_set_state(&row, &outcome->after);
	if (call->fingerprinted)
		event_row_set_fingerprint(&row, call->fingerprint);
	/* an account's first event: where it belongs from now on */
	row.register_account = call->fingerprinted && !call->has_account &&
		call->account_organisation == NULL;
	return insert_event(&row);
}

/*
 * A retry: the decision recorded with the original, the retry counted, and
 * nothing else changed.  A row this call created for the account goes
 * again (the original's had been deleted since): a retry changes no counter.
 */
static void
login_retry(LoginCall *call, LoginResult *result)
{
	RecordedEvent recorded;
	char	   *user_name = text_to_cstring(call->user);

	retry_of_recorded(call->tenant, &call->log_id,
					  call->fingerprinted ? call->fingerprint : NULL, &recorded);
	if (!recorded.has_decision || strcmp(recorded.user_id, user_name) != 0)
		reject_reused_log_id(&call->log_id, psprintf("a %s event of user \"%s\"",
													 recorded.event_type, recorded.user_id));
	if (call->created_account)
		delete_created_account(call->tenant, call->user);
	result->decision = recorded.decision;
	result->failed_login_attempts = recorded.failed_login_attempts;
	result->has_locked_until = recorded.has_locked_until;
	result->locked_until = recorded.locked_until;
}

/*
 * A lockout_reset the attempt implies (its lock expired, or its success
 * cleared failures), recording what it cleared and the attempt behind it.
 */
static void
insert_implied_reset(const LoginCall *call, const char *reason, int cleared_attempts,
					 bool has_cleared_until, TimestampTz cleared_until)
{
	EventRow	row;
	pg_uuid_t	reset_id;

	event_id_random(&reset_id);
	event_row_init(&row, call->tenant, &reset_id, call->organisation, call->user,
				   "lockout_reset", call->now);
	event_row_set(&row, EV_OCCURRED_AT, TimestampTzGetDatum(call->occurred_at));
	event_row_set(&row, EV_REASON, CStringGetTextDatum(reason));
	event_row_set(&row, EV_METADATA,
				  reset_metadata(&call->log_id, cleared_attempts, has_cleared_until,
								 cleared_until, NULL, call->user_as_sent));
	insert_derived_event(&row);
}

/* The account_locked event of the failure that reached the threshold */
static void
insert_account_locked(const LoginCall *call)
{
	const LockoutOutcome *outcome = &call->outcome;
	EventRow	row;
	pg_uuid_t	locked_id;
	StringInfoData notes;

	event_id_random(&locked_id);
	event_row_init(&row, call->tenant, &locked_id, call->organisation, call->user,
				   "account_locked", call->now);
	event_row_set(&row, EV_OCCURRED_AT, TimestampTzGetDatum(call->occurred_at));
	if (!call->ip_null)
		event_row_set(&row, EV_IP, call->ip);
	event_row_set(&row, EV_AUTH_PATH, call->auth_path);
	event_row_set_state(&row, &outcome->after);
	initStringInfo(&notes);
	appendStringInfo(&notes,
					 "{\"authlog\": {\"trigger_log_id\": \"%s\", \"lockout_count\": %d, \"lockout_seconds\": " INT64_FORMAT,
					 DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&call->log_id))),
					 outcome->after.lockout_count,
					 outcome->lock_duration / USECS_PER_SEC);
	append_user_id_as_sent(&notes, call->user_as_sent);
	appendStringInfoString(&notes, "}}");
	event_row_set(&row, EV_METADATA, jsonb_from_text(&notes));
	insert_derived_event(&row);
}

/* The events the attempt implies, each with an id of its own */
static void
insert_derived_events(const LoginCall *call)
{
	const LockoutOutcome *outcome = &call->outcome;

	if (outcome->expired_reset)
		insert_implied_reset(call, "expired", outcome->expired_cleared_attempts,
							 true, outcome->expired_cleared_until);
	if (outcome->success_reset)
		insert_implied_reset(call, "login_success", outcome->success_cleared_attempts,
							 false, 0);
	if (outcome->locked_now)
		insert_account_locked(call);
}

/*
 * What authlog.stat_outcomes counts of a call that wrote its attempt: the
 * decision, a refusal by a lock in force, and a success that follows
 * failures (at least authlog.success_after_failures_min since the last
 * success, or a lock that had expired) -- the likely compromise.
 */
static void
login_count_outcomes(const LoginCall *call)
{
	const LockoutOutcome *outcome = &call->outcome;
	static const StatOutcome by_decision[] = {
		[LOGIN_ALLOWED] = STAT_OUTCOME_ALLOWED,
		[LOGIN_FAILED] = STAT_OUTCOME_FAILED,
		[LOGIN_LOCKED] = STAT_OUTCOME_LOCKED,
	};
	StatOutcome outcomes[3];
	int			n = 0;

	outcomes[n++] = by_decision[outcome->decision];
	if (outcome->refused_by_lock)
		outcomes[n++] = STAT_OUTCOME_REFUSED_WHILE_LOCKED;
	if (outcome->decision == LOGIN_ALLOWED &&
		((outcome->success_reset &&
		  outcome->success_cleared_attempts >= authlog_success_after_failures_min) ||
		 (outcome->expired_reset && outcome->expired_cleared_attempts > 0)))
		outcomes[n++] = STAT_OUTCOME_SUCCESS_AFTER_FAILURES;
	stats_note_outcomes(call->tenant, call->organisation, outcomes, n);
}

/*
 * The write path of both versions: 1.1 (fingerprinted) matches retries on
 * every argument and takes a NULL occurred_at as "not given"; 1.0's SQL
 * definitions, until ALTER EXTENSION authlog UPDATE, keep 1.0's rules.
 */
static Datum
record_login(FunctionCallInfo fcinfo, bool fingerprinted)
{
	LoginCall	call;
	LoginResult result;

	login_validate(fcinfo, fingerprinted, &call);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	prepare_write_plans(get_fn_expr_argtype(fcinfo->flinfo, 6));
	if (fingerprinted)
	{
		prepare_fingerprint_plans();
		/* the account the tenant's rule names; the call's spelling stays on its events */
		call.user = keyed_user(call.tenant, call.user, &call.user_as_sent);
	}

	/*
	 * Lock the account before anything else: a failure must see every
	 * earlier failure, and a retry must see its committed original.
	 */
	login_lock_account(&call);
	login_judge(&call);

	/* The attempt itself, inserted first, so that a retry changes nothing. */
	if (!insert_attempt(&call))
		login_retry(&call, &result);
	else
	{
		insert_derived_events(&call);
		login_count_outcomes(&call);
		if (call.outcome.state_changed && !call.created_account)
			update_account(&call.account_row, call.tenant, call.organisation, call.user, call.now,
						   &call.outcome.after, !call.success, call.ip, call.ip_null);
		mirror_note_write();
		result.decision = call.outcome.decision;
		result.failed_login_attempts = call.outcome.after.failed_login_attempts;
		result.has_locked_until = call.outcome.after.is_locked;
		result.locked_until = call.outcome.after.locked_until;
	}
	SPI_finish();
	PG_RETURN_DATUM(login_decision_datum(fcinfo, &call.log_id, &result));
}


Datum
authlog_record_login(PG_FUNCTION_ARGS)
{
	return record_login(fcinfo, false);
}

Datum
authlog_record_login_1_1(PG_FUNCTION_ARGS)
{
	return record_login(fcinfo, true);
}


/* ---------- reset_lockout ---------- */

static Datum
reset_lockout(FunctionCallInfo fcinfo, bool fingerprinted)
{
	text	   *tenant = validated_id(fcinfo, 0, "tenant_id");
	text	   *organisation = validated_id(fcinfo, 1, "organisation_id");
	text	   *user = validated_id(fcinfo, 2, "user_id");
	text	   *actor = validated_id(fcinfo, 3, "actor");
	char	   *note = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	TimestampTz now;
	TimestampTz account_updated_at;
	pg_uuid_t	log_id;
	pg_uuid_t  *result;
	LockoutState before;
	LockoutState cleared;
	EventRow	row;
	bool		occurred_at_given = !PG_ARGISNULL(6);
	TimestampTz occurred_at;
	uint8		fingerprint[REQUEST_FINGERPRINT_LEN];
	bool		unregistered = false;	/* its first event: registered with it */
	text	   *account_organisation;
	AccountRow	account_row;
	text	   *user_as_sent = NULL;

	occurred_at = (fingerprinted && !occurred_at_given) ? 0 : validated_occurred_at(fcinfo, 6);
	if (fingerprinted)
	{
		RequestFingerprint fp;

		fingerprint_begin(&fp, "reset_lockout");
		fingerprint_add_text(&fp, tenant);
		fingerprint_add_text(&fp, organisation);
		fingerprint_add_text(&fp, user);
		fingerprint_add_text(&fp, actor);
		fingerprint_add_cstring(&fp, note);
		fingerprint_add_timestamptz(&fp, occurred_at_given, occurred_at);
		fingerprint_end(&fp, fingerprint);
	}

	if (PG_ARGISNULL(5))
		event_id_random(&log_id);
	else
		log_id = *PG_GETARG_UUID_P(5);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	prepare_write_plans(authlog_type_oid("auth_path"));
	if (fingerprinted)
	{
		/* a gateway acts for a help-desk agent's token, and as nobody else */
		request_require_helpdesk(tenant, organisation, actor);
		prepare_fingerprint_plans();
		user = keyed_user(tenant, user, &user_as_sent);
	}

	if (fingerprinted)
		unregistered = !lock_account_1_1(tenant, user, &before, &account_organisation,
										 &account_updated_at, &account_row) &&
			account_organisation == NULL;
	else
		(void) lock_account(tenant, user, &before, &account_organisation, &account_updated_at,
							&account_row);
	now = call_time(account_updated_at);
	if (fingerprinted && !occurred_at_given)
		occurred_at = now;
	if (fingerprinted && account_organisation != NULL)
		require_account_organisation(tenant, user, organisation, account_organisation);

	/* The help-desk action is evidence even when nothing was set. */
	event_row_init(&row, tenant, &log_id, organisation, user, "lockout_reset", now);
	event_row_set(&row, EV_OCCURRED_AT, TimestampTzGetDatum(occurred_at));
	event_row_set(&row, EV_REASON, CStringGetTextDatum("admin"));
	event_row_set(&row, EV_ACTOR, PointerGetDatum(actor));
	event_row_set(&row, EV_METADATA,
				  reset_metadata(NULL, before.failed_login_attempts,
								 before.is_locked, before.locked_until, note, user_as_sent));
	if (fingerprinted)
		event_row_set_fingerprint(&row, fingerprint);
	row.register_account = unregistered;

	if (!insert_event(&row))
	{
		RecordedEvent recorded;

		retry_of_recorded(tenant, &log_id, fingerprinted ? fingerprint : NULL, &recorded);
		if (strcmp(recorded.event_type, "lockout_reset") != 0 ||
			recorded.reason == NULL || strcmp(recorded.reason, "admin") != 0 ||
			strcmp(recorded.user_id, text_to_cstring(user)) != 0)
			reject_reused_log_id(&log_id, psprintf("a %s event of user \"%s\"",
												   recorded.event_type, recorded.user_id));
	}
	else
	{
		{
			StatOutcome unlock = STAT_OUTCOME_HELPDESK_UNLOCK;

			stats_note_outcomes(tenant, organisation, &unlock, 1);
		}
		if (before.failed_login_attempts != 0 || before.is_locked ||
			before.has_first_failed || before.lockout_count != 0)
		{
			memset(&cleared, 0, sizeof(cleared));
			update_account(&account_row, tenant, organisation, user, now, &cleared, false,
						   (Datum) 0, true);
		}
	}

	mirror_note_write();
	SPI_finish();
	result = palloc(sizeof(pg_uuid_t));
	*result = log_id;
	PG_RETURN_UUID_P(result);
}

Datum
authlog_reset_lockout(PG_FUNCTION_ARGS)
{
	return reset_lockout(fcinfo, false);
}

Datum
authlog_reset_lockout_1_1(PG_FUNCTION_ARGS)
{
	return reset_lockout(fcinfo, true);
}


/* ---------- move_account (1.1) ---------- */

/* The event that records a move, in the organisation it names. */
static void
insert_move_event(text *tenant, text *organisation, text *user, text *actor,
				  const char *reason, const char *other_key, text *other_organisation,
				  const char *note, const LockoutState *state, TimestampTz now,
				  pg_uuid_t *id)
{
	EventRow	row;
	StringInfoData notes;

	event_id_random(id);
	event_row_init(&row, tenant, id, organisation, user, "account_moved", now);
	event_row_set(&row, EV_REASON, CStringGetTextDatum(reason));
	event_row_set(&row, EV_ACTOR, PointerGetDatum(actor));
	event_row_set_state(&row, state);
	initStringInfo(&notes);
	appendStringInfo(&notes, "{\"authlog\": {\"%s\": ", other_key);
	escape_json(&notes, text_to_cstring(other_organisation));
	if (note != NULL)
	{
		appendStringInfoString(&notes, ", \"note\": ");
		escape_json(&notes, note);
	}
	appendStringInfoString(&notes, "}}");
	event_row_set(&row, EV_METADATA, jsonb_from_text(&notes));
	insert_derived_event(&row);
}

/*
 * authlog.move_account(tenant_id, user_id, to_organisation, actor, reason):
 * the explicit act that moves an account, with its failures and its lock,
 * to another organisation.  Two account_moved events record it, one in each
 * organisation, so that both organisations' readers see it; returns the id
 * of the one in the new organisation.
 */
Datum
authlog_move_account(PG_FUNCTION_ARGS)
{
	text	   *tenant = validated_id(fcinfo, 0, "tenant_id");
	text	   *user = validated_id(fcinfo, 1, "user_id");
	text	   *to_organisation = validated_id(fcinfo, 2, "to_organisation");
	text	   *actor = validated_id(fcinfo, 3, "actor");
	char	   *note = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	TimestampTz now;
	TimestampTz account_updated_at;
	Oid			move_types[4] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		move_values[4];
	LockoutState state;
	text	   *from_organisation;
	pg_uuid_t	out_id;
	pg_uuid_t  *in_id = palloc(sizeof(pg_uuid_t));
	bool		has_row;
	AccountRow	account_row;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	prepare_write_plans(authlog_type_oid("auth_path"));
	prepare_saved(&move_account_plan, move_account_sql, 4, move_types);

	user = account_key_of(tenant, user);
	has_row = lock_account_1_1(tenant, user, &state, &from_organisation, &account_updated_at,
							   &account_row);
	now = call_time(account_updated_at);
	if (!has_row)
	{
		/* an account that only ever logged in gets its row, to carry the move */
		if (from_organisation != NULL &&
			!create_account(tenant, from_organisation, user, now, &state, false, (Datum) 0, true,
							true))
			elog(ERROR, "authlog: account row appeared while its account was locked");
	}
	if (from_organisation == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user \"%s\" of tenant \"%s\" has no account to move",
						text_to_cstring(user), text_to_cstring(tenant)),
				 errhint("An account exists once a call has been recorded for it; record the next one under the organisation it belongs to.")));
	/* a gateway moves for a help-desk token that covers both organisations */
	request_require_helpdesk(tenant, from_organisation, actor);
	request_require_helpdesk(tenant, to_organisation, actor);
	if (same_text(from_organisation, to_organisation))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user \"%s\" of tenant \"%s\" already belongs to organisation \"%s\"",
						text_to_cstring(user), text_to_cstring(tenant),
						text_to_cstring(to_organisation))));

	insert_move_event(tenant, from_organisation, user, actor, "moved_out",
					  "to_organisation", to_organisation, note, &state, now, &out_id);
	insert_move_event(tenant, to_organisation, user, actor, "moved_in",
					  "from_organisation", from_organisation, note, &state, now, in_id);
	move_values[0] = PointerGetDatum(tenant);
	move_values[1] = PointerGetDatum(user);
	move_values[2] = PointerGetDatum(to_organisation);
	move_values[3] = TimestampTzGetDatum(now);
	execute_plan(move_account_plan, move_values, NULL, false, SPI_OK_UPDATE);

	mirror_note_write();
	SPI_finish();
	PG_RETURN_UUID_P(in_id);
}


/* ---------- lockout_status ---------- */

/*
 * May the role that called us (not the definer we run as) see this
 * account?  Superusers and the auth service see every account; readers see
 * the tenants and organisations granted to them.
 */
static bool
caller_may_see(FunctionCallInfo fcinfo, Oid caller, text *tenant, Datum organisation,
			   bool organisation_null, bool named_grants)
{
	Oid			reader_types[3] = {TEXTOID, TEXTOID, OIDOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	Oid		   *record_login_oid = (Oid *) fcinfo->flinfo->fn_extra;

	if (superuser_arg(caller))
		return true;
	/* looked up once per call site: the service calls this on the login path */
	if (record_login_oid == NULL)
	{
		record_login_oid = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*record_login_oid = DatumGetObjectId(
											 DirectFunctionCall1(regprocedurein,
																 CStringGetDatum("authlog.record_login(text,text,text,boolean,inet,text,authlog.auth_path,jsonb,uuid,timestamptz)")));
		fcinfo->flinfo->fn_extra = record_login_oid;
	}
	if (pg_proc_aclcheck(*record_login_oid, caller, ACL_EXECUTE) == ACLCHECK_OK)
		return true;

	values[0] = PointerGetDatum(tenant);
	values[1] = organisation;
	nulls[1] = organisation_null ? 'n' : ' ';
	values[2] = ObjectIdGetDatum(caller);
	if (named_grants)
		execute_plan(prepare_saved(&reader_covers_1_1_plan, reader_covers_1_1_sql, 3, reader_types),
					 values, nulls, true, SPI_OK_SELECT);
	else
		execute_plan(prepare_saved(&reader_covers_plan, reader_covers_sql, 3, reader_types),
					 values, nulls, true, SPI_OK_SELECT);
	return SPI_processed > 0;
}

/*
 * 1.0's declaration and 1.1's differ in which grants count: 1.1 ignores a
 * grant whose role no longer has the name it was granted to.
 */
static Datum
lockout_status(FunctionCallInfo fcinfo, bool named_grants)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *tenant = validated_id(fcinfo, 0, "tenant_id");
	text	   *user = validated_id(fcinfo, 1, "user_id");
	Oid			caller = GetOuterUserId();
	TimestampTz now = GetCurrentTimestamp();
	static const char *status_sql =
		"SELECT failed_login_attempts, first_failed_at, account_locked_until,"
		" lockout_count, organisation_id"
		" FROM authlog.account_lockouts"
		" WHERE tenant_id OPERATOR(pg_catalog.=) $1 AND user_id OPERATOR(pg_catalog.=) $2";
	static SPIPlanPtr status_plan;
	Oid			status_types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {PointerGetDatum(tenant), PointerGetDatum(user)};
	LockoutState state;
	LockoutState effective;
	LockoutPolicy policy;
	Datum		organisation = (Datum) 0;
	bool		organisation_null = true;
	bool		visible;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "authlog: SPI_connect failed");
	if (named_grants)			/* 1.1: the account the tenant's rule names */
		args[1] = PointerGetDatum(account_key_of(tenant, user));
	prepare_saved(&status_plan, status_sql, 2, status_types);
	execute_plan(status_plan, args, NULL, true, SPI_OK_SELECT);

	memset(&state, 0, sizeof(state));
	if (SPI_processed > 0)
	{
		read_state_columns(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, &state);
		organisation = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5,
									 &organisation_null);
	}
	lockout_policy_for_tenant(tenant, &policy);
	visible = caller_may_see(fcinfo, caller, tenant, organisation, organisation_null, named_grants);

	/*
	 * A tenant the caller may not read yields no rows, not an error: that
	 * depends on its grants only.  An account of an organisation it may not
	 * read answers as an account never seen, so that the answer tells
	 * nothing about whether that account exists.
	 */
	if (!visible && !organisation_null)
	{
		if (!caller_may_see(fcinfo, caller, tenant, (Datum) 0, true, named_grants))
		{
			SPI_finish();
			return (Datum) 0;
		}
		memset(&state, 0, sizeof(state));
		visible = true;
	}
	SPI_finish();
	if (!visible)
		return (Datum) 0;

	lockout_effective_state(&state, &policy, now, &effective);
	values[0] = Int32GetDatum(effective.failed_login_attempts);
	values[1] = TimestampTzGetDatum(effective.locked_until);
	nulls[1] = !effective.is_locked;
	values[2] = BoolGetDatum(effective.is_locked);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}


Datum
authlog_lockout_status(PG_FUNCTION_ARGS)
{
	return lockout_status(fcinfo, false);
}

/* 1.1: a gateway's read of an account's state is in the access log too */
Datum
authlog_lockout_status_1_1(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		result = lockout_status(fcinfo, true);
	StringInfoData arguments;

	initStringInfo(&arguments);
	appendStringInfoString(&arguments, "{\"tenant_id\": ");
	escape_json(&arguments, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	appendStringInfoString(&arguments, ", \"user_id\": ");
	escape_json(&arguments, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	appendStringInfoChar(&arguments, '}');
	request_note_access(GetOuterUserId(), "lockout_status",
						DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(arguments.data))),
						(int64) tuplestore_tuple_count(rsinfo->setResult));
	return result;
}


/* ---------- append-only trigger ---------- */

Datum
authlog_forbid_log_rewrite(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *operation;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("authlog.forbid_log_rewrite() must be called as a trigger")));

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		if (authlog_log_rewrite_allowed)
			return PointerGetDatum(trigdata->tg_newtuple);
		operation = "UPDATE";
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		if (authlog_log_retire_allowed)
			return PointerGetDatum(trigdata->tg_trigtuple);
		operation = "DELETE";
	}
	else
		operation = "TRUNCATE";

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on %s is not allowed", operation,
					change_relation_table_name(trigdata->tg_relation)),
			 errdetail("authlog's audit trail is append-only."),
			 errhint("Events are added by authlog.record_login() and authlog.reset_lockout() and removed only by retention (authlog.set_retention), each removal a sealed record; history is never rewritten.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}
