/*-------------------------------------------------------------------------
 *
 * authlog.c
 *	  The module's entry: _PG_init asks each subsystem to define its own
 *	  settings (and, when the server preloads authlog, its shared memory,
 *	  hooks and workers), then reserves the "authlog" prefix.
 *
 *	  This is the top of the include graph: the only file that includes
 *	  every subsystem's header.  It defines no setting and no rule itself.
 *
 *	  The write path needs only CREATE EXTENSION; the mirror, the sealer
 *	  and the event counters need shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "mirror.h"
#include "mongo_sink.h"
#include "sealer.h"
#include "stats.h"
#include "retention.h"
#include "worker.h"
#include "write_path.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* the write path: lockout policy defaults, limits on what a call sends */
	policy_init();
	record_init();

	/* where the store is; the workers' common settings; each worker */
	mongo_sink_init();
	worker_init();
	mirror_init();
	sealer_init();
	retention_init();

	/* the event counters */
	stats_init();

	MarkGUCPrefixReserved("authlog");
}
