/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  authlog.stat_events: events counted per tenant, organisation and type
 *	  in shared memory, at commit (stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STATS_H
#define STATS_H

#include "authlog_common.h"

extern int	authlog_stat_max_entries;

/* From _PG_init while shared_preload_libraries is processed */
extern void stats_init(void);

/* An event written in this transaction, counted if it commits */
extern void stats_note_event(text *tenant_id, text *organisation_id,
							 const char *event_type);

#endif							/* STATS_H */
