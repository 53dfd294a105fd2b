/*-------------------------------------------------------------------------
 *
 * seal_digest.c
 *	  What a seal digests, defined once for the sealer and for both
 *	  verifiers (PostgreSQL's rows and the document store's copies).
 *
 *	  An event's digest is the SHA-256 of its document in the store, the
 *	  BSON the output plugin writes, in its digest form: without
 *	  retry_count (bookkeeping, not evidence), _id the document of the key
 *	  columns, nested "_id" keys as 1.0 wrote them.  The same bytes come
 *	  from the decoded insert and from the row in the table, both built in
 *	  that form (row_bson.c, ROW_DOCUMENT_DIGEST) and hashed as they are, and
 *	  from the store's copy, brought to it by bson_rules_digest_form; so each
 *	  copy is checked against the seal on its own.
 *
 *	  A seal's digest is the SHA-256 of
 *
 *		"authlog-seal-v1\n"
 *		<bytes of tenant_id>:<tenant_id>\n
 *		<seal_no>\n <seal_id>\n <sealed_at>\n
 *		<first_commit_lsn>\n <last_commit_lsn>\n
 *		<first_committed_at>\n <last_committed_at>\n <event_count>\n
 *		previous digest (32 zero bytes for seal 1)
 *		members (16 bytes each) and member digests (32 bytes each)
 *
 *	  numbers in decimal, times in microseconds since 1970-01-01 UTC, LSNs
 *	  as PostgreSQL prints them, the uuid as text: an auditor recomputes it
 *	  with sha256() in SQL or any tool (doc/seals.md, "The digests").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "bson_rules.h"
#include "change_message.h"
#include "documents.h"
#include "sealer.h"
#include "sha256.h"

PG_FUNCTION_INFO_V1(authlog_event_digest);
PG_FUNCTION_INFO_V1(authlog_access_digest);
PG_FUNCTION_INFO_V1(authlog_records_digest);
PG_FUNCTION_INFO_V1(authlog_seal_digest);
PG_FUNCTION_INFO_V1(authlog_anchor_root);

static const uint8 no_previous_digest[SEAL_DIGEST_LEN] = {0};

/* SHA-256 of bytes, in a transaction (OpenSSL's cryptohash needs a resource owner) */
static void
sha256_update_or_fail(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (len > 0 && pg_cryptohash_update(ctx, data, len) < 0)
		elog(ERROR, "authlog: could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

static pg_cryptohash_ctx *
sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "authlog: could not initialise SHA-256");
	return ctx;
}

