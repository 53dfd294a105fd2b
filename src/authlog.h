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

#include "access/tupdesc.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* Microseconds between 1970-01-01 (the store's epoch) and PostgreSQL's, 2000-01-01 */
#define UNIX_TO_POSTGRES_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

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
extern char *authlog_mirror_uri;
extern char *authlog_store_credentials_file;
extern char *authlog_mirror_dbname;
extern char *authlog_mirror_database;
extern char *authlog_mirror_slot_name;
extern char *authlog_mirror_write_concern;
extern int	authlog_mirror_batch_size;
extern int	authlog_mirror_idle_advance_ms;
extern int	authlog_mirror_max_backoff_ms;
extern bool authlog_mirror_test_pause_before_advance;

/* The store's size limit for one document */
#define STORE_MAX_DOCUMENT_SIZE (16 * 1024 * 1024)

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
typedef enum UserIdMatch
{
	USER_ID_MATCH_EXACT,
	USER_ID_MATCH_CASEFOLD,
	USER_ID_MATCH_NFKC_CASEFOLD
} UserIdMatch;
extern void lockout_policy_for_tenant(text *tenant, LockoutPolicy *policy);
extern UserIdMatch tenant_user_id_match(text *tenant);

/* event_ids.c */
extern void event_id_random(pg_uuid_t *id);

/* row_bson.c */
extern void row_bson_append_datum(bson_t *out, const char *key, Oid typid,
								  Datum value, bool isnull);
extern void row_bson_append_jsonb(bson_t *out, const char *key, Jsonb *jsonb);
extern void row_bson_append_timestamptz(bson_t *out, const char *key, TimestampTz ts);
extern bson_t *row_bson_new_owned(MemoryContext context);
extern void row_bson_append_key(bson_t *out, const char *name, TupleDesc desc,
								Datum *values, bool *nulls,
								const char *const *key_columns);
extern void row_bson_append_row(bson_t *out, const char *name, TupleDesc desc,
								Datum *values, bool *nulls,
								const char *const *key_columns, List **unchanged);
extern void row_bson_append_row_fields(bson_t *doc, TupleDesc desc, Datum *values,
									   bool *nulls, const char *const *key_columns,
									   List **unchanged);

/* The schema whose tables the output plugin decodes, and those tables */
#define AUTHLOG_SCHEMA "authlog"
extern const char *const *authlog_table_key_columns(const char *relname);
extern bool authlog_table_is_evidence(const char *relname);
#define AUTHLOG_MIRRORED_TABLES 3
extern const char *const authlog_mirrored_tables[AUTHLOG_MIRRORED_TABLES];

/* mongo_sink.c */
typedef struct MongoSink MongoSink;
extern MongoSink *mongo_sink_connect(const char *uri, const char *database,
									 bson_error_t *error);
