/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The frame both background workers (the mirror, the sealer) run in:
 *	  their settings, the shared-memory header they report through, the
 *	  start-up hooks that set up every authlog struct in shared memory,
 *	  attach and detach, a step in a transaction of its own, backoff, and
 *	  the logical slot each reads.  The workers keep only what differs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WORKER_H
#define WORKER_H

#include "access/xlogdefs.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "authlog_common.h"

/* authlog.database, authlog.worker_max_backoff */
extern char *authlog_database;
extern int	authlog_worker_max_backoff_ms;

/* From _PG_init: the workers' common settings */
extern void worker_init(void);

/*
 * A struct of authlog's in shared memory: requested with its size (and
 * whatever request adds), found or created at start-up, where startup
 * initialises it when it was not found.
 */
typedef void (*SharedRequest) (void);
typedef void (*SharedStartup) (void *shared, bool found);
extern void worker_shared_add(const char *name, Size size, void **location,
							  SharedRequest request, SharedStartup startup);

/* What every worker reports, at the start of its shared struct */
typedef struct WorkerShared
{
	slock_t		mutex;
	pid_t		pid;
	Latch	   *latch;
	int			state;			/* the worker's own enum */
	TimestampTz last_error_at;
	char		last_error[1024];
} WorkerShared;

/* A worker, as its own process sees it */
typedef struct Worker
{
	const char *name;			/* "authlog mirror" */
	WorkerShared *shared;
	int			backing_off_state;
	const char *retry_hint;		/* logged with each new failure */
	int			backoff_ms;
	char	   *step_error;		/* message of the last failed step */
} Worker;

extern void worker_register(const char *function_name, const char *name);
extern void worker_attach(Worker *worker, int starting_state);
extern void worker_serve_interrupts(void);
extern void worker_wait(long timeout_ms);

extern void worker_set_state(Worker *worker, int state);
extern int	worker_get_state(Worker *worker);
extern long worker_report_failure(Worker *worker, const char *what, const char *detail);
extern void worker_report_recovered(Worker *worker, const char *message);

/* For the SQL functions: the struct is there (the library is preloaded)... */
extern void worker_require_shared(const void *shared, const char *name);
/* ...a copy of it under its mutex, its state's name, and its wakeup */
extern void worker_copy_shared(WorkerShared *shared, void *copy, Size size);
extern const char *worker_state_name(const char *const *names, int nnames, int state);
extern void worker_wake(WorkerShared *shared);
extern TimestampTz worker_wait_deadline(const Interval *timeout);
extern XLogRecPtr worker_flush_inserted_wal(void);

/*
 * What mirror_sync() and seal_now() wait for: how far the worker has come
 * (progress notes the request for target too), and what it has done
 * (count), both read under its mutex; and how to say it when the wait
 * times out.
 */
typedef struct WorkerWait
{
	const char *what;			/* "the authlog mirror did not catch up" */
	const char *worker_noun;	/* "mirror", in "The mirror is streaming at ..." */
	const char *status_hint;	/* "See authlog.mirror_status." */
	const char *const *state_names;
	int			nstates;
	XLogRecPtr	(*progress) (WorkerShared *shared, XLogRecPtr target);
	uint64		(*count) (WorkerShared *shared);
} WorkerWait;

extern uint64 worker_wait_for(WorkerShared *shared, const WorkerWait *wait,
							  XLogRecPtr target, TimestampTz deadline);

/* A step: run in a transaction of its own, with SPI connected */
typedef bool (*WorkerStep) (void *arg);
extern bool worker_run_step(WorkerStep step, void *arg, char **error);
extern bool worker_step(Worker *worker, WorkerStep step, void *arg);

/* A worker's logical slot, and its pending flag in authlog.worker_slots */
typedef struct WorkerSlot
{
	const char *name;
	bool		exists;			/* set by worker_step_check_slot */
	bool		lost;
	bool		pending;		/* a copy is pending */
} WorkerSlot;

extern bool worker_step_check_slot(void *arg);
extern bool worker_step_mark_pending(void *arg);
extern bool worker_step_create_slot(void *arg);
extern void worker_clear_pending(const char *slot_name);

/*
 * slot_stream.c: a worker's slot read as a stream, one decoding context
 * for as long as it is open (holding the slot).
 */
typedef void (*SlotStreamWrite) (void *arg, const char *data, Size len);
typedef struct SlotStream
{
	MemoryContext context;		/* the decoding context's parent */
	const char *slot_name;
	struct LogicalDecodingContext *ctx; /* NULL while closed */
	SlotStreamWrite write;		/* during a read: each message */
	void	   *write_arg;
	int			messages;		/* written by the current read */
} SlotStream;

extern void slot_stream_open(SlotStream *stream, const char *slot_name,
							 const char *const *options);
extern bool slot_stream_is_open(const SlotStream *stream);
extern int	slot_stream_read(SlotStream *stream, XLogRecPtr upto, int max_messages,
							 SlotStreamWrite write, void *write_arg);
extern XLogRecPtr slot_stream_decoded_upto(const SlotStream *stream);
extern void slot_stream_confirm(SlotStream *stream, XLogRecPtr lsn);
extern void slot_stream_close(SlotStream *stream);

#endif							/* WORKER_H */
