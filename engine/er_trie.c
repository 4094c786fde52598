/* er_trie.c - byte trie with a dense transition table (see er_trie.h). */
#include "er_trie.h"

#include <stdlib.h>
#include <string.h>

void er_trie_note(er_trie *t, const char *key, size_t n)
{
	/* before the first add, sym[] only marks the bytes in use */
	for (size_t i = 0; i < n; i++)
		t->sym[(unsigned char)key[i]] = 1;
}

/* Number the noted bytes 1..k (the table is allocated on the first add). */
static int start(er_trie *t)
{
	uint32_t k = 0;
	for (int c = 0; c < 256; c++)
		if (t->sym[c])
			t->sym[c] = (uint8_t)++k;
	t->nsym = k + 1;
	t->cap = 16;
	t->next = calloc((size_t)t->cap * t->nsym, sizeof *t->next);
	t->accept = calloc(t->cap, 1);
	if (!t->next || !t->accept)
		return -1;
	t->nnodes = 2; /* the dead state and the root */
	return 0;
}

int er_trie_empty(er_trie *t)
{
	return t->next ? 0 : start(t);
}

static uint32_t new_node(er_trie *t)
{
	if (t->nnodes == t->cap) {
		if (t->cap > UINT32_MAX / 2)
			return 0;
		uint32_t cap = t->cap * 2;
		uint32_t *nx = realloc(t->next, (size_t)cap * t->nsym * sizeof *nx);
		if (!nx)
			return 0;
		t->next = nx;
		memset(nx + (size_t)t->cap * t->nsym, 0, (size_t)(cap - t->cap) * t->nsym * sizeof *nx);
		uint8_t *ac = realloc(t->accept, cap);
		if (!ac)
			return 0;
		t->accept = ac;
		memset(ac + t->cap, 0, cap - t->cap);
		t->cap = cap;
	}
	return t->nnodes++;
}

int er_trie_add(er_trie *t, const char *key, size_t n)
{
	if (!t->next && start(t) < 0)
		return -1;
	uint32_t node = ER_TRIE_ROOT;
	for (size_t i = 0; i < n; i++) {
		unsigned s = t->sym[(unsigned char)key[i]];
		if (!s)
			return -1;
		uint32_t *e = &t->next[(size_t)node * t->nsym + s];
		if (!*e) {
			uint32_t nn = new_node(t);
			if (!nn)
				return -1;
			e = &t->next[(size_t)node * t->nsym + s]; /* the table may have moved */
			*e = nn;
		}
		node = *e;
	}
	t->accept[node] = 1;
	return 0;
}

void er_trie_free(er_trie *t)
{
	if (!t)
		return;
	free(t->next);
	free(t->accept);
	memset(t, 0, sizeof *t);
}
