/* er_pool.h - the thread hand-off: a fixed pool of chunks cycling
 * free -> dispatcher -> work queue -> worker -> done slots -> writer -> free.
 * The dispatcher numbers chunks in submission order; the writer receives them
 * strictly in that order whatever order workers finish in. With a fixed number
 * of chunks, memory is bounded and a slow writer or worker applies
 * back-pressure to the dispatcher. One mutex guards everything; the condition
 * variables are named after what their waiters wait for. */
#ifndef ER_POOL_H
#define ER_POOL_H

#include "er_chunk.h"

typedef struct er_pool er_pool;

er_pool *er_pool_new(int nchunks);
void er_pool_free(er_pool *p); /* frees every chunk; all threads must have stopped */

er_chunk *er_pool_get_free(er_pool *p);        /* dispatcher; blocks until a chunk is free */
void er_pool_submit(er_pool *p, er_chunk *c);  /* dispatcher; assigns c->serial */
void er_pool_close(er_pool *p);                /* dispatcher: nothing more will be submitted */
er_chunk *er_pool_take_work(er_pool *p);       /* worker; NULL once closed and drained */
void er_pool_done(er_pool *p, er_chunk *c);    /* worker */
er_chunk *er_pool_next_done(er_pool *p);       /* writer; next chunk in serial order */
void er_pool_release(er_pool *p, er_chunk *c); /* writer */
void er_pool_abort(er_pool *p);                /* anyone: ask everyone to stop early */
int er_pool_aborted(er_pool *p);

#endif
