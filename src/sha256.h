/*-------------------------------------------------------------------------
 *
 * sha256.h
 *	  SHA-256 of one buffer, for the digests computed once per event or
 *	  per call (an event's seal digest, a call's fingerprint).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUTHLOG_SHA256_H
#define AUTHLOG_SHA256_H

#define AUTHLOG_SHA256_LEN 32

extern void authlog_sha256(const void *data, size_t len, uint8 *digest);

#endif							/* AUTHLOG_SHA256_H */