static void
sha256_end(pg_cryptohash_ctx *ctx, uint8 *digest)
{
	if (pg_cryptohash_final(ctx, digest, SEAL_DIGEST_LEN) < 0)
		elog(ERROR, "authlog: could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/* A BsonRulesWrite gathering the digest form, which is hashed in one call */
static void
gather_write(void *arg, const uint8_t *bytes, size_t len)
{
	appendBinaryStringInfo((StringInfo) arg, (const char *) bytes, len);
}

/*
 * The digest of an event's document (the whole document, _id first, as the
 * store holds it) in its digest form (bson_rules_digest_form): _id as the
 * document of the key columns (1.0's _id; since 1.1's library the store's
 * _id is a scalar made of them, so the digest needs no new version and
 * every seal verifies against either), retry_count left out, nested
 * "%5Fid" keys written as 1.0 wrote them.  False when the document cannot
 * be read or lacks a key column (a store's copy may be anything).
 */
bool
seal_event_digest(const bson_t *document, const char *const *key_columns, uint8 *digest)
{
	bson_t		scratch;
	StringInfoData form;
	volatile bool ok;

	/*
	 * The form is gathered as runs of the document's own bytes, with only
	 * its _id (and any element holding a nested "%5Fid") written again
	 * (libbson building a copy element by element cost more than the
	 * hash: callgrind), and hashed in one call (sha256.c).
	 */
	bson_init(&scratch);
	initStringInfo(&form);
	PG_TRY();
	{
		ok = bson_rules_digest_form_write(document, SEAL_DIGEST_LEFT_OUT, key_columns, &scratch,
										  gather_write, &form);
	}
	PG_FINALLY();
	{
		bson_destroy(&scratch);
	}
	PG_END_TRY();
	if (ok)
		authlog_sha256(form.data, form.len, digest);
	pfree(form.data);
	return ok;
}

void
seal_compute_digest(const SealContents *seal, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = sha256_begin();
	pg_uuid_t	id;
	char	   *seal_id;
	char	   *header;

	memcpy(id.data, seal->seal_id, UUID_LEN);
	seal_id = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&id)));
	header = psprintf("authlog-seal-v1\n%d:%.*s\n" INT64_FORMAT "\n%s\n" INT64_FORMAT "\n"
					  "%X/%X\n%X/%X\n" INT64_FORMAT "\n" INT64_FORMAT "\n%d\n",
					  seal->tenant_len, seal->tenant_len, seal->tenant_id,
					  seal->seal_no, seal_id, seal->sealed_at + UNIX_TO_POSTGRES_USECS,
					  LSN_FORMAT_ARGS(seal->first_commit_lsn),
					  LSN_FORMAT_ARGS(seal->last_commit_lsn),
					  seal->first_committed_at + UNIX_TO_POSTGRES_USECS,
					  seal->last_committed_at + UNIX_TO_POSTGRES_USECS,
					  seal->event_count);
	sha256_update_or_fail(ctx, header, strlen(header));
	if (seal->previous_digest)
		sha256_update_or_fail(ctx, seal->previous_digest, seal->previous_digest_len);
	else
		sha256_update_or_fail(ctx, no_previous_digest, SEAL_DIGEST_LEN);
	sha256_update_or_fail(ctx, seal->members, seal->members_len);
	sha256_update_or_fail(ctx, seal->member_digests, seal->member_digests_len);
	sha256_end(ctx, digest);
	pfree(header);
	pfree(seal_id);
}

/* A uuid[]'s elements, 16 bytes each, in order (NULL elements as zeros). */
uint8 *
seal_members_bytes(ArrayType *members, int *len)
{
	Datum	   *elements;
	bool	   *nulls;
	int			count;
	int			i;
	uint8	   *bytes;

	deconstruct_array(members, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &elements, &nulls, &count);
	bytes = palloc0((Size) count * UUID_LEN + 1);
	for (i = 0; i < count; i++)
		if (!nulls[i])
			memcpy(bytes + (Size) i * UUID_LEN, DatumGetUUIDP(elements[i])->data, UUID_LEN);
	*len = count * UUID_LEN;
	return bytes;
}

/* Order of two tenant ids given as bytes and lengths (not NUL-terminated) */
int
seal_tenant_cmp(const char *a, int a_len, const char *b, int b_len)
{
	int			cmp = memcmp(a, b, Min(a_len, b_len));

	return cmp != 0 ? cmp : (a_len > b_len) - (a_len < b_len);
}

/*
 * authlog.event_digest(auth_logs), (1.1) authlog.access_digest(access_log) and
 * authlog.records_digest(records_log):
 * the row built into its document in the digest form, the way the
 * sealer's stream (option document 'digest') builds it, digested.  The
 * store's copies are digested through bson_rules_digest_form instead
 * (seal_event_digest), so verify_store_seals checks the two against each
 * other on every event it finds.
 */
static Datum
row_digest(HeapTupleHeader row, ChangeTable table)
{
	TupleDesc	desc;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *nulls;
	bson_t	   *document;
	uint8		digest[SEAL_DIGEST_LEN];

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(&tuple, desc, values, nulls);

	document = row_bson_new_owned(CurrentMemoryContext);
	row_bson_append_row_fields(document, desc, values, nulls, change_table_key_columns(table),
							   NULL, NULL, ROW_DOCUMENT_DIGEST);
	ReleaseTupleDesc(desc);
	authlog_sha256(bson_get_data(document), document->len, digest);
	return bytes_to_bytea_datum(digest, SEAL_DIGEST_LEN);
}

