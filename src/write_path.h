/*-------------------------------------------------------------------------
 *
 * write_path.h
 *	  The write path: record_login, reset_lockout and move_account
 *	  (record.c), the tenant's policy and user id rule they apply
 *	  (policy.c), and the fingerprint that tells a retry from a reuse of a
 *	  log_id (request_fingerprint.c).  The rules themselves are lockout.h's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WRITE_PATH_H
#define WRITE_PATH_H

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "storage/itemptr.h"

#include "authlog_common.h"
#include "lockout.h"

/* policy.c: the defaults (settings) and each tenant's own policy */
typedef enum UserIdMatch
{
	USER_ID_MATCH_EXACT,
	USER_ID_MATCH_CASEFOLD,
	USER_ID_MATCH_NFKC_CASEFOLD
} UserIdMatch;

extern void policy_init(void);
extern void lockout_policy_defaults(LockoutPolicy *policy);
extern void lockout_policy_for_tenant(text *tenant, LockoutPolicy *policy);
extern UserIdMatch tenant_user_id_match(text *tenant);

/* record.c */
extern void record_init(void);
extern bool authlog_log_rewrite_allowed;
extern bool authlog_log_retire_allowed;

/* A saved SPI plan, prepared once per backend; one run of it, its result checked */
extern SPIPlanPtr prepare_saved(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes);
extern void execute_plan_allowed(bool *allowed, SPIPlanPtr plan, Datum *values, const char *nulls,
								 int expected);
extern SPIPlanPtr prepare_saved_options(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
										int options);
extern void execute_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
						 bool read_only, int expected);

/*
 * account_row.c: an account's row locked and updated, and its registered
 * organisation read, through the table AM; AccountRow's columns in this
 * order
 */
enum
{
	ACCOUNT_TENANT, ACCOUNT_USER, ACCOUNT_ORGANISATION, ACCOUNT_FAILED_ATTEMPTS,
	ACCOUNT_FIRST_FAILED_AT, ACCOUNT_LAST_FAILED_AT, ACCOUNT_LAST_FAILED_IP,
	ACCOUNT_LOCKED_UNTIL, ACCOUNT_LOCKOUT_COUNT, ACCOUNT_UPDATED_AT,
	ACCOUNT_ROW_NATTS
};

typedef struct AccountRow
{
	bool		locked_here;	/* by account_row_lock, not by the statement */
	ItemPointerData tid;		/* the version locked */
	Datum		values[ACCOUNT_ROW_NATTS];
	bool		nulls[ACCOUNT_ROW_NATTS];
} AccountRow;

typedef enum AccountRowResult
{
	ACCOUNT_ROW_ABSENT,
	ACCOUNT_ROW_FOUND,
	ACCOUNT_ROW_USE_SQL			/* a table the statements must handle */
} AccountRowResult;

extern AccountRowResult account_row_lock(text *tenant, text *user, AccountRow *row);
extern AccountRowResult account_row_registered_organisation(text *tenant, text *user,
															text **organisation);
extern bool account_row_create(text *tenant, text *user, text *organisation,
							   const LockoutState *state, TimestampTz now, bool failed,
							   Datum ip, bool ip_null);
extern bool account_row_update(const AccountRow *row, text *organisation,
							   const LockoutState *state, TimestampTz now, bool failed,
							   Datum ip, bool ip_null);

/* request_fingerprint.c: SHA-256 over a call's arguments, field by field */
#define REQUEST_FINGERPRINT_LEN 32
typedef struct RequestFingerprint
{
	StringInfoData input;		/* the canonical form, hashed at the end in one call */
} RequestFingerprint;

extern void fingerprint_begin(RequestFingerprint *fp, const char *function);
extern void fingerprint_add(RequestFingerprint *fp, const char *data, size_t len);
extern void fingerprint_add_absent(RequestFingerprint *fp);
extern void fingerprint_add_text(RequestFingerprint *fp, const text *value);
extern void fingerprint_add_cstring(RequestFingerprint *fp, const char *value);
extern void fingerprint_add_timestamptz(RequestFingerprint *fp, bool present, TimestampTz value);
extern void fingerprint_end(RequestFingerprint *fp, uint8 *digest);

#endif							/* WRITE_PATH_H */
