// LZ4 block (de)compression by liblz4, in lz4-napi's framing (the raw length as 4 bytes little-endian,
// then one LZ4 block), so that segments written by either read with the other.
// compress(src: Uint8Array) → Buffer; decompress(src: Uint8Array, dst: Uint8Array) → number of bytes
// written to dst, which must be exactly the framed length (−1 when it is not, or the block is damaged);
// compressBatch(srcs: Uint8Array[]) → Promise<Buffer[]>: the framed blocks of srcs, compressed one after
// another on a libuv threadpool thread (the caller's thread goes on; the caller must not change srcs
// until the promise settles).
#include <lz4.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "lz4: N-API call failed"); return NULL; } } while (0)

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type; napi_value buf; size_t off, n;
  void *d;
  if (napi_get_typedarray_info(env, v, &type, &n, &d, &buf, &off) != napi_ok || type != napi_uint8_array) return 0;
  *data = d; *len = n;
  return 1;
}

/* The framed block of src[0..n) (n ≤ LZ4_MAX_INPUT_SIZE) in a malloc'd buffer of *size bytes, or NULL
 * with *error set. Thread-safe: compress runs it on the calling thread, compressBatch on the threadpool. */
static uint8_t *compress_framed(const uint8_t *src, size_t n, size_t *size, const char **error) {
  int bound = LZ4_compressBound((int)n);
  uint8_t *d = malloc((size_t)bound + 4);
  if (!d) { *error = "lz4: out of memory"; return NULL; }
  int m = LZ4_compress_default((const char *)src, (char *)d + 4, (int)n, bound);
  if (m <= 0 && n > 0) { free(d); *error = "lz4: compression failed"; return NULL; }
  d[0] = n & 0xff; d[1] = (n >> 8) & 0xff; d[2] = (n >> 16) & 0xff; d[3] = (n >> 24) & 0xff;
  *size = (size_t)m + 4;
  return d;
}

static napi_value compress(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *src; size_t n;
  if (argc < 1 || !bytes_of(env, argv[0], &src, &n)) { napi_throw_type_error(env, NULL, "lz4.compress(src: Uint8Array)"); return NULL; }
  if (n > (size_t)LZ4_MAX_INPUT_SIZE) { napi_throw_range_error(env, NULL, "lz4.compress: input larger than LZ4_MAX_INPUT_SIZE"); return NULL; }
  size_t size; const char *error = NULL;
  uint8_t *tmp = compress_framed(src, n, &size, &error);
  if (!tmp) { napi_throw_error(env, NULL, error); return NULL; }
  napi_value out; void *dst;
  napi_status st = napi_create_buffer_copy(env, size, tmp, &dst, &out);
  free(tmp);
  CHECK(st);
  return out;
}

static napi_value decompress(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *src, *dst; size_t n, cap;
  if (argc < 2 || !bytes_of(env, argv[0], &src, &n) || !bytes_of(env, argv[1], &dst, &cap)) {
    napi_throw_type_error(env, NULL, "lz4.decompress(src: Uint8Array, dst: Uint8Array)"); return NULL;
  }
  int32_t r = -1;
  if (n >= 4) {
    size_t want = (size_t)src[0] | ((size_t)src[1] << 8) | ((size_t)src[2] << 16) | ((size_t)src[3] << 24);
    if (want == cap && cap <= (size_t)LZ4_MAX_INPUT_SIZE) {
      int got = LZ4_decompress_safe((const char *)src + 4, (char *)dst, (int)(n - 4), (int)cap);
      r = got == (int)cap ? got : -1;
    }
  }
  napi_value out;
  CHECK(napi_create_int32(env, r, &out));
  return out;
}

/* compressBatch: one async work compressing every input of the batch on the threadpool. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep;          /* the array of inputs, alive until complete */
  uint32_t n;
  uint8_t **src;
  size_t *len;
  uint8_t **dst;
  size_t *out;
  const char *error;      /* set by execute; NULL when every input compressed */
} batch_t;

static void batch_free(napi_env env, batch_t *b) {
  if (b->dst) for (uint32_t i = 0; i < b->n; i++) free(b->dst[i]);
  free(b->src); free(b->len); free(b->dst); free(b->out);
  if (b->keep) napi_delete_reference(env, b->keep);
  if (b->work) napi_delete_async_work(env, b->work);
  free(b);
}

