// LZ4 block (de)compression by liblz4, in lz4-napi's framing (the raw length as 4 bytes little-endian,
// then one LZ4 block), so that segments written by either read with the other.
// compress(src: Uint8Array) → Buffer; decompress(src: Uint8Array, dst: Uint8Array) → number of bytes
// written to dst, which must be exactly the framed length (−1 when it is not, or the block is damaged).
#include <lz4.h>
#include <node_api.h>
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

static napi_value compress(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *src; size_t n;
  if (argc < 1 || !bytes_of(env, argv[0], &src, &n)) { napi_throw_type_error(env, NULL, "lz4.compress(src: Uint8Array)"); return NULL; }
  if (n > (size_t)LZ4_MAX_INPUT_SIZE) { napi_throw_range_error(env, NULL, "lz4.compress: input larger than LZ4_MAX_INPUT_SIZE"); return NULL; }
  int bound = LZ4_compressBound((int)n);
  uint8_t *tmp = malloc((size_t)bound + 4);
  if (!tmp) { napi_throw_error(env, NULL, "lz4.compress: out of memory"); return NULL; }
  int m = LZ4_compress_default((const char *)src, (char *)tmp + 4, (int)n, bound);
  if (m <= 0 && n > 0) { free(tmp); napi_throw_error(env, NULL, "lz4.compress failed"); return NULL; }
  tmp[0] = n & 0xff; tmp[1] = (n >> 8) & 0xff; tmp[2] = (n >> 16) & 0xff; tmp[3] = (n >> 24) & 0xff;
  napi_value out; void *dst;
  napi_status st = napi_create_buffer_copy(env, (size_t)m + 4, tmp, &dst, &out);
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

NAPI_MODULE_INIT() {
  napi_value f;
  CHECK(napi_create_function(env, "compress", NAPI_AUTO_LENGTH, compress, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "compress", f));
  CHECK(napi_create_function(env, "decompress", NAPI_AUTO_LENGTH, decompress, NULL, &f));
  CHECK(napi_set_named_property(env, exports, "decompress", f));
  return exports;
}
