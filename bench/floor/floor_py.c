/* The floor of a Node ↔ CPython call: the least a sync call and a string echo through N-API into
   CPython cost, in C, linked to libpython directly (no handles, no checks, no conversions beyond
   the two ints or the one string). bench/lib.js builds it on first use with gcc against the
   Python the benchmarks run (`python3-config`); the sync-call and string benchmarks run it as
   their "floor" row beside python-ts and the peer. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <node_api.h>
#include <stdlib.h>
#include <uchar.h>
static PyObject *fn;            /* add(a, b) */
static PyThreadState *saved;    /* the JS thread's state while the GIL is released */
/* add(a, b) in Python under the GIL, the result as a JS number */
static napi_value add_in_python(napi_env env, int32_t a, int32_t b) {
  PyEval_RestoreThread(saved);
  PyObject *args[2] = { PyLong_FromLong(a), PyLong_FromLong(b) };
  PyObject *r = PyObject_Vectorcall(fn, args, 2, NULL);
  long v = PyLong_AsLong(r);
  Py_DECREF(args[0]); Py_DECREF(args[1]); Py_DECREF(r);
  saved = PyEval_SaveThread();
  napi_value out; napi_create_int32(env, (int32_t)v, &out); return out;
}
static napi_value call_add(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t a, b;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &a); napi_get_value_int32(env, argv[1], &b);
  return add_in_python(env, a, b);
}
/* same, but arguments from an Array (the clib convention) */
static napi_value call_add_arr(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; napi_value e0, e1; int32_t a, b;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_element(env, argv[2], 0, &e0); napi_get_element(env, argv[2], 1, &e1);
  napi_get_value_int32(env, e0, &a); napi_get_value_int32(env, e1, &b);
  return add_in_python(env, a, b);
}
/* echo a string through a Python str by storage kind: UTF-16 in, kind-narrowed str, by kind out */
static napi_value echo_str(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_string_utf16(env, argv[0], NULL, 0, &len);
  char16_t *buf = malloc((len + 1) * 2);
  napi_get_value_string_utf16(env, argv[0], buf, len + 1, &len);
  PyEval_RestoreThread(saved);
  PyObject *s = PyUnicode_FromKindAndData(PyUnicode_2BYTE_KIND, buf, len);
  free(buf);
  napi_value out;
  if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) napi_create_string_latin1(env, (const char *)PyUnicode_1BYTE_DATA(s), PyUnicode_GET_LENGTH(s), &out);
  else napi_create_string_utf16(env, (const char16_t *)PyUnicode_2BYTE_DATA(s), PyUnicode_GET_LENGTH(s), &out);
  Py_DECREF(s);
  saved = PyEval_SaveThread();
  return out;
}
static napi_value init(napi_env env, napi_value exports) {
  Py_InitializeEx(0);
  PyRun_SimpleString("def add(a, b):\n    return a + b\n");
  fn = PyObject_GetAttrString(PyImport_AddModule("__main__"), "add");
  saved = PyEval_SaveThread();
  napi_value f;
  napi_create_function(env, "add", NAPI_AUTO_LENGTH, call_add, NULL, &f); napi_set_named_property(env, exports, "add", f);
  napi_create_function(env, "addArr", NAPI_AUTO_LENGTH, call_add_arr, NULL, &f); napi_set_named_property(env, exports, "addArr", f);
  napi_create_function(env, "echo", NAPI_AUTO_LENGTH, echo_str, NULL, &f); napi_set_named_property(env, exports, "echo", f);
  return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
