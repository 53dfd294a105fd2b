/*-------------------------------------------------------------------------
 *
 * authlog.h
 *	  What the files of authlog share: GUC variables, the lockout state
 *	  machine's types, and the few functions one file calls in another.
 *
 *	  Nothing else is exported; each .c file keeps its helpers static.
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUTHLOG_H
#define AUTHLOG_H

#include <bson/bson.h>

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* Longest tenant, organisation, user or actor id, in characters */
#define AUTHLOG_MAX_ID_LENGTH 256

/* GUCs, defined in authlog.c */
extern int	authlog_max_failed_attempts;
extern int	authlog_failure_window_s;
extern int	authlog_lockout_duration_s;
extern double authlog_lockout_backoff_factor;
extern int	authlog_max_lockout_duration_s;
extern int	authlog_max_user_agent_length;
extern int	authlog_max_metadata_depth;

/* A tenant's lockout policy, durations in microseconds */
typedef struct LockoutPolicy
{
	int			max_failed_attempts;
	int64		failure_window;
	int64		lockout_duration;
	double		backoff_factor;
	int64		max_lockout_duration;
} LockoutPolicy;

/* One account's row of account_lockouts, as the state machine sees it */
typedef struct LockoutState
{
	int			failed_login_attempts;
	bool		has_first_failed;
	TimestampTz first_failed_at;
	bool		is_locked;		/* account_locked_until is set (maybe past) */
	TimestampTz locked_until;
	int			lockout_count;
} LockoutState;

typedef enum LoginDecision
{
	LOGIN_ALLOWED,
	LOGIN_FAILED,
	LOGIN_LOCKED
} LoginDecision;

/* What one attempt does to an account: the decision and the events it implies */
typedef struct LockoutOutcome
{
	LoginDecision decision;
	bool		refused_by_lock;	/* attempt made while a lock was in force */
	LockoutState after;
	bool		state_changed;	/* account_lockouts needs an update */

	/* a lock that had expired was cleared before judging the attempt */
	bool		expired_reset;
	int			expired_cleared_attempts;
	TimestampTz expired_cleared_until;

	/* a success cleared a non-zero failure counter */
	bool		success_reset;
	int			success_cleared_attempts;

	/* this failure reached the threshold */
	bool		locked_now;
	int64		lock_duration;
} LockoutOutcome;

/* lockout.c */
extern void lockout_policy_defaults(LockoutPolicy *policy);
extern void lockout_judge_attempt(const LockoutState *before,
								  const LockoutPolicy *policy,
								  bool success, TimestampTz now,
								  LockoutOutcome *outcome);
extern void lockout_effective_state(const LockoutState *state,
									const LockoutPolicy *policy,
									TimestampTz now, LockoutState *effective);
extern const char *lockout_decision_name(LoginDecision decision);

/* policy.c */
extern void lockout_policy_for_tenant(text *tenant, LockoutPolicy *policy);

/* event_ids.c */
extern void event_id_random(pg_uuid_t *id);
extern void event_id_derived(const pg_uuid_t *trigger, const char *event,
							 pg_uuid_t *id);

/* row_bson.c */
extern void row_bson_append_datum(bson_t *out, const char *key, Oid typid,
								  Datum value, bool isnull);
extern void row_bson_append_jsonb(bson_t *out, const char *key, Jsonb *jsonb);
extern void row_bson_append_timestamptz(bson_t *out, const char *key, TimestampTz ts);
extern bson_t *row_bson_new_owned(MemoryContext context);

/* The schema whose tables the output plugin decodes, and those tables */
#define AUTHLOG_SCHEMA "authlog"
extern bool authlog_table_is_mirrored(const char *relname);

/* record.c */
extern bool authlog_log_rewrite_allowed;

#endif							/* AUTHLOG_H */
