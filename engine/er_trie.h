/* er_trie.h - a byte trie with a dense transition table, built once at load
 * and then read lock-free by every worker: the vague-description rules walk
 * it one text byte at a time instead of comparing the text with each listed
 * word (a dozen or more compares per row, most failing on the first bytes).
 *
 * Nodes are numbered from 1 (the root); 0 is the dead state, whose row is all
 * zeros, so a walk that fell off stays off without a test. The alphabet is the
 * bytes the keys use; every other byte maps to symbol 0, whose column is zero. */
#ifndef ER_TRIE_H
#define ER_TRIE_H

#include <stddef.h>
#include <stdint.h>

#define ER_TRIE_DEAD 0u
#define ER_TRIE_ROOT 1u

typedef struct er_trie {
	uint32_t *next;     /* nodes x nsym transitions */
	uint8_t *accept;    /* 1 when a key ends at the node */
	uint32_t nsym;      /* symbols + 1 (symbol 0: a byte no key uses) */
	uint32_t nnodes, cap;
	uint8_t sym[256];   /* byte -> symbol */
} er_trie;

/* Build: first er_trie_note() every key (fixes the alphabet), then
 * er_trie_add() every key. Adding a key with a byte that was not noted is an
 * error. Both return 0, or -1 when out of memory (or the byte was not noted). */
void er_trie_note(er_trie *t, const char *key, size_t n);
int er_trie_add(er_trie *t, const char *key, size_t n);
/* A trie holding no key (what er_trie_add starts from when nothing was noted). */
int er_trie_empty(er_trie *t);
void er_trie_free(er_trie *t);

static inline uint32_t er_trie_step(const er_trie *t, uint32_t node, unsigned char c)
{
	return t->next[(size_t)node * t->nsym + t->sym[c]];
}

static inline int er_trie_accepts(const er_trie *t, uint32_t node)
{
	return t->accept[node];
}

#endif
