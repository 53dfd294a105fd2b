/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention (1.1): settings, and the sealer worker's retention passes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RETENTION_H
#define RETENTION_H

#include "datatype/timestamp.h"

extern char *authlog_default_retention;
extern int	authlog_retention_interval_s;
extern int	authlog_retention_batch_rows;

extern void retention_init(void);

/* A pass of the worker's, one batch (one transaction) at a time */
typedef struct RetentionPass
{
	bool		active;
	TimestampTz started;
	int64		retired;
	bool		finished;
} RetentionPass;

/* WorkerStep: the pass's next batch */
extern bool retention_step_batch(void *arg);

#endif							/* RETENTION_H */
