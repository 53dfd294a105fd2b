/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  authlog.stat_events and authlog.stat_outcomes: events and the write
 *	  path's outcomes counted per tenant, organisation and kind in shared
 *	  memory, at commit (stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STATS_H
#define STATS_H

#include "authlog_common.h"

extern int	authlog_stat_max_entries;
extern int	authlog_success_after_failures_min;

/* What a call that wrote its event decided or did (authlog.stat_outcomes) */
typedef enum StatOutcome
{
	STAT_OUTCOME_ALLOWED,		/* record_login's decision */
	STAT_OUTCOME_FAILED,
	STAT_OUTCOME_LOCKED,
	STAT_OUTCOME_REFUSED_WHILE_LOCKED,	/* an attempt while a lock was in force */
	STAT_OUTCOME_HELPDESK_UNLOCK,	/* reset_lockout */
	STAT_OUTCOME_SUCCESS_AFTER_FAILURES
} StatOutcome;

/* From _PG_init while shared_preload_libraries is processed */
extern void stats_init(void);

/* An event written in this transaction, counted if it commits */
extern void stats_note_event(text *tenant_id, text *organisation_id,
							 const char *event_type);
extern void stats_note_outcomes(text *tenant_id, text *organisation_id,
								const StatOutcome *outcomes, int noutcomes);

#endif							/* STATS_H */
