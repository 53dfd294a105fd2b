/*-------------------------------------------------------------------------
 *
 * sealer.h
 *	  The seals: what a seal digests (seal_digest.c), the worker that cuts
 *	  them (sealer.c), and the SQL functions that wait for, report on and
 *	  verify them (seal_sql.c).  doc/seals.md specifies them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEALER_H
#define SEALER_H

#include <bson/bson.h>

#include "utils/array.h"

#include "worker.h"

/* the sealer's settings */
extern int	authlog_seal_interval_s;
extern int	authlog_max_clock_skew_s;
extern int	authlog_seal_max_events;
extern int	authlog_seal_verify_interval_s;
extern char *authlog_seal_slot_name;
extern bool authlog_seal_test_fail_anchor;

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

extern int	seal_tenant_cmp(const char *a, int a_len, const char *b, int b_len);
extern bool seal_event_digest(const bson_t *document, const char *const *key_columns,
							  uint8 *digest);
extern void seal_compute_digest(const SealContents *seal, uint8 *digest);
extern uint8 *seal_members_bytes(ArrayType *members, int *len);
extern void seal_anchor_tree(const uint8 *digests, int n, uint8 *root, uint8 *paths,
							 int *path_lens, int max_path);
extern int	seal_anchor_max_path(int size);
extern bool seal_anchor_root(const uint8 *digest, int64 index, int64 size,
							 const uint8 *path, int path_len, uint8 *root);

/* seal_members.c */
extern bool seal_members_insert(Datum tenant, int64 seal_no, const Datum *log_ids, int count);

/* sealer.c: the sealing worker */
typedef enum SealerState
{
	SEALER_STARTING,
	SEALER_SEALING,
	SEALER_PAUSED,				/* authlog.seal_interval = 0 */
	SEALER_BACKING_OFF
} SealerState;

extern const char *const sealer_state_names[];
extern const int sealer_nstates;

typedef struct SealerShared
{
	WorkerShared worker;		/* state is a SealerState */
	XLogRecPtr	requested_lsn;	/* seal_now: cut at least up to here */
	XLogRecPtr	sealed_lsn;		/* every commit before this is sealed */
	TimestampTz last_cut_at;
	uint64		seals_written;
	uint64		events_sealed;
	uint64		anchors_failed; /* NOTIFY authlog_seal that could not be sent */

	/* seal health (1.1): each tenant's last seal checked as a cut extends it */
	uint64		links_checked;
	uint64		links_broken;
	/* the last scheduled full verification (authlog.seal_verify_interval) */
	TimestampTz verified_at;	/* 0: none yet */
	uint64		verified_seals;
	uint64		verify_findings;	/* rows of verify_seals other than ok */
} SealerShared;

extern SealerShared *authlog_sealer_shared;

/* From _PG_init: the settings, and with shared_preload_libraries the worker */
extern void sealer_init(void);
extern void sealer_wake(void);

#endif							/* SEALER_H */
