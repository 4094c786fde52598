/* Unit tests for the ordered chunk pool: whatever order workers finish in,
 * the writer sees chunks in submission order, and memory stays bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "er_pool.h"

#define NCHUNKS 6
#define NJOBS 2000

typedef struct ctx {
	er_pool *pool;
	uint64_t seen[NJOBS];
	int nseen;
	int order_ok;
} ctx;

static void *worker(void *arg)
{
	ctx *c = arg;
	er_chunk *ch;
	while ((ch = er_pool_take_work(c->pool)) != NULL) {
		/* Random short delays shuffle completion order. */
		unsigned r = (unsigned)(ch->serial * 2654435761u) % 50;
		struct timespec ts = {0, (long)r * 1000};
		nanosleep(&ts, NULL);
		er_pool_done(c->pool, ch);
	}
	return NULL;
}

static void *writer(void *arg)
{
	ctx *c = arg;
	for (;;) {
		er_chunk *ch = er_pool_next_done(c->pool);
		int kind = ch->kind;
		if (kind == ER_CHUNK_DATA) {
			/* file_idx carries the job number the dispatcher gave it */
			if (c->nseen < NJOBS)
				c->seen[c->nseen] = (uint64_t)ch->file_idx;
			if ((uint64_t)ch->file_idx != (uint64_t)c->nseen)
				c->order_ok = 0;
			c->nseen++;
		}
		er_pool_release(c->pool, ch);
		if (kind == ER_CHUNK_END)
			break;
	}
	return NULL;
}

static void run_pool(int nworkers)
{
	ctx c = {.pool = er_pool_new(NCHUNKS), .order_ok = 1};
	assert_non_null(c.pool);
	pthread_t w[8], wr;
	for (int i = 0; i < nworkers; i++)
		assert_int_equal(pthread_create(&w[i], NULL, worker, &c), 0);
	assert_int_equal(pthread_create(&wr, NULL, writer, &c), 0);
	for (int j = 0; j < NJOBS; j++) {
		er_chunk *ch = er_pool_get_free(c.pool);
		ch->kind = ER_CHUNK_DATA;
		ch->file_idx = j;
		er_pool_submit(c.pool, ch);
	}
	er_chunk *end = er_pool_get_free(c.pool);
	end->kind = ER_CHUNK_END;
	er_pool_submit(c.pool, end);
	er_pool_close(c.pool);
	for (int i = 0; i < nworkers; i++)
		pthread_join(w[i], NULL);
	pthread_join(wr, NULL);
	assert_int_equal(c.nseen, NJOBS);
	assert_true(c.order_ok);
	assert_int_equal(er_pool_aborted(c.pool), 0);
	er_pool_free(c.pool);
}

static void test_order_1(void **s) { (void)s; run_pool(1); }
static void test_order_2(void **s) { (void)s; run_pool(2); }
static void test_order_8(void **s) { (void)s; run_pool(8); }

static void test_abort_flag(void **s)
{
	(void)s;
	er_pool *p = er_pool_new(4);
	assert_int_equal(er_pool_aborted(p), 0);
	er_pool_abort(p);
	assert_int_equal(er_pool_aborted(p), 1);
	er_pool_free(p);
	er_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_1), cmocka_unit_test(test_order_2),
		cmocka_unit_test(test_order_8), cmocka_unit_test(test_abort_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
