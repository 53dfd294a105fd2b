/*-------------------------------------------------------------------------
 *
 * lockout.h
 *	  The lockout state machine: what one attempt does to an account under
 *	  a policy.  Pure: no I/O, no settings, no catalog access; the write
 *	  path (write_path.h) feeds it the row and the policy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LOCKOUT_H
#define LOCKOUT_H

#include "datatype/timestamp.h"

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

extern void lockout_judge_attempt(const LockoutState *before,
								  const LockoutPolicy *policy,
								  bool success, TimestampTz now,
								  LockoutOutcome *outcome);
extern void lockout_effective_state(const LockoutState *state,
									const LockoutPolicy *policy,
									TimestampTz now, LockoutState *effective);
extern const char *lockout_decision_name(LoginDecision decision);

#endif							/* LOCKOUT_H */
