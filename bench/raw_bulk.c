/*
 * raw_bulk: the baseline of the mirror benchmark.  Reads documents (one
 * hex-encoded BSON change message per line, as the authlog plugin emits
 * them) and writes their "doc" to a collection with plain libmongoc ordered
 * bulks, in chunks of the same sizes the mirror uses, timing only the writes.
 *
 *   raw_bulk URI DATABASE COLLECTION insert|upsert FILE
 *
 * Prints the documents per second.  Benchmark tooling, not part of the
 * extension.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mongoc/mongoc.h>

static int
hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int
main(int argc, char **argv)
{
	mongoc_client_t *client;
	mongoc_collection_t *collection;
	FILE	   *in;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	bson_t	  **docs = NULL;
	size_t		ndocs = 0, allocated = 0, i;
	int			upsert;
	size_t		chunk;
	struct timespec t0, t1;
	bson_error_t error;

	if (argc != 6)
	{
		fprintf(stderr, "usage: raw_bulk URI DATABASE COLLECTION insert|upsert FILE\n");
		return 2;
	}
	upsert = strcmp(argv[4], "upsert") == 0;
	chunk = upsert ? 50 : 1000;		/* the mirror's bulk sizes */
	in = fopen(argv[5], "r");
	if (in == NULL)
	{
		perror(argv[5]);
		return 1;
	}
	while ((len = getline(&line, &cap, in)) > 1)
	{
		size_t		n = (size_t) (len - 1) / 2;
		uint8_t    *bytes = malloc(n);
		bson_t		message;
		bson_iter_t iter;

		for (i = 0; i < n; i++)
			bytes[i] = (uint8_t) (hexval(line[2 * i]) * 16 + hexval(line[2 * i + 1]));
		if (!bson_init_static(&message, bytes, n) ||
			!bson_iter_init_find(&iter, &message, "doc") || !BSON_ITER_HOLDS_DOCUMENT(&iter))
			continue;
		{
			const uint8_t *data;
			uint32_t	dlen;

			bson_iter_document(&iter, &dlen, &data);
			if (ndocs == allocated)
			{
				allocated = allocated ? allocated * 2 : 1024;
				docs = realloc(docs, allocated * sizeof(bson_t *));
			}
			docs[ndocs++] = bson_new_from_data(data, dlen);
		}
		free(bytes);
	}
	fclose(in);
	free(line);

	mongoc_init();
	mongoc_log_set_handler(NULL, NULL);	/* FerretDB lacks endSessions: libmongoc warns at exit */
	client = mongoc_client_new(argv[1]);
	if (client == NULL)
		return 1;
	collection = mongoc_client_get_collection(client, argv[2], argv[3]);
	{
		static const char *const fields[] = {"user_id", "ip_address", "event_type"};
		mongoc_database_t *database = mongoc_client_get_database(client, argv[2]);

		for (i = 0; i < 3; i++)
		{
			bson_t	   *command = BCON_NEW("createIndexes", BCON_UTF8(argv[3]),
										   "indexes", "[", "{", "key", "{",
										   "tenant_id", BCON_INT32(1), fields[i], BCON_INT32(1),
										   "occurred_at", BCON_INT32(1), "}",
										   "name", BCON_UTF8(fields[i]), "}", "]");
			bson_t		reply;

			if (!mongoc_database_write_command_with_opts(database, command, NULL, &reply, &error))
			{
				fprintf(stderr, "raw_bulk: %s\n", error.message);
				return 1;
			}
			bson_destroy(&reply);
			bson_destroy(command);
		}
		mongoc_database_destroy(database);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ndocs; i += chunk)
	{
		bson_t		opts = BSON_INITIALIZER;
		bson_t		reply;
		mongoc_bulk_operation_t *bulk;
		size_t		j;

		BSON_APPEND_BOOL(&opts, "ordered", true);
		bulk = mongoc_collection_create_bulk_operation_with_opts(collection, &opts);
		for (j = i; j < ndocs && j < i + chunk; j++)
		{
			if (upsert)
			{
				bson_t		selector = BSON_INITIALIZER;
				bson_t		uopts = BSON_INITIALIZER;
				bson_iter_t id;

				if (bson_iter_init_find(&id, docs[j], "_id"))
					bson_append_iter(&selector, "_id", -1, &id);
				BSON_APPEND_BOOL(&uopts, "upsert", true);
				mongoc_bulk_operation_replace_one_with_opts(bulk, &selector, docs[j], &uopts, NULL);
				bson_destroy(&selector);
				bson_destroy(&uopts);
			}
			else
				mongoc_bulk_operation_insert_with_opts(bulk, docs[j], NULL, NULL);
		}
		if (!mongoc_bulk_operation_execute(bulk, &reply, &error))
		{
			fprintf(stderr, "raw_bulk: %s\n", error.message);
			return 1;
		}
		bson_destroy(&reply);
		bson_destroy(&opts);
		mongoc_bulk_operation_destroy(bulk);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ndocs / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	for (i = 0; i < ndocs; i++)
		bson_destroy(docs[i]);
	free(docs);
	mongoc_collection_destroy(collection);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return 0;
}
