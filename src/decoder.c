/*-------------------------------------------------------------------------
 *
 * decoder.c
 *	  The logical decoding output plugin "authlog": committed changes of
 *	  authlog's data tables, one BSON change message per row change.
 *
 *	  Each message is written as soon as it is built, so memory does not
 *	  grow with the transaction (PostgreSQL spills large transactions past
 *	  logical_decoding_work_mem; this file keeps no per-transaction state).
 *	  Value conversion lives in row_bson.c; applying messages to the store
 *	  is the mirror's job, not this file's.
 *
 *	  The message itself is change_message.c's: this file says which
 *	  changes become messages and writes them out.
 *
 *	  Options tables and operations narrow what is decoded: the sealer
 *	  reads only inserts into auth_logs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/varlena.h"

#include "change_message.h"

typedef struct DecoderState
{
	MemoryContext change_context;	/* reset after every message */
	bool		json;			/* format=json: canonical Extended JSON text */
	bool		include_transaction;
	bool		begin_pending;	/* begin marker not yet written for this txn */
	bool		txn_has_changes;
	bson_t		message;		/* reused, so its buffer is allocated once */
	Oid			last_namespace; /* one-entry cache of "is this authlog?" */
	bool		last_namespace_is_authlog;
	Oid			last_partition; /* (1.1) one-entry cache of a partition's table */
	ChangeTable last_partition_table;
	bool		table_wanted[CHANGE_TABLES];	/* option tables */
	bool		operation_wanted[4];	/* option operations, by DecodedOperation */
	RowDocumentForm form;		/* option document: store or digest */
} DecoderState;

/* The operations the option "operations" names, in this order */
typedef enum DecodedOperation
{
	DECODED_INSERT,
	DECODED_UPDATE,
	DECODED_DELETE,
	DECODED_TRUNCATE
} DecodedOperation;

static const char *const operation_names[] = {"insert", "update", "delete", "truncate"};

void		_PG_output_plugin_init(OutputPluginCallbacks *cb);

/* The relation's table, when it is one of authlog's the options ask for */
static ChangeTable
relation_table(DecoderState *state, Relation rel)
{
	Oid			namespace = RelationGetNamespace(rel);
	ChangeTable table;

	if (namespace != state->last_namespace)
	{
		char	   *name = get_namespace_name(namespace);

		state->last_namespace = namespace;
		state->last_namespace_is_authlog = name != NULL && strcmp(name, AUTHLOG_SCHEMA) == 0;
	}
	if (!state->last_namespace_is_authlog)
		return CHANGE_TABLE_NONE;
	if (rel->rd_rel->relispartition)
	{
		/* (1.1) a partition's changes are its table's; its catalog lookup once */
		if (RelationGetRelid(rel) != state->last_partition)
		{
			state->last_partition_table = change_table_lookup(change_relation_table_name(rel));
			state->last_partition = RelationGetRelid(rel);
		}
		table = state->last_partition_table;
	}
	else
		table = change_table_lookup(RelationGetRelationName(rel));
	if (table == CHANGE_TABLE_NONE || !state->table_wanted[table])
		return CHANGE_TABLE_NONE;
	return table;
}

/*
 * A comma-separated option naming some of the choices: sets wanted[i] for
 * each named, the others false.  Unknown or missing names are errors.
 */
static void
parse_list_option(DefElem *option, const char *const *choices, int nchoices,
				  const char *choices_text, bool *wanted)
{
	char	   *list = option->arg ? pstrdup(strVal(option->arg)) : pstrdup("");
	List	   *names;
	ListCell   *lc;

	memset(wanted, 0, sizeof(bool) * nchoices);
	if (!SplitIdentifierString(list, ',', &names) || names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value \"%s\" for option \"%s\"",
						option->arg ? strVal(option->arg) : "", option->defname),
				 errhint("Give a comma-separated list.")));
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		int			i;

		for (i = 0; i < nchoices; i++)
			if (strcmp(name, choices[i]) == 0)
				break;
		if (i == nchoices)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" names \"%s\", which is not one of its choices",
							option->defname, name),
					 errhint("The choices are %s.", choices_text)));
		wanted[i] = true;
	}
}

static void
destroy_message_callback(void *arg)
{
	bson_destroy(&((DecoderState *) arg)->message);
}

static bool
parse_bool_option(DefElem *option)
{
	bool		value;

	if (option->arg == NULL)
		return true;
	if (!parse_bool(strVal(option->arg), &value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for option \"%s\"",
						strVal(option->arg), option->defname),
				 errhint("Use true or false.")));
	return value;
}

/*
 * An option that is one of two words: true for the second (format json,
 * document digest), false for the first.  Given at most once.
 */
