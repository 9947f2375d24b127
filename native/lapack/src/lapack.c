// eigh(a, n, top): eigenpairs of a symmetric n×n float64 matrix by LAPACK's dsyevr (MRRR, from OpenBLAS).
// top = 0: every eigenvalue, no vectors. top = k > 0: the k largest eigenvalues and their eigenvectors.
// Returns { values: Float64Array (descending), vectors: Float64Array (n×k, row-major: column j = vector j) }.
// `a` is not modified (a copy is factorized).
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t, size_t, size_t);

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "lapack: N-API call failed"); return NULL; } } while (0)

static napi_value eigh(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "eigh(a: Float64Array, n: number, top: number)"); return NULL; }
  napi_typedarray_type type; size_t len; void *data; napi_value buf; size_t off;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &data, &buf, &off) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "eigh: a must be a Float64Array"); return NULL;
  }
  int n, top;
  CHECK(napi_get_value_int32(env, argv[1], &n));
  CHECK(napi_get_value_int32(env, argv[2], &top));
  if (n < 1 || (size_t)n * (size_t)n != len || top < 0 || top > n) { napi_throw_range_error(env, NULL, "eigh: a must hold n×n values and 0 ≤ top ≤ n"); return NULL; }
  double *a = malloc(sizeof(double) * len);
  memcpy(a, data, sizeof(double) * len);
  const char jobz = top > 0 ? 'V' : 'N', range = top > 0 ? 'I' : 'A', uplo = 'L';
  const int il = n - top + 1, iu = n, lda = n, ldz = n;
  const double vl = 0, vu = 0, abstol = 0;
  int m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  double *w = malloc(sizeof(double) * n);
  double *z = top > 0 ? malloc(sizeof(double) * (size_t)n * top) : NULL;
  int *isuppz = malloc(sizeof(int) * 2 * (size_t)(top > 0 ? top : 1));
  dsyevr_(&jobz, &range, &uplo, &n, a, &lda, &vl, &vu, &il, &iu, &abstol, &m, w, z, &ldz, isuppz, &wq, &lwork, &iwq, &liwork, &info, 1, 1, 1);
  lwork = (int)wq; liwork = iwq;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  int *iwork = malloc(sizeof(int) * (size_t)liwork);
  if (info == 0) dsyevr_(&jobz, &range, &uplo, &n, a, &lda, &vl, &vu, &il, &iu, &abstol, &m, w, z, &ldz, isuppz, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
  free(work); free(iwork); free(isuppz); free(a);
  if (info != 0) { free(w); free(z); napi_throw_error(env, NULL, "eigh: dsyevr did not converge"); return NULL; }
  // ascending from LAPACK → descending; z column-major n×m → row-major n×m with column j = j-th largest
  napi_value values, vectors, vb, zb, out;
  double *vd, *zd;
  CHECK(napi_create_arraybuffer(env, sizeof(double) * m, (void **)&vd, &vb));
  for (int j = 0; j < m; j++) vd[j] = w[m - 1 - j];
  CHECK(napi_create_typedarray(env, napi_float64_array, m, vb, 0, &values));
  size_t zl = top > 0 ? (size_t)n * m : 0;
  CHECK(napi_create_arraybuffer(env, sizeof(double) * (zl ? zl : 1), (void **)&zd, &zb));
  for (int j = 0; j < (top > 0 ? m : 0); j++) for (int i = 0; i < n; i++) zd[(size_t)i * m + j] = z[(size_t)(m - 1 - j) * n + i];
  CHECK(napi_create_typedarray(env, napi_float64_array, zl, zb, 0, &vectors));
  free(w); free(z);
  CHECK(napi_create_object(env, &out));
  CHECK(napi_set_named_property(env, out, "values", values));
  CHECK(napi_set_named_property(env, out, "vectors", vectors));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "eigh", NAPI_AUTO_LENGTH, eigh, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "eigh", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
