/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flavor globs: '*' (any run), '?' (any byte), '[...]' (a set, '!' or '^'
 * negates, ranges a-z) and '\' escaping.  One parser serves matching and the
 * overlap check, so what the validator calls disjoint really never matches
 * the same name.
 */
#ifndef PREPOP_GLOB_H
#define PREPOP_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* 0 if valid; else -1 with a reason in err. */
int pp_glob_check(const char *pat, char *err, size_t errlen);
/* Whole-string match; an invalid pattern matches nothing. */
bool pp_glob_match(const char *pat, const char *s);
/* True if some string matches both (valid) patterns. */
bool pp_glob_overlap(const char *a, const char *b);

#endif
