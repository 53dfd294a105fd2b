/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Per-tenant lockout policies, cached in each backend.
 *
 *	  The login path reads a tenant's policy on every failure; reading it
 *	  from lockout_policies each time costs an index scan per attempt.  A
 *	  backend keeps what it read in a hash table, and a statement trigger on
 *	  lockout_policies sends a relcache invalidation for the table, which
 *	  every backend receives at its next transaction and answers by dropping
 *	  the cache.  GUC defaults are applied when the policy is used, so a
 *	  tenant without a policy follows SET and reloads at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "write_path.h"

PG_FUNCTION_INFO_V1(authlog_policy_changed);

/* The policy of tenants without one of their own */
static int	authlog_max_failed_attempts = 5;
static int	authlog_failure_window_s = 15 * 60;
static int	authlog_lockout_duration_s = 15 * 60;
static double	authlog_lockout_backoff_factor = 1.0;
static int	authlog_max_lockout_duration_s = 24 * 60 * 60;

/*
 * The defaults are PGC_SUSET, so that a caller can never raise its own
 * threshold with SET.
 */
void
policy_init(void)
{
	/*
	 * The threshold of consecutive failures that locks an account, for
	 * tenants without a policy of their own.  NIST SP 800-63B allows at most
	 * 100.
	 */
	DefineCustomIntVariable("authlog.max_failed_attempts",
							"Failed login attempts within the failure window that lock an account.",
							"Applies to tenants without a policy set by authlog.set_lockout_policy(). NIST SP 800-63B allows at most 100.",
							&authlog_max_failed_attempts,
							5, 1, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	/* Failures older than this no longer count towards a lockout. */
	DefineCustomIntVariable("authlog.failure_window",
							"Interval from the first failure of a series within which failures are counted.",
							"A failure after the window has passed starts a new series at 1.",
							&authlog_failure_window_s,
							15 * 60, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* How long the first lockout lasts; later ones grow by the backoff factor. */
	DefineCustomIntVariable("authlog.lockout_duration",
							"How long an account stays locked after reaching the failure threshold.",
							"Consecutive lockouts last lockout_duration times lockout_backoff_factor to the power of the lockouts before, capped by max_lockout_duration.",
							&authlog_lockout_duration_s,
							15 * 60, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/* Progressive lockout slows a patient attacker; 1 keeps every lockout equal. */
	DefineCustomRealVariable("authlog.lockout_backoff_factor",
							 "Factor by which each consecutive lockout of an account is longer than the one before.",
							 "1 disables progressive lockout. A success or an admin reset starts the progression again.",
							 &authlog_lockout_backoff_factor,
							 1.0, 1.0, 100.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	/* The cap keeps progressive lockout from locking a user out for good. */
	DefineCustomIntVariable("authlog.max_lockout_duration",
							"Longest a single lockout may last, for tenants whose policy sets no cap.",
							NULL,
							&authlog_max_lockout_duration_s,
							24 * 60 * 60, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

void
lockout_policy_defaults(LockoutPolicy *policy)
{
	policy->max_failed_attempts = authlog_max_failed_attempts;
	policy->failure_window = (int64) authlog_failure_window_s * USECS_PER_SEC;
	policy->lockout_duration = (int64) authlog_lockout_duration_s * USECS_PER_SEC;
	policy->backoff_factor = authlog_lockout_backoff_factor;
	policy->max_lockout_duration = (int64) authlog_max_lockout_duration_s * USECS_PER_SEC;
}

/* Tenants cached before the cache starts over; bounds a backend's memory. */
#define POLICY_CACHE_MAX_TENANTS 10000

typedef struct PolicyCacheEntry
{
	char		tenant_id[AUTHLOG_MAX_ID_LENGTH * MAX_MULTIBYTE_CHAR_LEN + 1];	/* hash key */
	bool		has_policy;
	int			max_failed_attempts;
	int64		failure_window;
	int64		lockout_duration;
	double		backoff_factor;
	bool		has_max_lockout_duration;
	int64		max_lockout_duration;
	UserIdMatch user_id_match;	/* 1.1: authlog.tenant_settings */
} PolicyCacheEntry;

static HTAB *policy_cache = NULL;
static bool policy_callback_registered = false;
static Oid	policy_table_oid = InvalidOid;
static Oid	settings_table_oid = InvalidOid;	/* invalid under 1.0 */

static const char *read_policy_sql =
"SELECT max_failed_attempts,"
" (extract(epoch FROM failure_window) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8,"
" (extract(epoch FROM lockout_duration) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8,"
" backoff_factor::pg_catalog.float8,"
" (extract(epoch FROM max_lockout_duration) OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8"
" FROM authlog.lockout_policies WHERE tenant_id OPERATOR(pg_catalog.=) $1";
static SPIPlanPtr read_policy_plan = NULL;

static const char *read_settings_sql =
"SELECT user_id_match FROM authlog.tenant_settings WHERE tenant_id OPERATOR(pg_catalog.=) $1";
static SPIPlanPtr read_settings_plan = NULL;

static void
policy_cache_reset(void)
{
	if (policy_cache != NULL)
	{
		hash_destroy(policy_cache);
		policy_cache = NULL;
	}
}

/*
 * Relcache callback: an invalidation of lockout_policies, or of every
 * relation, drops the cache.  No catalog access here: the table's OID was
 * noted when the cache was built.
 */
static void
policy_cache_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == policy_table_oid || relid == settings_table_oid)
		policy_cache_reset();
}

static HTAB *
policy_cache_table(void)
{
	HASHCTL		ctl;

	if (!policy_callback_registered)
	{
		CacheRegisterRelcacheCallback(policy_cache_invalidate, (Datum) 0);
		policy_callback_registered = true;
	}
	if (policy_cache == NULL)
	{
		ctl.keysize = sizeof(((PolicyCacheEntry *) NULL)->tenant_id);
		ctl.entrysize = sizeof(PolicyCacheEntry);
		ctl.hcxt = TopMemoryContext;
		policy_table_oid = get_relname_relid("lockout_policies",
											 get_namespace_oid(AUTHLOG_SCHEMA, false));
		settings_table_oid = get_relname_relid("tenant_settings",
											   get_namespace_oid(AUTHLOG_SCHEMA, false));
		policy_cache = hash_create("authlog lockout policies", 256, &ctl,
								   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	return policy_cache;
}

static int64
duration_column(HeapTuple tuple, TupleDesc desc, int column, bool *isnull)
{
	Datum		value = SPI_getbinval(tuple, desc, column, isnull);

	return *isnull ? 0 : DatumGetInt64(value);
}

/* Read a tenant's row of lockout_policies into a cache entry; SPI is connected. */
static void
read_policy(const char *tenant, PolicyCacheEntry *entry)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;

	if (read_policy_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(read_policy_sql, 1, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "authlog: could not prepare the policy query: %s",
				 SPI_result_code_string(SPI_result));
		read_policy_plan = plan;
	}
	values[0] = CStringGetTextDatum(tenant);
	if (SPI_execute_plan(read_policy_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read the lockout policy");

	entry->has_policy = SPI_processed > 0;
	if (entry->has_policy)
	{
		tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	entry->max_failed_attempts = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
	entry->failure_window = duration_column(tuple, desc, 2, &isnull);
	entry->lockout_duration = duration_column(tuple, desc, 3, &isnull);
	entry->backoff_factor = DatumGetFloat8(SPI_getbinval(tuple, desc, 4, &isnull));
		entry->max_lockout_duration = duration_column(tuple, desc, 5, &isnull);
		entry->has_max_lockout_duration = !isnull;
	}

	entry->user_id_match = USER_ID_MATCH_EXACT;
	if (!OidIsValid(settings_table_oid))
		return;
	if (read_settings_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(read_settings_sql, 1, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "authlog: could not prepare the tenant settings query: %s",
				 SPI_result_code_string(SPI_result));
		read_settings_plan = plan;
	}
	if (SPI_execute_plan(read_settings_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "authlog: could not read the tenant settings");
	if (SPI_processed > 0)
	{
		char	   *rule = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (strcmp(rule, "casefold") == 0)
			entry->user_id_match = USER_ID_MATCH_CASEFOLD;
		else if (strcmp(rule, "nfkc_casefold") == 0)
			entry->user_id_match = USER_ID_MATCH_NFKC_CASEFOLD;
	}
}

/*
 * The policy that applies to a tenant now.  The caller has connected SPI.
 */
static PolicyCacheEntry *
tenant_entry(text *tenant)
{
	char		key[sizeof(((PolicyCacheEntry *) NULL)->tenant_id)];
	PolicyCacheEntry *entry;
	bool		found;

	text_to_cstring_buffer(tenant, key, sizeof(key));
	entry = hash_search(policy_cache_table(), key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		PolicyCacheEntry fresh;

		read_policy(key, &fresh);
		if (hash_get_num_entries(policy_cache_table()) >= POLICY_CACHE_MAX_TENANTS)
			policy_cache_reset();
		/* enter only a complete entry: read_policy may fail */
		strlcpy(fresh.tenant_id, key, sizeof(fresh.tenant_id));
		entry = hash_search(policy_cache_table(), key, HASH_ENTER, &found);
		*entry = fresh;
	}
	return entry;
}

/* How the tenant's user ids name accounts (1.1); exact when it has no setting. */
UserIdMatch
tenant_user_id_match(text *tenant)
{
	return tenant_entry(tenant)->user_id_match;
}

void
lockout_policy_for_tenant(text *tenant, LockoutPolicy *policy)
{
	PolicyCacheEntry *entry = tenant_entry(tenant);

	lockout_policy_defaults(policy);
	if (!entry->has_policy)
		return;
	policy->max_failed_attempts = entry->max_failed_attempts;
	policy->failure_window = entry->failure_window;
	policy->lockout_duration = entry->lockout_duration;
	policy->backoff_factor = entry->backoff_factor;
	if (entry->has_max_lockout_duration)
		policy->max_lockout_duration = entry->max_lockout_duration;
}

/*
 * Statement trigger on lockout_policies: every backend drops its cache
 * when the change commits (and this one at once).
 */
Datum
authlog_policy_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("authlog.policy_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);	/* an AFTER trigger's result is ignored */
}
