// SPDX-License-Identifier: GPL-2.0-only
/*
 * A glob is compiled into a sequence of tokens, each either STAR or a set of
 * bytes.  Matching runs the token NFA over the string; the overlap test
 * searches the product of two NFAs for a path to both accepting states.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prepop/glob.h"
#include "prepop/xalloc.h"

#define GLOB_MAX 256

struct tok {
	bool star;
	uint64_t set[4];	/* 256-bit byte set */
};

static void set_add(uint64_t *set, unsigned c)
{
	set[c >> 6] |= 1ull << (c & 63);
}

static bool set_has(const uint64_t *set, unsigned c)
{
	return set[c >> 6] >> (c & 63) & 1;
}

static bool set_meets(const uint64_t *a, const uint64_t *b)
{
	for (int i = 0; i < 4; i++)
		if (a[i] & b[i])
			return true;
	return false;
}

/* Returns the token count, or -1 with err filled. */
static int compile(const char *pat, struct tok *t, char *err, size_t errlen)
{
	size_t len = strlen(pat);
	int n = 0;

	if (len == 0) {
		snprintf(err, errlen, "empty pattern");
		return -1;
	}
	if (len > GLOB_MAX) {
		snprintf(err, errlen, "pattern longer than %d bytes", GLOB_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; n++) {
		unsigned char c = pat[i];

		memset(&t[n], 0, sizeof(t[n]));
		if (c == '*') {
			t[n].star = true;
			while (pat[i] == '*')	/* '**' is '*' */
				i++;
		} else if (c == '?') {
			memset(t[n].set, 0xff, sizeof(t[n].set));
			i++;
		} else if (c == '\\') {
			if (!pat[i + 1]) {
				snprintf(err, errlen, "trailing backslash");
				return -1;
			}
			set_add(t[n].set, (unsigned char)pat[i + 1]);
			i += 2;
		} else if (c == '[') {
			size_t j = i + 1;
			bool neg = false, first = true;

			if (pat[j] == '!' || pat[j] == '^') {
				neg = true;
				j++;
			}
			for (;; first = false) {
				unsigned lo, hi;

				if (!pat[j]) {
					snprintf(err, errlen,
						 "unterminated '[' at offset %zu", i);
					return -1;
				}
				if (pat[j] == ']' && !first)
					break;
				if (pat[j] == '[' && pat[j + 1] == ':') {
					snprintf(err, errlen,
						 "character classes like '[:alpha:]' are not supported (offset %zu)",
						 j);
					return -1;
				}
				if (pat[j] == '\\' && pat[j + 1])
					j++;
				lo = (unsigned char)pat[j++];
				hi = lo;
				if (pat[j] == '-' && pat[j + 1] && pat[j + 1] != ']') {
					j++;
					if (pat[j] == '\\' && pat[j + 1])
						j++;
					hi = (unsigned char)pat[j++];
					if (hi < lo) {
						snprintf(err, errlen,
							 "reversed range in '[' at offset %zu", i);
						return -1;
					}
				}
				for (unsigned x = lo; x <= hi; x++)
					set_add(t[n].set, x);
			}
			if (neg)
				for (int k = 0; k < 4; k++)
					t[n].set[k] = ~t[n].set[k];
			i = j + 1;
		} else {
			set_add(t[n].set, c);
			i++;
		}
	}
	return n;
}

int pp_glob_check(const char *pat, char *err, size_t errlen)
{
	struct tok t[GLOB_MAX];

	return compile(pat, t, err, errlen) < 0 ? -1 : 0;
}

/* Epsilon closure: a STAR at position i may be skipped. */
static void close_states(const struct tok *t, int n, uint8_t *on)
{
	for (int i = 0; i < n; i++)
		if (on[i] && t[i].star)
			on[i + 1] = 1;
}

bool pp_glob_match(const char *pat, const char *s)
{
	struct tok t[GLOB_MAX];
	uint8_t cur[GLOB_MAX + 1], nxt[GLOB_MAX + 1];
	char err[128];
	int n = compile(pat, t, err, sizeof(err));

	if (n < 0)
		return false;
	memset(cur, 0, sizeof(cur));
	cur[0] = 1;
	close_states(t, n, cur);
	for (; *s; s++) {
		unsigned char c = *s;
		bool any = false;

		memset(nxt, 0, sizeof(nxt));
		for (int i = 0; i < n; i++) {
			if (!cur[i])
				continue;
			if (t[i].star)
				nxt[i] = 1;
			else if (set_has(t[i].set, c))
				nxt[i + 1] = 1;
		}
		close_states(t, n, nxt);
		for (int i = 0; i <= n; i++)
			any |= nxt[i];
		if (!any)
			return false;
		memcpy(cur, nxt, sizeof(cur));
	}
	return cur[n];
}

bool pp_glob_overlap(const char *a, const char *b)
{
	static const uint64_t all[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
	struct tok ta[GLOB_MAX], tb[GLOB_MAX];
	char err[128];
	int na = compile(a, ta, err, sizeof(err));
	int nb = compile(b, tb, err, sizeof(err));
	int w, *stack, sp = 0;
	uint8_t *seen;
	bool found = false;

	if (na < 0 || nb < 0)
		return false;
	w = nb + 1;
	seen = xcalloc((size_t)(na + 1) * w, 1);
	stack = xcalloc((size_t)(na + 1) * w, sizeof(*stack));
	seen[0] = 1;
	stack[sp++] = 0;
	while (sp && !found) {
		int s = stack[--sp], i = s / w, j = s % w;
		int next[4], nn = 0;

		if (i == na && j == nb) {
			found = true;
			break;
		}
		/* epsilon moves over stars */
		if (i < na && ta[i].star)
			next[nn++] = (i + 1) * w + j;
		if (j < nb && tb[j].star)
			next[nn++] = i * w + j + 1;
		/* a byte consumed by both sides */
		if (i < na && j < nb) {
			const uint64_t *sa = ta[i].star ? all : ta[i].set;
			const uint64_t *sb = tb[j].star ? all : tb[j].set;

			if (set_meets(sa, sb))
				next[nn++] = (i + !ta[i].star) * w + j + !tb[j].star;
		}
		for (int k = 0; k < nn; k++) {
			if (!seen[next[k]]) {
				seen[next[k]] = 1;
				stack[sp++] = next[k];
			}
		}
	}
	free(seen);
	free(stack);
	return found;
}
