/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ms_error ms_error_no_memory = {
	.code = MS_ERROR_NO_MEMORY,
	.errnum = ENOMEM,
	.message = "out of memory",
};

struct ms_error *ms_error_vcreate(enum ms_error_code code, const char *fmt, va_list ap)
{
	struct ms_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &ms_error_no_memory;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &ms_error_no_memory;
	}
	err->code = code;
	return err;
}

struct ms_error *ms_error_create(enum ms_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ms_error *err = ms_error_vcreate(code, fmt, ap);
	va_end(ap);
	return err;
}

struct ms_error *ms_error_errno(int errnum, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0)
		return &ms_error_no_memory;
	if (errnum == ENOMEM) {
		free(what);
		return &ms_error_no_memory;
	}
	enum ms_error_code code = MS_ERROR_OS;
	if (errnum == EPERM || errnum == EACCES)
		code = MS_ERROR_PERMISSION;
	else if (errnum == ESRCH)
		code = MS_ERROR_EXITED;
	else if (errnum == EINTR)
		code = MS_ERROR_INTERRUPTED;
	struct ms_error *err = ms_error_create(code, "%s: %s", what, strerror(errnum));
	free(what);
	if (err != &ms_error_no_memory)
		err->errnum = errnum;
	return err;
}

struct ms_error *ms_error_fault(uint64_t address, const char *reason)
{
	struct ms_error *err;
	if (reason)
		err = ms_error_create(MS_ERROR_FAULT, "could not read memory at 0x%" PRIx64 ": %s",
				      address, reason);
	else
		err = ms_error_create(MS_ERROR_FAULT, "could not read memory at 0x%" PRIx64,
				      address);
	if (err != &ms_error_no_memory)
		err->address = address;
	return err;
}

struct ms_error *ms_error_prefix(struct ms_error *err, const char *fmt, ...)
{
	if (!err || err == &ms_error_no_memory)
		return err;
	char *prefix = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err;
	char *joined = NULL;
	if (asprintf(&joined, "%s: %s", prefix, err->message) >= 0) {
		free(err->message);
		err->message = joined;
	}
	free(prefix);
	return err;
}

void ms_error_destroy(struct ms_error *err)
{
	if (!err || err == &ms_error_no_memory)
		return;
	free(err->message);
	free(err);
}
