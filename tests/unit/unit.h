/* SPDX-License-Identifier: MIT */
/*
 * What every unit test program shares: running its Check suite and turning
 * the result into the exit status meson's test runner reads.
 */
#ifndef MEMSCOPE_TESTS_UNIT_H
#define MEMSCOPE_TESTS_UNIT_H

#include <check.h>
#include <stdlib.h>

/* Run suite s (forking per test as Check does by default); 0 if all passed. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
