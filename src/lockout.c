/*-------------------------------------------------------------------------
 *
 * lockout.c
 *	  The lockout rules as a pure state machine: given an account's state,
 *	  the tenant's policy, the attempt and the transaction time, decide.
 *
 *	  No SPI, no I/O and no settings here: record.c reads and writes the
 *	  rows and policy.c says which policy applies; this file only says what
 *	  the rows must become, so every rule is in one place.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lockout.h"

const char *
lockout_decision_name(LoginDecision decision)
{
	switch (decision)
	{
		case LOGIN_ALLOWED:
			return "allowed";
		case LOGIN_FAILED:
			return "failed";
		case LOGIN_LOCKED:
			return "locked";
	}
	return "failed";			/* keep compiler quiet */
}

/*
 * Length of the lockout that follows lockout_count earlier consecutive ones:
 * duration * backoff^count, capped.  Computed in double so a large count
 * saturates at the cap instead of overflowing.
 */
static int64
lockout_duration_for(const LockoutPolicy *policy, int lockout_count)
{
	double		duration;
	int64		cap = Max(policy->max_lockout_duration, policy->lockout_duration);

	duration = (double) policy->lockout_duration *
		pow(policy->backoff_factor, (double) lockout_count);
	if (!(duration < (double) cap))
		return cap;
	return (int64) duration;
}

static void
clear_failures(LockoutState *state)
{
	state->failed_login_attempts = 0;
	state->has_first_failed = false;
	state->first_failed_at = 0;
	state->is_locked = false;
	state->locked_until = 0;
}

/*
 * Judge one attempt.  The clock is the transaction time: the caller's
 * occurred_at never enters here, so a back-dated call cannot slip past a
 * window or a lock.
 */
void
lockout_judge_attempt(const LockoutState *before, const LockoutPolicy *policy,
					  bool success, TimestampTz now, LockoutOutcome *outcome)
{
	LockoutState *after = &outcome->after;

	memset(outcome, 0, sizeof(LockoutOutcome));
	*after = *before;

	/* A lock in force refuses every attempt, a correct password too. */
	if (before->is_locked && before->locked_until > now)
	{
		outcome->decision = LOGIN_LOCKED;
		outcome->refused_by_lock = true;
		return;
	}

	/* An expired lock is cleared by the first attempt after it. */
	if (before->is_locked)
	{
		outcome->expired_reset = true;
		outcome->expired_cleared_attempts = before->failed_login_attempts;
		outcome->expired_cleared_until = before->locked_until;
		clear_failures(after);
		outcome->state_changed = true;
	}

	if (success)
	{
		outcome->decision = LOGIN_ALLOWED;
		if (after->failed_login_attempts > 0)
		{
			outcome->success_reset = true;
			outcome->success_cleared_attempts = after->failed_login_attempts;
		}
		if (after->failed_login_attempts > 0 || after->has_first_failed ||
			after->lockout_count > 0)
			outcome->state_changed = true;
		clear_failures(after);
		after->lockout_count = 0;
		return;
	}

	/* A failure after the window has passed starts a new series. */
	if (after->failed_login_attempts > 0 && after->has_first_failed &&
		now > after->first_failed_at + policy->failure_window)
		clear_failures(after);

	if (after->failed_login_attempts == 0)
	{
		after->has_first_failed = true;
		after->first_failed_at = now;
	}
	after->failed_login_attempts++;
	outcome->state_changed = true;

	if (after->failed_login_attempts >= policy->max_failed_attempts)
	{
		outcome->decision = LOGIN_LOCKED;
		outcome->locked_now = true;
		outcome->lock_duration = lockout_duration_for(policy, after->lockout_count);
		after->is_locked = true;
		after->locked_until = now + outcome->lock_duration;
		after->lockout_count++;
	}
	else
		outcome->decision = LOGIN_FAILED;
}

/*
 * The state in force at "now" without any attempt: what lockout_status
 * reports.  An expired lock or a series past its window counts as cleared,
 * since the next attempt would be judged on a clean counter.
 */
void
lockout_effective_state(const LockoutState *state, const LockoutPolicy *policy,
						TimestampTz now, LockoutState *effective)
{
	*effective = *state;
	if (state->is_locked)
	{
		if (state->locked_until <= now)
			clear_failures(effective);
	}
	else if (state->failed_login_attempts > 0 && state->has_first_failed &&
			 now > state->first_failed_at + policy->failure_window)
		clear_failures(effective);
}
