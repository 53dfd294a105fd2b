/*-------------------------------------------------------------------------
 *
 * slot_stream.c
 *	  A worker's logical slot read as a stream: one decoding context, kept
 *	  for as long as the worker streams, as the walsender keeps one for a
 *	  subscriber (logicalfuncs.c's loop, without its start and end).
 *
 *	  pg_logical_slot_peek_binary_changes starts a new decoding context at
 *	  the slot's restart point on every call, so each batch decoded again
 *	  what earlier batches had decoded: the restart point moves only where
 *	  decoding saw a running-transactions record, up to 15 s of WAL behind
 *	  under load.  Here each record is decoded once; the slot's confirmed
 *	  position moves only when the worker says what the store (or the cut)
 *	  has taken, and a failure closes the stream, so the next one starts
 *	  from the slot again: nothing acknowledged is skipped, nothing
 *	  unacknowledged is lost.
 *
 *	  Decoding runs in-process, in the worker, rather than in a walsender
 *	  the worker would connect to (as PostgreSQL's apply worker does): the
 *	  worker applies each batch before it reads the next, so a walsender's
 *	  decoding would overlap the store's writes only by its socket's
 *	  buffer, for the cost of a replication connection, its protocol and a
 *	  second process per worker (doc/performance.md).
 *
 *	  The stream holds the slot for as long as it is open: nobody else can
 *	  read (or drop) it meanwhile.  It is opened in a transaction, which
 *	  keeps the worker's own snapshots counted in the xmin horizon (a
 *	  decoding context made outside one marks the process as a walsender's,
 *	  whose xmin the slot alone holds), and read in one: each change
 *	  replayed in a subtransaction, as the SQL functions do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/slot.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "worker.h"

static void
stream_prepare_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid,
					 bool last_write)
{
	resetStringInfo(ctx->out);
}

static void
stream_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid,
			 bool last_write)
{
	SlotStream *stream = ctx->output_writer_private;

	stream->write(stream->write_arg, ctx->out->data, ctx->out->len);
	stream->messages++;
}

/*
 * Open the stream: acquire the slot (an ERROR if another process holds it)
 * and make its decoding context, to start at the slot's restart point and
 * output what committed after its confirmed position.  options: pairs of
 * the output plugin's option names and values, NULL-terminated.  In a
 * transaction.
 */
void
slot_stream_open(SlotStream *stream, const char *slot_name, const char *const *options)
{
	MemoryContext old;
	List	   *plugin_options = NIL;
	const char *const *option;

	Assert(IsTransactionState() && stream->ctx == NULL);
	if (stream->context == NULL)
		stream->context = AllocSetContextCreate(TopMemoryContext, "authlog slot stream",
												ALLOCSET_SMALL_SIZES);
	MemoryContextReset(stream->context);

	/* the name and options, in the stream's memory: they outlive this transaction */
	old = MemoryContextSwitchTo(stream->context);
	stream->slot_name = pstrdup(slot_name);
	for (option = options; option != NULL && option[0] != NULL; option += 2)
		plugin_options = lappend(plugin_options,
								 makeDefElem(pstrdup(option[0]),
											 (Node *) makeString(pstrdup(option[1])), -1));
	MemoryContextSwitchTo(old);

	CheckLogicalDecodingRequirements();
	ReplicationSlotAcquire(slot_name, true);
	PG_TRY();
	{
		old = MemoryContextSwitchTo(stream->context);
		/* the context lives in stream->context, past this transaction */
		stream->ctx = CreateDecodingContext(InvalidXLogRecPtr, plugin_options, false,
											XL_ROUTINE(.page_read = read_local_xlog_page,
													   .segment_open = wal_segment_open,
													   .segment_close = wal_segment_close),
											stream_prepare_write, stream_write, NULL);
		MemoryContextSwitchTo(old);
		stream->ctx->output_writer_private = stream;
		XLogBeginRead(stream->ctx->reader, MyReplicationSlot->data.restart_lsn);
	}
	PG_CATCH();
	{
		stream->ctx = NULL;
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		PG_RE_THROW();
	}
	PG_END_TRY();
}