static bool
parse_word_option(DefElem *option, bool *seen, const char *first, const char *second,
				  const char *hint)
{
	const char *word = option->arg ? strVal(option->arg) : "";

	if (*seen)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("option \"%s\" is given more than once", option->defname)));
	*seen = true;
	if (strcmp(word, first) != 0 && strcmp(word, second) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value \"%s\" for option \"%s\"", word, option->defname),
				 errhint("%s", hint)));
	return strcmp(word, second) == 0;
}

/*
 * The plugin's options, as pgoutput's parse_output_parameters reads its
 * own: each at most once, each value checked, every message naming the
 * option.
 */
static void
parse_output_parameters(List *options, DecoderState *state)
{
	ListCell   *lc;
	bool		seen_format = false;
	bool		seen_include_transaction = false;
	bool		seen_tables = false;
	bool		seen_operations = false;
	bool		seen_document = false;

	foreach(lc, options)
	{
		DefElem    *option = lfirst(lc);

		if (strcmp(option->defname, "format") == 0)
			state->json = parse_word_option(option, &seen_format, "bson", "json",
											"Use bson (binary, the default) or json (canonical Extended JSON text).");
		else if (strcmp(option->defname, "include_transaction") == 0)
		{
			if (seen_include_transaction)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("option \"%s\" is given more than once", option->defname)));
			seen_include_transaction = true;
			state->include_transaction = parse_bool_option(option);
		}
		else if (strcmp(option->defname, "document") == 0)
			state->form = parse_word_option(option, &seen_document, "store", "digest",
											"Use store (the store's document, the default) or digest (the form a seal digests).")
				? ROW_DOCUMENT_DIGEST : ROW_DOCUMENT_STORE;
		else if (strcmp(option->defname, "tables") == 0 ||
				 strcmp(option->defname, "operations") == 0)
		{
			bool		tables = strcmp(option->defname, "tables") == 0;
			bool	   *seen = tables ? &seen_tables : &seen_operations;

			if (*seen)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("option \"%s\" is given more than once", option->defname)));
			*seen = true;
			if (tables)
				parse_list_option(option, change_table_names, CHANGE_TABLES,
								  "auth_logs, account_lockouts, seals, access_log and records_log", state->table_wanted);
			else
				parse_list_option(option, operation_names, lengthof(operation_names),
								  "insert, update, delete and truncate", state->operation_wanted);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" is unknown to the authlog output plugin",
							option->defname),
					 errhint("The options are format (bson or json), include_transaction (true or false), tables and operations (comma-separated lists), and document (store or digest).")));
	}
}

static void
decoder_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
				bool is_init)
{
	DecoderState *state = MemoryContextAllocZero(ctx->context, sizeof(DecoderState));
	MemoryContextCallback *callback;

	state->change_context = AllocSetContextCreate(ctx->context,
												  "authlog change message",
												  ALLOCSET_DEFAULT_SIZES);
	state->last_namespace = InvalidOid;
	memset(state->table_wanted, true, sizeof(state->table_wanted));
	memset(state->operation_wanted, true, sizeof(state->operation_wanted));
	bson_init(&state->message);
	callback = MemoryContextAlloc(ctx->context, sizeof(MemoryContextCallback));
	callback->func = destroy_message_callback;
	callback->arg = state;
	MemoryContextRegisterResetCallback(ctx->context, callback);
	ctx->output_plugin_private = state;

	parse_output_parameters(ctx->output_plugin_options, state);

	opt->output_type = state->json ? OUTPUT_PLUGIN_TEXTUAL_OUTPUT
		: OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;
}

static void
decoder_shutdown(LogicalDecodingContext *ctx)
{
	/* the message is freed with ctx->context, by destroy_message_callback */
}

/* The message as canonical Extended JSON text, for format=json. */
static void
append_message_json(StringInfo out, const bson_t *message)
{
	size_t		len;
	char	   *json = bson_as_canonical_extended_json(message, &len);

	if (json == NULL)
		elog(ERROR, "authlog: could not convert a change message to JSON");
	PG_TRY();
	{
		appendBinaryStringInfo(out, json, len);
	}
	PG_FINALLY();
	{
		bson_free(json);
	}
	PG_END_TRY();
}

/* Write the message built in state->message. */
static void
write_message(LogicalDecodingContext *ctx, DecoderState *state)
{
	OutputPluginPrepareWrite(ctx, true);
	if (state->json)
		append_message_json(ctx->out, &state->message);
	else
		appendBinaryStringInfo(ctx->out, (const char *) bson_get_data(&state->message),
							   state->message.len);
	OutputPluginWrite(ctx, true);
}

