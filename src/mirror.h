/*-------------------------------------------------------------------------
 *
 * mirror.h
 *	  The mirror: the worker that keeps the document store in step with
 *	  authlog's tables (mirror.c), the commit hook that wakes it, and the
 *	  SQL functions that report on it and verify the store (mirror_sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIRROR_H
#define MIRROR_H

#include "worker.h"

/* the mirror's settings */
extern char *authlog_mirror_slot_name;
extern char *authlog_mirror_write_concern;
extern int	authlog_mirror_batch_size;
extern int	authlog_mirror_idle_advance_ms;
extern bool authlog_mirror_test_pause_before_advance;

typedef enum MirrorState
{
	MIRROR_STARTING,
	MIRROR_DISABLED,
	MIRROR_STREAMING,
	MIRROR_BACKING_OFF,
	MIRROR_RESYNCING,
	MIRROR_PAUSED				/* test-only: stopped before a slot advance */
} MirrorState;

extern const char *const mirror_state_names[];
extern const int mirror_nstates;

/* What the worker reports, in shared memory */
typedef struct MirrorShared
{
	WorkerShared worker;		/* state is a MirrorState */
	XLogRecPtr	wake_lsn;		/* end of the latest commit that wrote authlog rows */
	XLogRecPtr	confirmed_lsn;	/* where the worker last advanced the slot */
	bool		caught_up;		/* the last peek found nothing pending */
	TimestampTz applied_commit_time;	/* commit time of the last applied batch */
	uint64		documents_written;
	uint64		documents_refused;
	uint64		batches;
	uint64		lockouts_notified;	/* NOTIFY authlog_lockout sent */
	uint64		notifications_failed;	/* lockouts whose NOTIFY could not be sent */
	bool		sync_requested; /* mirror_sync waits: advance without delay */
} MirrorShared;

extern MirrorShared *authlog_mirror_shared;

/* From _PG_init: the settings, and with shared_preload_libraries the worker */
extern void mirror_init(void);

/* This transaction wrote authlog rows: its commit wakes the worker. */
extern void mirror_note_write(void);
extern void mirror_wake_worker(void);

#endif							/* MIRROR_H */
