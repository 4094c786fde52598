/* er_logit.c - penalized logistic regression by IRLS (see er_logit.h).
 *
 * Newton's method on the penalized log-likelihood
 *   l(beta) = sum_i y_i * eta_i - w_i * log(1 + e^eta_i) - (l2/2) sum_{j>=1} (beta_j - mu_j)^2
 * whose Hessian X'WX + l2*I is positive definite as soon as l2 > 0, so the
 * Cholesky solve always applies; a step that lowers l is halved (the
 * objective is concave, so this only guards against overshooting in the
 * first steps from a far start). Sums run over the groups in the order
 * given, so the same data give the same bits. */
#include "er_logit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

double er_logit_sigmoid(double z)
{
	if (z >= 0) {
		double e = exp(-z);
		return 1.0 / (1.0 + e);
	}
	double e = exp(z);
	return e / (1.0 + e);
}

/* log(1 + e^z) without overflow. */
static double log1pexp(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double eta_of(const er_logit_data *d, const double *beta, int i)
{
	const double *xi = d->x + (size_t)i * (size_t)d->p;
	double e = 0;
	for (int j = 0; j < d->p; j++)
		e += xi[j] * beta[j];
	return e;
}

static double objective(const er_logit_data *d, const er_logit_opts *o, const double *beta,
                        double *loglik)
{
	double ll = 0;
	for (int i = 0; i < d->n; i++) {
		double e = eta_of(d, beta, i);
		ll += d->y[i] * e - d->w[i] * log1pexp(e);
	}
	double pen = 0;
	for (int j = 1; j < d->p; j++) {
		double mu = o->prior ? o->prior[j] : 0.0;
		pen += (beta[j] - mu) * (beta[j] - mu);
	}
	if (loglik)
		*loglik = ll;
	return ll - 0.5 * o->l2 * pen;
}

int er_logit_fit(const er_logit_data *d, const er_logit_opts *o, double *beta,
                 er_logit_fit_info *info, char *err, size_t errlen)
{
	int p = d->p;
	double tot = 0, succ = 0;
	for (int i = 0; i < d->n; i++) {
		tot += d->w[i];
		succ += d->y[i];
	}
	memset(info, 0, sizeof *info);
	info->n = tot;
	info->successes = succ;
	if (d->n == 0 || tot <= 0) {
		snprintf(err, errlen, "no rows to fit");
		return -1;
	}
	if (succ <= 0 || succ >= tot) {
		snprintf(err, errlen, "the outcome is constant (%s of %.0f rows): nothing to learn",
		         succ <= 0 ? "no successes" : "all successes", tot);
		return -1;
	}
	if (!(o->l2 > 0)) {
		snprintf(err, errlen, "the L2 penalty must be positive");
		return -1;
	}
	/* free columns, in order */
	int *fc = malloc((size_t)p * sizeof *fc);
	double *g = malloc((size_t)p * sizeof *g), *trial = malloc((size_t)p * sizeof *trial);
	if (!fc || !g || !trial) {
		free(fc), free(g), free(trial);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int nf = 0;
	for (int j = 0; j < p; j++)
		if (!o->fixed || !o->fixed[j])
			fc[nf++] = j;
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	gsl_matrix *H = gsl_matrix_alloc((size_t)(nf ? nf : 1), (size_t)(nf ? nf : 1));
	gsl_vector *gv = gsl_vector_alloc((size_t)(nf ? nf : 1));
	gsl_vector *dx = gsl_vector_alloc((size_t)(nf ? nf : 1));
	int rc = -1, max_iter = o->max_iter > 0 ? o->max_iter : 100;
	double tol = o->tol > 0 ? o->tol : 1e-9;
	if (!H || !gv || !dx) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (nf == 0) {
		rc = 0;
		goto done;
	}
	double f = objective(d, o, beta, NULL);
	for (int it = 1; it <= max_iter; it++) {
		gsl_matrix_set_zero(H);
		for (int j = 0; j < p; j++)
			g[j] = 0;
		for (int i = 0; i < d->n; i++) {
			const double *xi = d->x + (size_t)i * (size_t)p;
			double pi = er_logit_sigmoid(eta_of(d, beta, i));
			double r = d->y[i] - d->w[i] * pi, wt = d->w[i] * pi * (1 - pi);
			for (int a = 0; a < nf; a++) {
				double xa = xi[fc[a]];
				if (xa == 0)
					continue;
				g[fc[a]] += xa * r;
				for (int b = 0; b <= a; b++)
					*gsl_matrix_ptr(H, (size_t)a, (size_t)b) += wt * xa * xi[fc[b]];
			}
		}
		for (int a = 0; a < nf; a++) {
			int j = fc[a];
			if (j >= 1) {
				double mu = o->prior ? o->prior[j] : 0.0;
				g[j] -= o->l2 * (beta[j] - mu);
				*gsl_matrix_ptr(H, (size_t)a, (size_t)a) += o->l2;
			}
			for (int b = 0; b < a; b++)
				gsl_matrix_set(H, (size_t)b, (size_t)a, gsl_matrix_get(H, (size_t)a, (size_t)b));
			gsl_vector_set(gv, (size_t)a, g[j]);
		}
		if (gsl_linalg_cholesky_decomp1(H) != GSL_SUCCESS ||
		    gsl_linalg_cholesky_solve(H, gv, dx) != GSL_SUCCESS) {
			snprintf(err, errlen, "the Hessian is not positive definite (iteration %d)", it);
			goto out;
		}
		double step = 1.0, fn = f, big = 0;
		for (int half = 0; half < 30; half++) {
			memcpy(trial, beta, (size_t)p * sizeof *trial);
			for (int a = 0; a < nf; a++)
				trial[fc[a]] += step * gsl_vector_get(dx, (size_t)a);
			fn = objective(d, o, trial, NULL);
			if (isfinite(fn) && fn >= f - 1e-12 * fabs(f))
				break;
			step *= 0.5;
		}
		if (!isfinite(fn)) {
			snprintf(err, errlen, "the fit diverged (iteration %d)", it);
			goto out;
		}
		for (int a = 0; a < nf; a++) {
			double s = fabs(trial[fc[a]] - beta[fc[a]]);
			if (s > big)
				big = s;
		}
		memcpy(beta, trial, (size_t)p * sizeof *beta);
		f = fn;
		info->iterations = it;
		if (big < tol) {
			rc = 0;
			goto done;
		}
	}
	snprintf(err, errlen, "no convergence in %d iterations", max_iter);
	goto out;
done:
	for (int j = 0; j < p; j++) {
		if (!isfinite(beta[j])) {
			snprintf(err, errlen, "the fit produced a non-finite coefficient");
			rc = -1;
			goto out;
		}
	}
	objective(d, o, beta, &info->loglik);
out:
	gsl_matrix_free(H);
	gsl_vector_free(gv);
	gsl_vector_free(dx);
	gsl_set_error_handler(old);
	free(fc);
	free(g);
	free(trial);
	return rc;
}
