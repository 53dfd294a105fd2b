/*-------------------------------------------------------------------------
 *
 * pinned_session.c
 *	  The settings authlog's own SQL runs under, whoever configured the
 *	  database.
 *
 *	  The workers connect as the bootstrap superuser, and a superuser calls
 *	  the administrative functions; both run SQL in a database whose owner
 *	  (not necessarily a superuser) may have set, with ALTER DATABASE or
 *	  ALTER ROLE, a search_path that puts her own operators and functions
 *	  first, or settings that change what a statement means or whether it
 *	  runs at all.  Every statement authlog builds in C is schema-qualified
 *	  as well; these pins are the second wall, and they also keep a read-only
 *	  default or a statement timeout from stopping the workers.
 *
 *	  Workers pin their session once, above any source a database or role
 *	  can use (PGC_S_OVERRIDE).  Functions a caller runs pin the settings for
 *	  their own duration only, at a new GUC nest level, as a function's SET
 *	  clause would, so the caller's session is unchanged afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "authlog_common.h"

typedef struct PinnedSetting
{
	const char *name;
	const char *value;
	bool		workers_only;	/* superuser-only settings: not for callers */
} PinnedSetting;

static const PinnedSetting pinned_settings[] = {
	/* what names resolve to: only the catalog, never a schema a user owns */
	{"search_path", "pg_catalog, pg_temp", false},
	/* what literals and conversions mean */
	{"TimeZone", "UTC", false},
	{"DateStyle", "ISO, YMD", false},
	{"IntervalStyle", "postgres", false},
	{"extra_float_digits", "1", false},
	{"bytea_output", "hex", false},
	{"standard_conforming_strings", "on", false},
	{"transform_null_equals", "off", false},
	{"array_nulls", "on", false},
	/* whether statements run, and how they see each other */
	{"default_transaction_read_only", "off", false},
	{"default_transaction_isolation", "read committed", false},
	{"default_transaction_deferrable", "off", false},
	{"statement_timeout", "0", false},
	{"lock_timeout", "0", false},
	{"idle_in_transaction_session_timeout", "0", false},
	{"row_security", "on", false},
	/* triggers (the append-only guard among them) fire */
	{"session_replication_role", "origin", true},
};

void
authlog_pin_worker_session(void)
{
	size_t		i;

	for (i = 0; i < lengthof(pinned_settings); i++)
		SetConfigOption(pinned_settings[i].name, pinned_settings[i].value,
						PGC_SUSET, PGC_S_OVERRIDE);
}

int
authlog_pin_settings(void)
{
	int			nest_level = NewGUCNestLevel();
	size_t		i;

	for (i = 0; i < lengthof(pinned_settings); i++)
	{
		if (pinned_settings[i].workers_only)
			continue;
		(void) set_config_option(pinned_settings[i].name, pinned_settings[i].value,
								 superuser() ? PGC_SUSET : PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, ERROR, false);
	}
	return nest_level;
}

void
authlog_restore_settings(int nest_level)
{
	AtEOXact_GUC(true, nest_level);
}