static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_t *b = data;
  for (uint32_t i = 0; i < b->n; i++) {
    uint8_t *d = compress_framed(b->src[i], b->len[i], &b->out[i], &b->error);
    if (!d) return;
    /* give back the bound's slack: a shrinking realloc keeps the block where it is */
    uint8_t *r = realloc(d, b->out[i]);
    b->dst[i] = r ? r : d;
  }
}

static void free_block(napi_env env, void *data, void *hint) { (void)env; (void)hint; free(data); }

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  napi_value result, err, msg;
  if (status != napi_ok || b->error) {
    napi_create_string_utf8(env, b->error ? b->error : "lz4.compressBatch: cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, b->deferred, err);
    batch_free(env, b);
    return;
  }
  if (napi_create_array_with_length(env, b->n, &result) != napi_ok) goto fail;
  for (uint32_t i = 0; i < b->n; i++) {
    napi_value buf;
    if (napi_create_external_buffer(env, b->out[i], b->dst[i], free_block, NULL, &buf) != napi_ok) goto fail;
    b->dst[i] = NULL; /* the Buffer owns it now */
    if (napi_set_element(env, result, i, buf) != napi_ok) goto fail;
  }
  napi_resolve_deferred(env, b->deferred, result);
  batch_free(env, b);
  return;
fail:
  napi_create_string_utf8(env, "lz4.compressBatch: could not hand the blocks to JavaScript", NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_reject_deferred(env, b->deferred, err);
  batch_free(env, b);
}

static napi_value compress_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool isArray = false;
  if (argc < 1 || napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray) {
    napi_throw_type_error(env, NULL, "lz4.compressBatch(srcs: Uint8Array[])"); return NULL;
  }
  uint32_t n;
  CHECK(napi_get_array_length(env, argv[0], &n));
  batch_t *b = calloc(1, sizeof *b);
  if (!b) { napi_throw_error(env, NULL, "lz4.compressBatch: out of memory"); return NULL; }
  b->n = n;
  b->src = calloc(n ? n : 1, sizeof *b->src); b->len = calloc(n ? n : 1, sizeof *b->len);
  b->dst = calloc(n ? n : 1, sizeof *b->dst); b->out = calloc(n ? n : 1, sizeof *b->out);
  if (!b->src || !b->len || !b->dst || !b->out) { batch_free(env, b); napi_throw_error(env, NULL, "lz4.compressBatch: out of memory"); return NULL; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || !bytes_of(env, v, &b->src[i], &b->len[i])) {
      batch_free(env, b); napi_throw_type_error(env, NULL, "lz4.compressBatch(srcs: Uint8Array[])"); return NULL;
    }
    if (b->len[i] > (size_t)LZ4_MAX_INPUT_SIZE) {
      batch_free(env, b); napi_throw_range_error(env, NULL, "lz4.compressBatch: input larger than LZ4_MAX_INPUT_SIZE"); return NULL;
    }
  }
  napi_value promise, name;
  if (napi_create_reference(env, argv[0], 1, &b->keep) != napi_ok
      || napi_create_promise(env, &b->deferred, &promise) != napi_ok) {
    batch_free(env, b); napi_throw_error(env, NULL, "lz4: N-API call failed"); return NULL;
  }
  napi_create_string_utf8(env, "mistique-lz4.compressBatch", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, batch_execute, batch_complete, b, &b->work) != napi_ok
      || napi_queue_async_work(env, b->work) != napi_ok) {
    /* the promise is never settled: reject it so nothing waits forever */
    napi_value err, msg;
    napi_create_string_utf8(env, "lz4.compressBatch: could not queue the work", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, b->deferred, err);
    batch_free(env, b);
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value f;
  CHECK(napi_create_function(env, "compress", NAPI_AUTO_LENGTH, compress, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "compress", f));
  CHECK(napi_create_function(env, "decompress", NAPI_AUTO_LENGTH, decompress, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "decompress", f));
  CHECK(napi_create_function(env, "compressBatch", NAPI_AUTO_LENGTH, compress_batch, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "compressBatch", f));
  return exports;
}
