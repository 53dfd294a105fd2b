/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention (1.1): its settings and the worker authlog retention.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RETENTION_H
#define RETENTION_H

#include "datatype/timestamp.h"

extern char *authlog_default_retention;
extern int	authlog_retired_partitions;

/* authlog.retired_partitions */
#define RETIRED_PARTITIONS_DROP 0
#define RETIRED_PARTITIONS_ARCHIVE 1
extern int	authlog_retention_interval_s;
extern int	authlog_retention_batch_rows;

extern void retention_init(void);

#endif							/* RETENTION_H */