Datum
authlog_event_digest(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(row_digest(PG_GETARG_HEAPTUPLEHEADER(0), CHANGE_TABLE_AUTH_LOGS));
}

Datum
authlog_access_digest(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(row_digest(PG_GETARG_HEAPTUPLEHEADER(0), CHANGE_TABLE_ACCESS_LOG));
}

/* (1.1) authlog.records_digest(records_log): retention settings, holds, retirements */
Datum
authlog_records_digest(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(row_digest(PG_GETARG_HEAPTUPLEHEADER(0), CHANGE_TABLE_RECORDS_LOG));
}

static Datum
required_seal_column(HeapTupleHeader row, const char *column)
{
	bool		isnull;
	Datum		value = GetAttributeByName(row, column, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a seal's %s must not be null", column)));
	return value;
}

/* authlog.seal_digest(seals): the digest the row's other columns call for. */
Datum
authlog_seal_digest(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	SealContents seal;
	text	   *tenant = DatumGetTextPP(required_seal_column(row, "tenant_id"));
	bytea	   *member_digests = DatumGetByteaPP(required_seal_column(row, "member_digests"));
	bool		isnull;
	Datum		previous;
	uint8		digest[SEAL_DIGEST_LEN];

	memset(&seal, 0, sizeof(seal));
	seal.tenant_id = VARDATA_ANY(tenant);
	seal.tenant_len = VARSIZE_ANY_EXHDR(tenant);
	seal.seal_no = DatumGetInt64(required_seal_column(row, "seal_no"));
	memcpy(seal.seal_id, DatumGetUUIDP(required_seal_column(row, "seal_id"))->data, UUID_LEN);
	seal.sealed_at = DatumGetTimestampTz(required_seal_column(row, "sealed_at"));
	seal.first_commit_lsn = DatumGetLSN(required_seal_column(row, "first_commit_lsn"));
	seal.last_commit_lsn = DatumGetLSN(required_seal_column(row, "last_commit_lsn"));
	seal.first_committed_at = DatumGetTimestampTz(required_seal_column(row, "first_committed_at"));
	seal.last_committed_at = DatumGetTimestampTz(required_seal_column(row, "last_committed_at"));
	seal.event_count = DatumGetInt32(required_seal_column(row, "event_count"));
	seal.members = seal_members_bytes(DatumGetArrayTypeP(required_seal_column(row, "members")),
									  &seal.members_len);
	seal.member_digests = (const uint8 *) VARDATA_ANY(member_digests);
	seal.member_digests_len = VARSIZE_ANY_EXHDR(member_digests);
	previous = GetAttributeByName(row, "previous_digest", &isnull);
	if (!isnull)
	{
		bytea	   *p = DatumGetByteaPP(previous);

		seal.previous_digest = (const uint8 *) VARDATA_ANY(p);
		seal.previous_digest_len = VARSIZE_ANY_EXHDR(p);
	}
	seal_compute_digest(&seal, digest);
	PG_RETURN_DATUM(bytes_to_bytea_datum(digest, SEAL_DIGEST_LEN));
}


/* ---------- anchors: an RFC 6962 Merkle tree over a cut's seal digests ---------- */

/* SHA-256(prefix || a || b), b optional: RFC 6962's leaf (0x00) and node (0x01) hashes */
static void
anchor_hash(uint8 prefix, const uint8 *a, const uint8 *b, uint8 *out)
{
	pg_cryptohash_ctx *ctx = sha256_begin();

	sha256_update_or_fail(ctx, &prefix, 1);
	sha256_update_or_fail(ctx, a, SEAL_DIGEST_LEN);
	if (b)
		sha256_update_or_fail(ctx, b, SEAL_DIGEST_LEN);
	sha256_end(ctx, out);
}

/* The largest power of two smaller than n (n > 1) */
static int
anchor_split(int n)
{
	int			k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/*
 * MTH(D[lo:hi]) into out; appends, to the audit path of every leaf in the
 * range, the sibling subtree hashes below it, deepest first.
 */
static void
anchor_subtree(const uint8 *digests, int lo, int hi, uint8 *paths, int *path_lens,
			   int max_path, uint8 *out)
{
	uint8		left[SEAL_DIGEST_LEN];
	uint8		right[SEAL_DIGEST_LEN];
	int			k;
	int			i;

	if (hi - lo == 1)
	{
		anchor_hash(0x00, digests + (Size) lo * SEAL_DIGEST_LEN, NULL, out);
		return;
	}
	k = anchor_split(hi - lo);
	anchor_subtree(digests, lo, lo + k, paths, path_lens, max_path, left);
	anchor_subtree(digests, lo + k, hi, paths, path_lens, max_path, right);
	for (i = lo; i < hi; i++)
	{
		uint8	   *slot = paths + ((Size) i * max_path + path_lens[i]) * SEAL_DIGEST_LEN;

		memcpy(slot, i < lo + k ? right : left, SEAL_DIGEST_LEN);
		path_lens[i]++;
	}
	anchor_hash(0x01, left, right, out);
}

/*
 * The anchor of a cut: the RFC 6962 Merkle tree hash over its n seal
 * digests (n >= 1, in the order the cut wrote them) into root, and each
 * seal's audit path: paths holds n rows of max_path hashes (max_path at
 * least ceil(log2 n)), path_lens the hashes each row uses.
 */
void
seal_anchor_tree(const uint8 *digests, int n, uint8 *root, uint8 *paths,
				 int *path_lens, int max_path)
{
	Assert(n >= 1);
	memset(path_lens, 0, sizeof(int) * n);
	anchor_subtree(digests, 0, n, paths, path_lens, max_path, root);
}

/* Hashes an audit path of a tree of size leaves needs at most */
int
seal_anchor_max_path(int size)
{
	int			depth = 0;

	while ((1 << depth) < size)
		depth++;
	return depth;
}

/*
 * The root an audit path leads to from a seal's digest, at leaf index of a
 * tree of size leaves (RFC 9162, 2.1.3.2).  False when the path cannot be
 * one: wrong length, index out of range.
 */
bool
seal_anchor_root(const uint8 *digest, int64 index, int64 size, const uint8 *path,
				 int path_len, uint8 *root)
{
	uint64		fn = (uint64) index;
	uint64		sn;
	uint8		r[SEAL_DIGEST_LEN];
	int			i;

	if (index < 0 || size <= 0 || index >= size || path_len % SEAL_DIGEST_LEN != 0)
		return false;
	sn = (uint64) size - 1;
	anchor_hash(0x00, digest, NULL, r);
	for (i = 0; i < path_len / SEAL_DIGEST_LEN; i++)
	{
		const uint8 *p = path + (Size) i * SEAL_DIGEST_LEN;

		if (sn == 0)
			return false;
		if ((fn & 1) == 1 || fn == sn)
		{
			anchor_hash(0x01, p, r, r);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0)
				{
					fn >>= 1;
					sn >>= 1;
				}
		}
		else
			anchor_hash(0x01, r, p, r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return false;
	memcpy(root, r, SEAL_DIGEST_LEN);
	return true;
}

/*
 * authlog.anchor_root(digest, anchor_index, anchor_size, anchor_path): the
 * root a seal's audit path leads to; NULL when it cannot be a path.
 */
Datum
authlog_anchor_root(PG_FUNCTION_ARGS)
{
	bytea	   *digest = PG_GETARG_BYTEA_PP(0);
	int32		index = PG_GETARG_INT32(1);
	int32		size = PG_GETARG_INT32(2);
	bytea	   *path = PG_GETARG_BYTEA_PP(3);
	uint8		root[SEAL_DIGEST_LEN];

	if (VARSIZE_ANY_EXHDR(digest) != SEAL_DIGEST_LEN ||
		!seal_anchor_root((const uint8 *) VARDATA_ANY(digest), index, size,
						  (const uint8 *) VARDATA_ANY(path), VARSIZE_ANY_EXHDR(path), root))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(bytes_to_bytea_datum(root, SEAL_DIGEST_LEN));
}