static void
transaction_fields(ReorderBufferTXN *txn, ChangeTransaction *fields)
{
	fields->xid = txn->xid;
	fields->commit_lsn = txn->final_lsn;
	fields->end_lsn = txn->end_lsn;
	fields->has_commit_time = true;
	fields->commit_time = txn->xact_time.commit_time;
}

/* Start state->message in the change context; write it with finish_message. */
static MemoryContext
start_message(DecoderState *state, ReorderBufferTXN *txn, ChangeOp op, ChangeTable table)
{
	MemoryContext old = MemoryContextSwitchTo(state->change_context);
	ChangeTransaction fields;

	transaction_fields(txn, &fields);
	bson_reinit(&state->message);
	change_message_start(&state->message, op, table, &fields);
	return old;
}

static void
finish_message(LogicalDecodingContext *ctx, DecoderState *state, MemoryContext old)
{
	write_message(ctx, state);
	MemoryContextSwitchTo(old);
	MemoryContextReset(state->change_context);
}

static void
write_transaction_marker(LogicalDecodingContext *ctx, DecoderState *state,
						 ReorderBufferTXN *txn, ChangeOp op)
{
	finish_message(ctx, state, start_message(state, txn, op, CHANGE_TABLE_NONE));
}

static void
decoder_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	DecoderState *state = ctx->output_plugin_private;

	/* markers only for transactions that change authlog's tables */
	state->begin_pending = state->include_transaction;
	state->txn_has_changes = false;
}

static void
decoder_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   XLogRecPtr commit_lsn)
{
	DecoderState *state = ctx->output_plugin_private;

	if (state->include_transaction && state->txn_has_changes)
		write_transaction_marker(ctx, state, txn, CHANGE_COMMIT);
}

static void
note_change(LogicalDecodingContext *ctx, DecoderState *state, ReorderBufferTXN *txn)
{
	if (state->begin_pending)
	{
		state->begin_pending = false;
		write_transaction_marker(ctx, state, txn, CHANGE_BEGIN);
	}
	state->txn_has_changes = true;
}

static void
decoder_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   Relation relation, ReorderBufferChange *change)
{
	DecoderState *state = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(relation);
	ChangeTable table = relation_table(state, relation);
	HeapTuple	row;
	HeapTuple	key_row;
	ChangeOp	op;
	DecodedOperation operation;
	MemoryContext old;
	Datum	   *values;
	bool	   *nulls;
	RowStoreId	id;

	if (table == CHANGE_TABLE_NONE)
		return;
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			op = CHANGE_INSERT;
			operation = DECODED_INSERT;
			row = change->data.tp.newtuple ? &change->data.tp.newtuple->tuple : NULL;
			key_row = row;
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			op = CHANGE_UPDATE;
			operation = DECODED_UPDATE;
			row = change->data.tp.newtuple ? &change->data.tp.newtuple->tuple : NULL;
			/* the old key is logged only when the key changed */
			key_row = change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : row;
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			op = CHANGE_DELETE;
			operation = DECODED_DELETE;
			row = NULL;
			key_row = change->data.tp.oldtuple ? &change->data.tp.oldtuple->tuple : NULL;
			break;
		default:
			elog(ERROR, "authlog: unexpected change action %d", (int) change->action);
	}
	if (!state->operation_wanted[operation])
		return;
	if (key_row == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot decode a %s on \"%s\" without its key",
						operation_names[operation], RelationGetRelationName(relation)),
				 errhint("The table's replica identity must be its primary key.")));
	note_change(ctx, state, txn);

	old = start_message(state, txn, op, table);
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(key_row, desc, values, nulls);
	change_message_append_key(&state->message, table, desc, values, nulls, state->form, &id);
	if (row != NULL)
	{
		/* the document's _id is the message's, made once, unless the key changed */
		if (row != key_row)
			heap_deform_tuple(row, desc, values, nulls);
		change_message_append_row(&state->message, table, desc, values, nulls,
								  row == key_row ? &id : NULL, true, state->form);
	}
	finish_message(ctx, state, old);
}

static void
decoder_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 int nrelations, Relation relations[], ReorderBufferChange *change)
{
	DecoderState *state = ctx->output_plugin_private;
	int			i;

	if (!state->operation_wanted[DECODED_TRUNCATE])
		return;
	for (i = 0; i < nrelations; i++)
	{
		ChangeTable table = relation_table(state, relations[i]);

		if (table == CHANGE_TABLE_NONE)
			continue;
		note_change(ctx, state, txn);
		finish_message(ctx, state, start_message(state, txn, CHANGE_TRUNCATE, table));
	}
}

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = decoder_startup;
	cb->begin_cb = decoder_begin;
	cb->change_cb = decoder_change;
	cb->truncate_cb = decoder_truncate;
	cb->commit_cb = decoder_commit;
	cb->shutdown_cb = decoder_shutdown;
}
