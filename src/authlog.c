/*-------------------------------------------------------------------------
 *
 * authlog.c
 *	  Module entry point: declares every authlog GUC, in one place.
 *
 *	  The write path needs only CREATE EXTENSION; nothing here requires
 *	  shared_preload_libraries.  Policy GUCs are PGC_SUSET so that a caller
 *	  can never raise its own threshold with SET.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "authlog.h"

PG_MODULE_MAGIC;

int			authlog_max_failed_attempts = 5;
int			authlog_failure_window_s = 15 * 60;
int			authlog_lockout_duration_s = 15 * 60;
double		authlog_lockout_backoff_factor = 1.0;
int			authlog_max_lockout_duration_s = 24 * 60 * 60;
int			authlog_max_user_agent_length = 1024;
int			authlog_max_metadata_depth = 32;

void		_PG_init(void);

void
_PG_init(void)
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

	MarkGUCPrefixReserved("authlog");
}
