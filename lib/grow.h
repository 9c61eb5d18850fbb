/* SPDX-License-Identifier: MIT */
/*
 * Arrays that grow as items are appended: the one place that doubles a
 * capacity, checks the size for overflow and reallocates. Callers keep
 * their array, count and capacity; this owns none of them.
 */
#ifndef MEMSCOPE_GROW_H
#define MEMSCOPE_GROW_H

#include <stdint.h>
#include <stdlib.h>

/*
 * items (an array of *cap elements of elem bytes, count in use) with room
 * for one more: itself while count < *cap, else reallocated to twice the
 * capacity (first, when empty) and *cap updated. NULL when memory runs out
 * or the size would overflow; items and *cap are then left as they were.
 */
static inline void *ms_grow(void *items, size_t count, size_t *cap, size_t elem, size_t first)
{
	if (count < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return NULL;
	void *grown = realloc(items, ncap * elem);
	if (grown)
		*cap = ncap;
	return grown;
}

#endif