extern MongoSink *mongo_sink_connect_for_backend(void);
extern void mongo_sink_close(MongoSink *sink);
extern bool mongo_sink_error_is_transient(const bson_error_t *error);
extern bool mongo_sink_ping(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_ensure_indexes(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_apply(MongoSink *sink, bson_t *const *messages, int nmessages,
							 const bool *skip, const char *write_concern,
							 int *failed_message, int64 *documents, bson_error_t *error);
extern bool mongo_sink_empty_state_collections(MongoSink *sink, bson_error_t *error);
extern bool mongo_sink_dead_letter(MongoSink *sink, const bson_t *message,
								   const char *reason, bson_error_t *error);
extern int	mongo_sink_find(MongoSink *sink, const char *collection, const bson_t *filter,
							bson_t ***documents, bson_error_t *error);

/* mirror_sql.c: documents of the store by key */
typedef struct BsonKey
{
	const uint8 *data;
	uint32		len;
} BsonKey;

typedef struct StoreEntry
{
	BsonKey		key;			/* the document's _id */
	const bson_t *document;
	const char *reason;			/* for dead letters */
	bool		seen;
	int64		sealed_by;		/* verify_store_seals: the first seal listing it */
} StoreEntry;

extern struct HTAB *store_key_table_create(const char *name);
extern bool store_subdocument_key(const bson_t *doc, const char *field, BsonKey *key);
extern Datum bson_bytes_to_jsonb(const uint8 *data, uint32 len);
extern TimestampTz sync_deadline(const Interval *timeout);

/* mirror.c: what the worker reports, in shared memory */
typedef enum MirrorState
{
	MIRROR_STARTING,
	MIRROR_DISABLED,
	MIRROR_STREAMING,
	MIRROR_BACKING_OFF,
	MIRROR_RESYNCING,
	MIRROR_PAUSED				/* test-only: stopped before a slot advance */
} MirrorState;

typedef struct MirrorShared
{
	slock_t		mutex;
	pid_t		pid;
	Latch	   *worker_latch;	/* set by commits that wrote authlog rows */
	XLogRecPtr	wake_lsn;		/* end of the latest such commit */
	MirrorState state;
	XLogRecPtr	confirmed_lsn;	/* where the worker last advanced the slot */
	bool		caught_up;		/* the last peek found nothing pending */
	TimestampTz applied_commit_time;	/* commit time of the last applied batch */
	uint64		documents_written;
	uint64		documents_refused;
	uint64		batches;
	uint64		lockouts_notified;	/* NOTIFY authlog_lockout sent */
	uint64		notifications_failed;	/* lockouts whose NOTIFY could not be sent */
	TimestampTz last_error_at;
	char		last_error[1024];
	bool		sync_requested; /* mirror_sync waits: advance without delay */
} MirrorShared;

extern MirrorShared *authlog_mirror_shared;
extern void mirror_register(void);
extern void mirror_register_xact_callback(void);
extern void mirror_note_write(void);
extern void mirror_wake_worker(void);

/* seal_digest.c: what a seal digests */
#define SEAL_DIGEST_LEN 32

typedef struct SealContents
{
	const char *tenant_id;
	int			tenant_len;
	int64		seal_no;
	uint8		seal_id[16];
	TimestampTz sealed_at;
	XLogRecPtr	first_commit_lsn;
	XLogRecPtr	last_commit_lsn;
	TimestampTz first_committed_at;
	TimestampTz last_committed_at;
	int32		event_count;
	const uint8 *previous_digest;	/* NULL for seal 1 */
	int			previous_digest_len;
	const uint8 *members;		/* 16 bytes a member */
	int			members_len;
	const uint8 *member_digests;	/* SEAL_DIGEST_LEN bytes a member */
	int			member_digests_len;
} SealContents;

extern Datum seal_bytea_datum(const uint8 *data, Size len);
extern int	seal_tenant_cmp(const char *a, int a_len, const char *b, int b_len);
extern void seal_event_digest(const bson_t *document, uint8 *digest);
extern void seal_compute_digest(const SealContents *seal, uint8 *digest);
extern uint8 *seal_members_bytes(ArrayType *members, int *len);

/* sealer.c: the sealing worker, in shared memory */
typedef enum SealerState
{
	SEALER_STARTING,
	SEALER_SEALING,
	SEALER_PAUSED,				/* authlog.seal_interval = 0 */
	SEALER_BACKING_OFF
} SealerState;

typedef struct SealerShared
{
	slock_t		mutex;
	pid_t		pid;
	Latch	   *latch;
	SealerState state;
	XLogRecPtr	requested_lsn;	/* seal_now: cut at least up to here */
	XLogRecPtr	sealed_lsn;		/* every commit before this is sealed */
	TimestampTz last_cut_at;
	uint64		seals_written;
	uint64		events_sealed;
	TimestampTz last_error_at;
	char		last_error[1024];
} SealerShared;

#define SEALER_SLOT_NAME "authlog_seal"
extern int	authlog_seal_interval_s;
extern int	authlog_max_clock_skew_s;
extern int	authlog_seal_max_events;
extern SealerShared *authlog_sealer_shared;
extern void sealer_register(void);
extern void sealer_wake(void);

/* worker_step.c */
typedef bool (*WorkerStep) (void *arg);
extern bool worker_run_step(WorkerStep step, void *arg, char **error);

typedef struct WorkerSlot
{
	const char *name;
	bool		exists;			/* set by worker_step_check_slot */
	bool		lost;
	bool		pending;		/* a copy is pending (authlog.mirror_state) */
	XLogRecPtr	advance_to;		/* for worker_advance_slot */
} WorkerSlot;

extern bool worker_step_check_slot(void *arg);
extern bool worker_step_mark_pending(void *arg);
extern bool worker_step_create_slot(void *arg);
extern bool worker_advance_slot(const char *slot_name, XLogRecPtr target, char **error);
extern void worker_clear_pending(const char *slot_name);

/* stats.c */
extern int	authlog_stat_max_entries;
/* request_fingerprint.c */
#define REQUEST_FINGERPRINT_LEN 32
typedef struct RequestFingerprint
{
	struct pg_cryptohash_ctx *ctx;
} RequestFingerprint;
extern void fingerprint_begin(RequestFingerprint *fp, const char *function);
extern void fingerprint_add(RequestFingerprint *fp, const char *data, size_t len);
extern void fingerprint_add_absent(RequestFingerprint *fp);
extern void fingerprint_add_text(RequestFingerprint *fp, const text *value);
extern void fingerprint_add_cstring(RequestFingerprint *fp, const char *value);
extern void fingerprint_add_timestamptz(RequestFingerprint *fp, bool present, TimestampTz value);
extern void fingerprint_end(RequestFingerprint *fp, uint8 *digest);

/*
 * authlog's own SQLSTATE class LA.  LA001: a log_id already recorded was
 * sent with arguments other than those it was recorded with.
 */
#define ERRCODE_AUTHLOG_RETRY_MISMATCH MAKE_SQLSTATE('L','A','0','0','1')
/* LA002: a call named an organisation other than the account's. */
#define ERRCODE_AUTHLOG_ORGANISATION_MISMATCH MAKE_SQLSTATE('L','A','0','0','2')

/* pinned_session.c */
extern void authlog_pin_worker_session(void);
extern int	authlog_pin_settings(void);
extern void authlog_restore_settings(int nest_level);

extern void stats_register(void);
extern void stats_note_event(text *tenant_id, text *organisation_id,
							 const char *event_type);

/* record.c */
extern bool authlog_log_rewrite_allowed;

#endif							/* AUTHLOG_H */
