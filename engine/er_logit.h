/* er_logit.h - L2-regularized logistic regression on grouped binary data,
 * fitted by Newton's method (IRLS) with GSL's Cholesky solve. Used by
 * calibrate to learn reason-code points from exam outcomes. */
#ifndef ER_LOGIT_H
#define ER_LOGIT_H

#include <stddef.h>

/* n groups of identical rows: x[i*p + j] the value of column j (column 0 is
 * the intercept, 1.0), w[i] rows in the group, y[i] successes among them. */
typedef struct er_logit_data {
	int n, p;
	const double *x, *w, *y;
} er_logit_data;

typedef struct er_logit_opts {
	double l2;                  /* penalty (l2/2) * sum (beta_j - prior_j)^2, j >= 1 */
	const double *prior;        /* per column; NULL = 0 */
	const unsigned char *fixed; /* per column, 1 = keep beta_j as passed in; NULL = none */
	int max_iter;               /* 0 = 100 */
	double tol;                 /* largest step that counts as converged; 0 = 1e-9 */
} er_logit_opts;

typedef struct er_logit_fit_info {
	int iterations;
	double loglik;   /* unpenalized log-likelihood at the solution */
	double n, successes;
} er_logit_fit_info;

/* Fit: beta[p] holds start values on entry (fixed columns keep theirs) and
 * the solution on return. 0 on success; -1 with a message in err when the
 * outcome is constant, the data are empty, the system is not positive
 * definite or the iteration does not converge. Never leaves a NaN in beta
 * on success. */
int er_logit_fit(const er_logit_data *d, const er_logit_opts *o, double *beta,
                 er_logit_fit_info *info, char *err, size_t errlen);

/* Logistic function, safe for large |z|. */
double er_logit_sigmoid(double z);

#endif
