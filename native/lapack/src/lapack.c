// eigh(a, n, top): eigenpairs of a symmetric n×n float64 matrix by LAPACK's dsyevr (MRRR, from OpenBLAS).
// top = 0: every eigenvalue, no vectors. top = k > 0: the k largest eigenvalues and their eigenvectors.
// Returns { values: Float64Array (descending), vectors: Float64Array (n×k, row-major: column j = vector j) }.
// `a` is not modified (a copy is factorized).
// gemm(a, b, m, k, n, transA): a Promise of C = op(A)·B by BLAS's dgemm on a libuv thread (the event loop
// stays free), all row-major float64; op(A) = A (m×k) or, with transA, Aᵀ where A is k×m.
// Every size is checked here, before BLAS sees a pointer: a wrong-sized call throws a RangeError.
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t, size_t, size_t);

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
extern void cblas_dgemm(int order, int transa, int transb, int m, int n, int k, double alpha, const double *a,
                        int lda, const double *b, int ldb, double beta, double *c, int ldc);

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


typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[3]; // A, B and C's buffer stay alive while BLAS runs
  const double *a, *b;
  double *c;
  int m, k, n, transA;
} Gemm;

// one dgemm at a time: OpenBLAS threads each call itself, and its pthread build is not reentrant everywhere
static pthread_mutex_t blas = PTHREAD_MUTEX_INITIALIZER;

static void gemmExecute(napi_env env, void *data) {
  Gemm *g = data;
  (void)env;
  pthread_mutex_lock(&blas);
  cblas_dgemm(RowMajor, g->transA ? Trans : NoTrans, NoTrans, g->m, g->n, g->k, 1.0, g->a, g->transA ? g->m : g->k,
              g->b, g->n, 0.0, g->c, g->n);
  pthread_mutex_unlock(&blas);
}

static void gemmComplete(napi_env env, napi_status status, void *data) {
  Gemm *g = data;
  napi_value buf, out;
  if (napi_get_reference_value(env, g->refs[2], &buf) == napi_ok
      && napi_create_typedarray(env, napi_float64_array, (size_t)g->m * g->n, buf, 0, &out) == napi_ok
      && status == napi_ok) {
    napi_resolve_deferred(env, g->deferred, out);
  } else {
    napi_value msg, err;
    napi_create_string_utf8(env, "gemm: the product could not be returned", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, g->deferred, err);
  }
  for (int i = 0; i < 3; i++) napi_delete_reference(env, g->refs[i]);
  napi_delete_async_work(env, g->work);
  free(g);
}

static int float64s(napi_env env, napi_value v, double **data, size_t *len) {
  napi_typedarray_type type; napi_value buf; size_t off;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &buf, &off) != napi_ok) return 0;
  return type == napi_float64_array;
}

static napi_value gemm(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "gemm(a: Float64Array, b: Float64Array, m, k, n, transA)"); return NULL; }
  double *a, *b; size_t alen, blen;
  if (!float64s(env, argv[0], &a, &alen) || !float64s(env, argv[1], &b, &blen)) {
    napi_throw_type_error(env, NULL, "gemm: a and b must be Float64Arrays"); return NULL;
  }
  int m, k, n; bool transA;
  CHECK(napi_get_value_int32(env, argv[2], &m));
  CHECK(napi_get_value_int32(env, argv[3], &k));
  CHECK(napi_get_value_int32(env, argv[4], &n));
  CHECK(napi_get_value_bool(env, argv[5], &transA));
  if (m < 1 || k < 1 || n < 1 || (size_t)m * k != alen || (size_t)k * n != blen) {
    napi_throw_range_error(env, NULL, "gemm: a must hold m×k values, b k×n, all sizes ≥ 1"); return NULL;
  }
  Gemm *g = calloc(1, sizeof(Gemm));
  napi_value cbuf, promise, name;
  if (napi_create_arraybuffer(env, sizeof(double) * (size_t)m * n, (void **)&g->c, &cbuf) != napi_ok) {
    free(g); napi_throw_error(env, NULL, "gemm: no memory for the product"); return NULL;
  }
  g->a = a; g->b = b; g->m = m; g->k = k; g->n = n; g->transA = transA;
  CHECK(napi_create_reference(env, argv[0], 1, &g->refs[0]));
  CHECK(napi_create_reference(env, argv[1], 1, &g->refs[1]));
  CHECK(napi_create_reference(env, cbuf, 1, &g->refs[2]));
  CHECK(napi_create_promise(env, &g->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "mistique-lapack:gemm", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, gemmExecute, gemmComplete, g, &g->work));
  CHECK(napi_queue_async_work(env, g->work));
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "eigh", NAPI_AUTO_LENGTH, eigh, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "eigh", fn);
  if (napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, gemm, NULL, &fn) != napi_ok) return NULL;
  napi_set_named_property(env, exports, "gemm", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
