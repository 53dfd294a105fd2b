/*-------------------------------------------------------------------------
 *
 * authlog.c
 *	  Module entry point: declares every authlog GUC, in one place.
 *
 *	  The write path needs only CREATE EXTENSION; the mirror, the sealer and
 *	  the event counters need shared_preload_libraries.  Policy GUCs are PGC_SUSET so that a caller
 *	  can never raise its own threshold with SET.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
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
char	   *authlog_mirror_uri = NULL;
char	   *authlog_store_credentials_file = NULL;
char	   *authlog_mirror_dbname = "postgres";
char	   *authlog_mirror_database = NULL;
char	   *authlog_mirror_slot_name = "authlog_mirror";
char	   *authlog_mirror_write_concern = NULL;
int			authlog_mirror_batch_size = 1000;
int			authlog_mirror_idle_advance_ms = 5000;
int			authlog_mirror_max_backoff_ms = 30000;
bool		authlog_mirror_test_pause_before_advance = false;
int			authlog_seal_interval_s = 60;
int			authlog_max_clock_skew_s = 5 * 60;
int			authlog_seal_max_events = 20000;

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

	/*
	 * Where the mirror writes.  Superuser-only to read, since a connection
	 * string may hold credentials; empty disables the mirror.
	 */
	DefineCustomStringVariable("authlog.mirror_uri",
							   "MongoDB connection string of the document store the mirror writes to.",
							   "Empty disables the mirror. Short connect, selection and socket timeouts are added unless the string sets them.",
							   &authlog_mirror_uri,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/*
	 * The store's password, out of the settings (PostgreSQL logs each
	 * changed setting with its value): a file only the server can read.
	 */
	DefineCustomStringVariable("authlog.store_credentials_file",
							   "File holding the document store's password, for the user named in authlog.mirror_uri.",
							   "Its first line is the password; it must be a regular file accessible by its owner only. A URI with a password in it is refused.",
							   &authlog_store_credentials_file,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("authlog.mirror_database",
							   "Database of the document store the mirror writes to.",
							   "It holds the collections auth_logs, account_lockouts and dead_letters.",
							   &authlog_mirror_database,
							   "authlog",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	/* The slot advances only past what the store acknowledged at this concern. */
	DefineCustomStringVariable("authlog.mirror_write_concern",
							   "Write concern the store must acknowledge before the mirror advances its slot.",
							   "majority, or a number of nodes.",
							   &authlog_mirror_write_concern,
							   "majority",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	/* Bounded bulks keep each store round trip short, so SIGTERM is served fast. */
	DefineCustomIntVariable("authlog.mirror_batch_size",
							"Change messages the mirror reads and writes per batch.",
							"A batch always ends at a transaction's end, so it may hold more.",
							&authlog_mirror_batch_size,
							1000, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/* While authlog is idle, the slot still moves so WAL is never pinned. */
	DefineCustomIntVariable("authlog.mirror_idle_advance",
							"Longest interval between slot advances while no authlog change is pending.",
							"Advancing releases WAL of other tables that the slot would otherwise retain.",
							&authlog_mirror_idle_advance_ms,
							5000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("authlog.mirror_max_backoff",
							"Longest wait between retries while the document store fails.",
							"Retries start at 100ms and double up to this.",
							&authlog_mirror_max_backoff_ms,
							30000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Test-only: the worker stops between the store's acknowledgement and
	 * the slot advance, so tests reach that fault point exactly.
	 */
	DefineCustomBoolVariable("authlog.mirror_test_pause_before_advance",
							 "Test only: pause the mirror after a batch is acknowledged and before the slot advances.",
							 NULL,
							 &authlog_mirror_test_pause_before_advance,
							 false,
							 PGC_SIGHUP, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	/*
	 * How long a committed event may wait for its seal.  0 pauses sealing:
	 * the sealer's slot then keeps the events, and WAL, until it resumes.
	 */
	DefineCustomIntVariable("authlog.seal_interval",
							"Longest time between a committed event and the seal that covers it.",
							"The sealer cuts seals this often; 0 pauses it, and its slot keeps the unsealed events (and their WAL) until sealing resumes.",
							&authlog_seal_interval_s,
							60, 0, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * Bounds a seal's document in the store (20,000 members are about 1.3 MB)
	 * and the sealer's memory: it also reads its slot this many changes at a
	 * time.
	 */
	DefineCustomIntVariable("authlog.seal_max_events",
							"Most events one seal covers; a cut seals more as several seals.",
							"The sealer also reads its slot, and the events a table scan finds, this many at a time.",
							&authlog_seal_max_events,
							20000, 100, 200000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	/*
	 * Callers report occurred_at from their own clocks; an event sealed
	 * after a seal that closed more than this after its occurred_at is
	 * reported as back-dated by the verifiers.
	 */
	DefineCustomIntVariable("authlog.max_clock_skew",
							"How far an event's occurred_at may lie before its tenant's previous seal before verification reports it as back-dated.",
							"Rows committed after a seal but claiming a time inside the sealed period by more than this are reported by authlog.verify_seals().",
							&authlog_max_clock_skew_s,
							5 * 60, 0, 7 * 24 * 3600,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	/*
	 * The mirror needs shared memory and a worker: only when preloaded.  Its
	 * start-time settings can only be defined then, too.
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		/* The worker connects to one database, the one holding the extension. */
		DefineCustomStringVariable("authlog.mirror_dbname",
								   "PostgreSQL database whose authlog tables the mirror worker streams.",
								   "The extension must be installed there. Takes effect at server start.",
								   &authlog_mirror_dbname,
								   "postgres",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);

		DefineCustomStringVariable("authlog.mirror_slot_name",
								   "Name of the logical replication slot the mirror worker reads.",
								   "The worker creates it, with the authlog output plugin, when it is missing. Takes effect at server start.",
								   &authlog_mirror_slot_name,
								   "authlog_mirror",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);

		/*
		 * Room for the event counters of this many tenant/organisation pairs;
		 * events of pairs beyond it are counted together, not lost.
		 */
		DefineCustomIntVariable("authlog.stat_max_entries",
								"Tenant and organisation pairs whose events authlog.stat_events counts separately.",
								"Each takes about 4 kB of shared memory. Events of pairs beyond this are counted in a row with NULL tenant_id that members of pg_read_all_stats see. Takes effect at server start.",
								&authlog_stat_max_entries,
								1000, 10, 1000000,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);

		mirror_register();
		mirror_register_xact_callback();
		stats_register();
		sealer_register();
	}

	MarkGUCPrefixReserved("authlog");
}