bool
slot_stream_is_open(const SlotStream *stream)
{
	return stream->ctx != NULL;
}

/*
 * Decode on from where the stream is, up to the WAL flushed now (or upto,
 * if valid and earlier), stopping after the transaction that brings the
 * messages written to max_messages (0: no limit).  write(write_arg, data,
 * len) gets each message.  Returns the number of messages.  In a
 * transaction; after an ERROR the caller closes the stream.
 */
int
slot_stream_read(SlotStream *stream, XLogRecPtr upto, int max_messages,
				 SlotStreamWrite write, void *write_arg)
{
	LogicalDecodingContext *ctx = stream->ctx;
	XLogRecPtr	end_of_wal = GetFlushRecPtr(NULL);
	MemoryContext old;

	Assert(ctx != NULL && IsTransactionState());
	if (!XLogRecPtrIsInvalid(upto) && upto < end_of_wal)
		end_of_wal = upto;
	stream->write = write;
	stream->write_arg = write_arg;
	stream->messages = 0;

	/* the worker's own transactions cached today's catalog: decoding needs the past's */
	InvalidateSystemCaches();

	/*
	 * The WAL reader keeps its buffers in the memory current when it reads
	 * (a record longer than its buffer gets a new one there): they must
	 * outlive this transaction, as a walsender's outlive each message.  So
	 * that memory is made current before each read: decoding a transaction
	 * runs it in a subtransaction of this one, and may come back in
	 * another context; a large record read there (a commit with many
	 * invalidations, from DDL) left the reader a buffer that the end of
	 * this transaction freed, and the next record spanning pages was copied
	 * into freed memory (test/t/280, 220).
	 */
	old = CurrentMemoryContext;
	while (ctx->reader->EndRecPtr < end_of_wal)
	{
		XLogRecord *record;
		char	   *errm = NULL;

		MemoryContextSwitchTo(stream->context);
		record = XLogReadRecord(ctx->reader, &errm);
		if (errm)
			elog(ERROR, "authlog: could not read WAL for slot \"%s\": %s", stream->slot_name, errm);
		if (record != NULL)
			LogicalDecodingProcessRecord(ctx, ctx->reader);
		if (max_messages > 0 && stream->messages >= max_messages)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextSwitchTo(old);
	InvalidateSystemCaches();
	stream->write = NULL;
	stream->write_arg = NULL;
	return stream->messages;
}

/* How far the stream has decoded: every commit before it was written out */
XLogRecPtr
slot_stream_decoded_upto(const SlotStream *stream)
{
	Assert(stream->ctx != NULL);
	return stream->ctx->reader->EndRecPtr;
}

/*
 * Confirm that everything committed before lsn is taken: the slot's
 * confirmed position moves there (its restart point too, where decoding
 * allows), so WAL before it can go.  Saved at the next checkpoint, or at
 * once when the restart point moved: after a crash the stream starts from
 * the last position saved, and what it replays is applied again
 * harmlessly.
 */
void
slot_stream_confirm(SlotStream *stream, XLogRecPtr lsn)
{
	Assert(stream->ctx != NULL && MyReplicationSlot != NULL);
	if (XLogRecPtrIsInvalid(lsn) || lsn <= MyReplicationSlot->data.confirmed_flush)
		return;
	LogicalConfirmReceivedLocation(lsn);
	ReplicationSlotMarkDirty();
}

/*
 * Close the stream, releasing the slot; a no-op when it is not open.  After
 * a failed read too: its decoding state is dropped, and the next stream
 * starts from the slot's restart point again.
 */
void
slot_stream_close(SlotStream *stream)
{
	if (stream->ctx != NULL)
	{
		LogicalDecodingContext *ctx = stream->ctx;

		stream->ctx = NULL;
		FreeDecodingContext(ctx);
	}
	if (MyReplicationSlot != NULL)
		ReplicationSlotRelease();
	if (stream->context != NULL)
		MemoryContextReset(stream->context);
}
