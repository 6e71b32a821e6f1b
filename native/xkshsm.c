/*
 * xkshsm: a small PKCS#11 driver for Node.js (plain Node-API, C11).
 *
 * No PKCS#11 call runs on the JS thread. Each library object owns a fixed set
 * of worker pthreads and a FIFO task queue. A method copies its arguments into
 * native memory, queues ONE task (for example C_EncryptInit + C_Encrypt) and
 * returns a Promise. A worker runs the task's PKCS#11 calls and hands the task
 * to the library's single napi_threadsafe_function, whose callback builds the
 * JS result on the JS thread and settles the Promise.
 *
 * Lifetime (see also native/README.md):
 *  - lib_t is reference counted: one reference for the JS object, one per
 *    worker thread, one per live task, one for the threadsafe function (tsfn)
 *    and one for the env cleanup hook. The last release frees it, on whatever
 *    thread that happens.
 *  - The tsfn is referenced (keeps the event loop alive) exactly while tasks
 *    are pending: ref on 0 -> 1, unref on 1 -> 0, both on the JS thread.
 *  - A worker calls the tsfn only while holding lib->mu and only while
 *    neither env teardown nor retirement has begun; the cleanup hook and
 *    retirement set those flags under the same mutex before releasing the
 *    tsfn. A worker that finishes a call after the env is gone (a hung HSM
 *    that eventually answers) therefore just frees the task.
 *  - Threads are detached and never joined: a call that never returns blocks
 *    only its own worker, and process exit does not wait for it.
 *  - Native copies of PINs, plaintexts, attribute values, random bytes and
 *    decrypted data are zeroed before they are freed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>

#include "pkcs11.h"

/* ---------------------------------------------------------------- limits -- */

#define MAX_SAFE_INTEGER 9007199254740991.0 /* 2^53 - 1 */
#define MAX_THREADS 256
#define MAX_WATCH_US 1000
#define MAX_OUTPUT (64u * 1024u * 1024u)   /* outLength, generateRandom length */
#define MAX_FIND (1u << 20)                /* findObjects max */
#define MAX_ATTRS 1024                     /* template entries, attribute types */
#define GCM_TAG_BITS 128
#define ATTR_RETRIES 3                     /* getAttributes: value grew between passes */

/* Non-PKCS#11 failure codes (string .code on the JS Error). */
#define XERR_HANDLE_RANGE "XKS_HANDLE_RANGE"
#define XERR_OUTPUT_LENGTH "XKS_OUTPUT_LENGTH"

/* ------------------------------------------------------------------ types -- */

typedef enum {
  OP_INITIALIZE,
  OP_FINALIZE,
  OP_INFO,
  OP_SLOTS,
  OP_OPEN_SESSION,
  OP_CLOSE_SESSION,
  OP_LOGIN,
  OP_LOGOUT,
  OP_SESSION_INFO,
  OP_FIND_OBJECTS,
  OP_GET_ATTRIBUTES,
  OP_GENERATE_RANDOM,
  OP_GENERATE_KEY,
  OP_DESTROY_OBJECT,
  OP_ENCRYPT_GCM,
  OP_DECRYPT_GCM,
} op_t;

/* Native bytes. p is never NULL once allocated (at least 1 byte), so an empty
 * buffer still gives PKCS#11 a non-NULL pointer where NULL means "length query". */
typedef struct {
  uint8_t *p;
  size_t n;
} bytes_t;

typedef struct {
  CK_SLOT_ID id;
  CK_SLOT_INFO info;
  bool has_token;
  CK_TOKEN_INFO token;
} slot_result_t;

typedef struct lib lib_t;

typedef struct task {
  struct task *next;
  lib_t *lib;
  op_t op;
  napi_deferred deferred;

  /* Outcome: rv != CKR_OK names the failed call in method; xerr is a
   * non-PKCS#11 failure (message in xmsg). */
  CK_RV rv;
  const char *method;
  const char *xerr;
  const char *xmsg;

  /* Inputs (copied at submission). */
  CK_ULONG handle;  /* slot or session */
  CK_ULONG object;  /* object or key */
  CK_ULONG number;  /* mechanism, max, length, tokenPresent */
  bytes_t data;     /* PIN, plaintext or ciphertext||tag */
  bytes_t iv;       /* n == 0: pIv NULL */
  bytes_t aad;      /* n == 0: pAAD NULL */
  size_t out_len;
  CK_ATTRIBUTE *tmpl; /* template with values in native memory */
  CK_ULONG ntmpl;

  /* Outputs. */
  bytes_t out;
  size_t out_used;
  CK_ULONG result_handle;
  CK_OBJECT_HANDLE *handles;
  size_t nhandles;
  CK_ATTRIBUTE *attrs; /* getAttributes: ulValueLen == CK_UNAVAILABLE_INFORMATION -> null */
  CK_ULONG nattrs;
  CK_INFO info;
  slot_result_t *slots;
  size_t nslots;
  CK_SESSION_INFO session_info;
} task_t;

struct lib {
  atomic_int refs;
  atomic_int in_flight; /* calls executing inside the PKCS#11 library */

  pthread_mutex_t mu; /* guards everything below up to the JS-thread-only part */
  pthread_cond_t cv;
  task_t *head, *tail;
  atomic_int nqueued;  /* tasks in head..tail; written under mu, read without it by the watcher */
  int spinning;        /* workers watching the queue instead of sleeping (0 or 1) */
  int waking;          /* 1 while a signal sent to a sleeping worker has not been answered by a dequeue (0 or 1) */
  atomic_llong last_submit_ns; /* CLOCK_MONOTONIC of the latest submit (the watcher's hint) */
  long long spin_ns;   /* immutable: how long an idle worker watches the queue (0 = never) */
  /* Finished tasks waiting for the JS thread. A tsfn call (data NULL) is queued or running whenever
   * it is non-empty: completions that arrive meanwhile only append, so a busy library costs one
   * wake-up of the JS thread per batch, not per task, and the mutex is held for a pointer swap.
   * settleReady() may empty it first, on the JS thread; that tsfn call then finds nothing. */
  task_t *done_head, *done_tail;
  atomic_int has_done; /* done_head != NULL; written under mu, read without it by settleReady */
  bool stopping;       /* workers exit once the queue is empty */
  bool env_gone;       /* env cleanup hook ran: never call the tsfn, drop tasks */
  bool tsfn_released;  /* tsfn released or aborted by us: never call it again */

  /* JS thread only. */
  size_t pending;      /* submitted, not yet settled */
  bool tsfn_refed;
  bool js_gone;        /* the JS object was garbage-collected */
  bool hook_registered;
  napi_threadsafe_function tsfn;

  /* Immutable after openLibrary. */
  void *dl;
  CK_FUNCTION_LIST_PTR fl;
  char *path;
};

static const napi_type_tag LIB_TAG = {0x786b7368736d4c69ULL, 0x6272617279763031ULL};

/* ---------------------------------------------------------------- memory -- */

static void bytes_free(bytes_t *b) {
  if (b->p != NULL) {
    explicit_bzero(b->p, b->n);
    free(b->p);
  }
  b->p = NULL;
  b->n = 0;
}

static bool bytes_alloc(bytes_t *b, size_t n) {
  b->p = malloc(n ? n : 1);
  b->n = b->p ? n : 0;
  return b->p != NULL;
}

static void attrs_free(CK_ATTRIBUTE *a, CK_ULONG n) {
  if (a == NULL) return;
  for (CK_ULONG i = 0; i < n; i++) {
    if (a[i].pValue != NULL) {
      /* Every value buffer we own holds at least ulValueLen bytes: the
       * allocated size, or the (never larger) length the module wrote. */
      CK_ULONG len = a[i].ulValueLen;
      if (len != CK_UNAVAILABLE_INFORMATION) explicit_bzero(a[i].pValue, len);
      free(a[i].pValue);
    }
  }
  free(a);
}

/* The module is never dlclose()d: PKCS#11 modules (nShield's among them)
 * start threads and register exit handlers of their own, and the last
 * reference may be dropped by a worker while the process is exiting. Loading
 * the same path again reuses the loaded image, so this costs one dlopen
 * reference per library object. */
static void lib_destroy(lib_t *lib) {
  pthread_mutex_destroy(&lib->mu);
  pthread_cond_destroy(&lib->cv);
  free(lib->path);
  free(lib);
}

static void lib_ref(lib_t *lib) { atomic_fetch_add_explicit(&lib->refs, 1, memory_order_relaxed); }

static void lib_unref(lib_t *lib) {
  if (atomic_fetch_sub_explicit(&lib->refs, 1, memory_order_acq_rel) == 1) lib_destroy(lib);
}

static void task_free(task_t *t) {
  lib_t *lib = t->lib;
  bytes_free(&t->data);
  bytes_free(&t->iv);
  bytes_free(&t->aad);
  bytes_free(&t->out);
  attrs_free(t->tmpl, t->ntmpl);
  attrs_free(t->attrs, t->nattrs);
  free(t->handles);
  if (t->slots != NULL) {
    explicit_bzero(t->slots, t->nslots * sizeof *t->slots);
    free(t->slots);
  }
  free(t);
  if (lib != NULL) lib_unref(lib);
}

/* ------------------------------------------------------ worker-side calls -- */

/* Calls lib->fl->fn(...), counting it in in_flight. A missing entry in the
 * function list is CKR_FUNCTION_NOT_SUPPORTED. */
#define P11(rv, lib, fn, ...)                                                  \
  do {                                                                         \
    if ((lib)->fl->fn == NULL) {                                               \
      (rv) = CKR_FUNCTION_NOT_SUPPORTED;                                       \
    } else {                                                                   \
      atomic_fetch_add_explicit(&(lib)->in_flight, 1, memory_order_relaxed);   \
      (rv) = (lib)->fl->fn(__VA_ARGS__);                                       \
      atomic_fetch_sub_explicit(&(lib)->in_flight, 1, memory_order_relaxed);   \
    }                                                                          \
  } while (0)

static void fail(task_t *t, CK_RV rv, const char *method) {
  t->rv = rv;
  t->method = method;
}

static void xfail(task_t *t, const char *code, const char *method, const char *msg) {
  t->xerr = code;
  t->method = method;
  t->xmsg = msg;
}

/* Handles go to JS as numbers: they must be exact. */
static bool handle_ok(CK_ULONG h) { return h <= 9007199254740991UL; }

static void run_initialize(task_t *t) {
  lib_t *lib = t->lib;
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof args);
  args.flags = CKF_OS_LOCKING_OK; /* we call from several threads */
  CK_RV rv;
  P11(rv, lib, C_Initialize, &args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) rv = CKR_OK;
  if (rv != CKR_OK) fail(t, rv, "C_Initialize");
}

static void run_slots(task_t *t) {
  lib_t *lib = t->lib;
  CK_BBOOL present = t->number ? CK_TRUE : CK_FALSE;
  CK_SLOT_ID *ids = NULL;
  CK_ULONG n = 0;
  CK_RV rv;
  for (int attempt = 0;; attempt++) {
    n = 0;
    P11(rv, lib, C_GetSlotList, present, NULL_PTR, &n);
    if (rv != CKR_OK) {
      fail(t, rv, "C_GetSlotList");
      goto out;
    }
    free(ids);
    ids = calloc(n ? n : 1, sizeof *ids);
    if (ids == NULL) {
      fail(t, CKR_HOST_MEMORY, "C_GetSlotList");
      goto out;
    }
    CK_ULONG got = n;
    P11(rv, lib, C_GetSlotList, present, ids, &got);
    /* A slot appeared between the two passes: ask again. */
    if (rv == CKR_BUFFER_TOO_SMALL && attempt < 3) continue;
    if (rv != CKR_OK) {
      fail(t, rv, "C_GetSlotList");
      goto out;
    }
    n = got;
    break;
  }
  t->slots = calloc(n ? n : 1, sizeof *t->slots);
  if (t->slots == NULL) {
    fail(t, CKR_HOST_MEMORY, "C_GetSlotInfo");
    goto out;
  }
  for (CK_ULONG i = 0; i < n; i++) {
    slot_result_t *s = &t->slots[t->nslots];
    memset(s, 0, sizeof *s);
    s->id = ids[i];
    if (!handle_ok(s->id)) {
      xfail(t, XERR_HANDLE_RANGE, "C_GetSlotList", "C_GetSlotList returned a slot ID above 2^53-1");
      goto out;
    }
    P11(rv, lib, C_GetSlotInfo, s->id, &s->info);
    if (rv == CKR_SLOT_ID_INVALID) continue; /* removed since C_GetSlotList */
    if (rv != CKR_OK) {
      fail(t, rv, "C_GetSlotInfo");
      goto out;
    }
    if (s->info.flags & CKF_TOKEN_PRESENT) {
      P11(rv, lib, C_GetTokenInfo, s->id, &s->token);
      if (rv == CKR_OK) {
        s->has_token = true;
      } else if (rv == CKR_SLOT_ID_INVALID) {
        continue;
      } else if (rv != CKR_TOKEN_NOT_PRESENT && rv != CKR_TOKEN_NOT_RECOGNIZED) {
        fail(t, rv, "C_GetTokenInfo");
        goto out;
      }
    }
    t->nslots++;
  }
out:
  free(ids);
}

static void run_open_session(task_t *t) {
  lib_t *lib = t->lib;
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  CK_RV rv;
  P11(rv, lib, C_OpenSession, t->handle, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL_PTR, NULL_PTR, &h);
  if (rv != CKR_OK) {
    fail(t, rv, "C_OpenSession");
    return;
  }
  if (!handle_ok(h)) {
    P11(rv, lib, C_CloseSession, h);
    xfail(t, XERR_HANDLE_RANGE, "C_OpenSession", "C_OpenSession returned a handle above 2^53-1 (session closed)");
    return;
  }
  t->result_handle = h;
}

static void run_login(task_t *t) {
  lib_t *lib = t->lib;
  CK_RV rv;
  /* An empty PIN is a valid pointer with length 0, as pkcs11js and the reference proxy pass it
   * (nShield module protection logs in with ""); NULL_PTR would ask for a PIN pad instead. */
  static CK_UTF8CHAR empty_pin[1] = {0};
  P11(rv, lib, C_Login, t->handle, CKU_USER, t->data.n ? t->data.p : empty_pin, t->data.n);
  bytes_free(&t->data);
  if (rv == CKR_USER_ALREADY_LOGGED_IN) rv = CKR_OK;
  if (rv != CKR_OK) fail(t, rv, "C_Login");
}

static void run_find_objects(task_t *t) {
  lib_t *lib = t->lib;
  CK_RV rv;
  P11(rv, lib, C_FindObjectsInit, t->handle, t->tmpl, t->ntmpl);
  if (rv != CKR_OK) {
    fail(t, rv, "C_FindObjectsInit");
    return;
  }
  size_t max = t->number, cap = 0;
  while (t->nhandles < max) {
    if (t->nhandles == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      if (ncap > max) ncap = max;
      CK_OBJECT_HANDLE *nh = realloc(t->handles, ncap * sizeof *nh);
      if (nh == NULL) {
        fail(t, CKR_HOST_MEMORY, "C_FindObjects");
        break;
      }
      t->handles = nh;
      cap = ncap;
    }
    CK_ULONG got = 0;
    P11(rv, lib, C_FindObjects, t->handle, t->handles + t->nhandles, cap - t->nhandles, &got);
    if (rv != CKR_OK) {
      fail(t, rv, "C_FindObjects");
      break;
    }
    if (got == 0) break;
    if (got > cap - t->nhandles) got = cap - t->nhandles; /* a module that over-reports */
    t->nhandles += got;
  }
  /* Always end the search, whatever happened, so the session stays usable. */
  P11(rv, lib, C_FindObjectsFinal, t->handle);
  if (t->rv == CKR_OK && rv != CKR_OK) fail(t, rv, "C_FindObjectsFinal");
  if (t->rv != CKR_OK) return;
  for (size_t i = 0; i < t->nhandles; i++) {
    if (!handle_ok(t->handles[i])) {
      xfail(t, XERR_HANDLE_RANGE, "C_FindObjects", "C_FindObjects returned a handle above 2^53-1");
      return;
    }
  }
}

static bool attr_rv_ok(CK_RV rv) {
  /* C_GetAttributeValue processes every attribute and reports these per
   * attribute through ulValueLen = CK_UNAVAILABLE_INFORMATION. */
  return rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

static void run_get_attributes(task_t *t) {
  lib_t *lib = t->lib;
  CK_ULONG n = t->nattrs;
  CK_ATTRIBUTE *sub = NULL;
  CK_ULONG *idx = NULL;
  CK_RV rv;
  if (n == 0) return;
  sub = calloc(n, sizeof *sub);
  idx = calloc(n, sizeof *idx);
  if (sub == NULL || idx == NULL) {
    fail(t, CKR_HOST_MEMORY, "C_GetAttributeValue");
    goto out;
  }
  for (int attempt = 0;; attempt++) {
    for (CK_ULONG i = 0; i < n; i++) {
      if (t->attrs[i].pValue != NULL) {
        explicit_bzero(t->attrs[i].pValue, t->attrs[i].ulValueLen);
        free(t->attrs[i].pValue);
      }
      t->attrs[i].pValue = NULL;
      t->attrs[i].ulValueLen = 0;
    }
    /* Size pass. */
    P11(rv, lib, C_GetAttributeValue, t->handle, t->object, t->attrs, n);
    if (!attr_rv_ok(rv)) {
      fail(t, rv, "C_GetAttributeValue");
      goto out;
    }
    CK_ULONG m = 0;
    for (CK_ULONG i = 0; i < n; i++) {
      CK_ULONG len = t->attrs[i].ulValueLen;
      if (len == CK_UNAVAILABLE_INFORMATION) continue;
      if (len > MAX_OUTPUT) {
        fail(t, CKR_HOST_MEMORY, "C_GetAttributeValue");
        goto out;
      }
      t->attrs[i].pValue = malloc(len ? len : 1);
      if (t->attrs[i].pValue == NULL) {
        fail(t, CKR_HOST_MEMORY, "C_GetAttributeValue");
        goto out;
      }
      sub[m] = t->attrs[i];
      idx[m] = i;
      m++;
    }
    if (m == 0) break;
    /* Value pass, over the attributes that have a value only. */
    P11(rv, lib, C_GetAttributeValue, t->handle, t->object, sub, m);
    if (rv == CKR_BUFFER_TOO_SMALL && attempt + 1 < ATTR_RETRIES) continue;
    if (!attr_rv_ok(rv)) {
      fail(t, rv, "C_GetAttributeValue");
      goto out;
    }
    for (CK_ULONG j = 0; j < m; j++) {
      CK_ATTRIBUTE *a = &t->attrs[idx[j]];
      if (sub[j].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        /* Refused in the value pass after all: null. Keep ulValueLen as the
         * allocated size so that the buffer is wiped before it is freed. */
        explicit_bzero(a->pValue, a->ulValueLen);
        free(a->pValue);
        a->pValue = NULL;
        a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
      } else if (sub[j].ulValueLen <= a->ulValueLen) {
        a->ulValueLen = sub[j].ulValueLen;
      } else {
        fail(t, CKR_BUFFER_TOO_SMALL, "C_GetAttributeValue"); /* module over-reported */
        goto out;
      }
    }
    break;
  }
out:
  free(sub);
  free(idx);
}

static void run_gcm(task_t *t, bool encrypt) {
  lib_t *lib = t->lib;
  CK_GCM_PARAMS gp;
  memset(&gp, 0, sizeof gp);
  gp.pIv = t->iv.n ? t->iv.p : NULL_PTR;
  gp.ulIvLen = t->iv.n;
  gp.ulIvBits = t->iv.n * 8;
  gp.pAAD = t->aad.n ? t->aad.p : NULL_PTR;
  gp.ulAADLen = t->aad.n;
  gp.ulTagBits = GCM_TAG_BITS;
  CK_MECHANISM mech = {CKM_AES_GCM, &gp, sizeof gp};
  CK_ULONG outl = t->out_len;
  CK_RV rv;
  if (encrypt) {
    P11(rv, lib, C_EncryptInit, t->handle, &mech, t->object);
    if (rv != CKR_OK) {
      fail(t, rv, "C_EncryptInit");
      goto out;
    }
    P11(rv, lib, C_Encrypt, t->handle, t->data.p, t->data.n, t->out.p, &outl);
    if (rv != CKR_OK) {
      fail(t, rv, "C_Encrypt");
      goto out;
    }
  } else {
    P11(rv, lib, C_DecryptInit, t->handle, &mech, t->object);
    if (rv != CKR_OK) {
      fail(t, rv, "C_DecryptInit");
      goto out;
    }
    P11(rv, lib, C_Decrypt, t->handle, t->data.p, t->data.n, t->out.p, &outl);
    if (rv != CKR_OK) {
      fail(t, rv, "C_Decrypt");
      goto out;
    }
  }
  if (outl > t->out_len) {
    xfail(t, XERR_OUTPUT_LENGTH, encrypt ? "C_Encrypt" : "C_Decrypt",
          encrypt ? "C_Encrypt reported more bytes than the output buffer holds"
                  : "C_Decrypt reported more bytes than the output buffer holds");
    goto out;
  }
  t->out_used = outl;
out:
  /* The input is no longer needed; wipe it now rather than when the JS
   * thread gets round to freeing the task. */
  bytes_free(&t->data);
}

static void run_task(task_t *t) {
  lib_t *lib = t->lib;
  CK_RV rv;
  switch (t->op) {
    case OP_INITIALIZE:
      run_initialize(t);
      break;
    case OP_FINALIZE:
      P11(rv, lib, C_Finalize, NULL_PTR);
      if (rv != CKR_OK) fail(t, rv, "C_Finalize");
      break;
    case OP_INFO:
      P11(rv, lib, C_GetInfo, &t->info);
      if (rv != CKR_OK) fail(t, rv, "C_GetInfo");
      break;
    case OP_SLOTS:
      run_slots(t);
      break;
    case OP_OPEN_SESSION:
      run_open_session(t);
      break;
    case OP_CLOSE_SESSION:
      P11(rv, lib, C_CloseSession, t->handle);
      if (rv != CKR_OK) fail(t, rv, "C_CloseSession");
      break;
    case OP_LOGIN:
      run_login(t);
      break;
    case OP_LOGOUT:
      P11(rv, lib, C_Logout, t->handle);
      if (rv != CKR_OK) fail(t, rv, "C_Logout");
      break;
    case OP_SESSION_INFO:
      P11(rv, lib, C_GetSessionInfo, t->handle, &t->session_info);
      if (rv != CKR_OK) fail(t, rv, "C_GetSessionInfo");
      else if (!handle_ok(t->session_info.slotID))
        xfail(t, XERR_HANDLE_RANGE, "C_GetSessionInfo", "C_GetSessionInfo returned a slot ID above 2^53-1");
      break;
    case OP_FIND_OBJECTS:
      run_find_objects(t);
      break;
    case OP_GET_ATTRIBUTES:
      run_get_attributes(t);
      break;
    case OP_GENERATE_RANDOM:
      P11(rv, lib, C_GenerateRandom, t->handle, t->out.p, t->out.n);
      if (rv != CKR_OK) fail(t, rv, "C_GenerateRandom");
      break;
    case OP_GENERATE_KEY: {
      CK_MECHANISM mech = {t->number, NULL_PTR, 0};
      CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
      P11(rv, lib, C_GenerateKey, t->handle, &mech, t->tmpl, t->ntmpl, &h);
      if (rv != CKR_OK) fail(t, rv, "C_GenerateKey");
      else if (!handle_ok(h))
        xfail(t, XERR_HANDLE_RANGE, "C_GenerateKey", "C_GenerateKey returned a handle above 2^53-1");
      else t->result_handle = h;
      break;
    }
    case OP_DESTROY_OBJECT:
      P11(rv, lib, C_DestroyObject, t->handle, t->object);
      if (rv != CKR_OK) fail(t, rv, "C_DestroyObject");
      break;
    case OP_ENCRYPT_GCM:
      run_gcm(t, true);
      break;
    case OP_DECRYPT_GCM:
      run_gcm(t, false);
      break;
  }
}

/* ----------------------------------------------------------------- worker -- */

static long long now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* Returns once a task is queued or lib->spin_ns has passed, yielding the CPU between looks. */
static void watch_queue(lib_t *lib) {
  long long t0 = now_ns();
  for (unsigned i = 1;; i++) {
    if (atomic_load_explicit(&lib->nqueued, memory_order_acquire) > 0) return;
    if ((i & 7) == 0 && now_ns() - t0 > lib->spin_ns) return;
    sched_yield();
  }
}

static void *worker_main(void *arg) {
  lib_t *lib = arg;
  pthread_mutex_lock(&lib->mu);
  for (;;) {
    if (lib->head == NULL && !lib->stopping && lib->spinning == 0 && lib->spin_ns > 0 &&
        now_ns() - atomic_load_explicit(&lib->last_submit_ns, memory_order_relaxed) < lib->spin_ns) {
      /* While tasks come faster than one per spin_ns (opts.watchUs), one idle worker watches the
       * queue for that long before it sleeps: a task queued meanwhile needs no futex wake-up from
       * the JS thread (submit), which costs that thread ~11 us on a VM, a tenth of a signed
       * Encrypt (docs/decisions/0008). Slower traffic never spins. */
      lib->spinning = 1;
      pthread_mutex_unlock(&lib->mu);
      watch_queue(lib);
      pthread_mutex_lock(&lib->mu);
      lib->spinning = 0;
    }
    while (lib->head == NULL && !lib->stopping) {
      lib->waking = 0; /* nothing queued: a signal still in flight has nothing to answer */
      pthread_cond_wait(&lib->cv, &lib->mu);
    }
    task_t *t = lib->head;
    if (t == NULL) break; /* stopping and nothing left to do */
    lib->head = t->next;
    if (lib->head == NULL) lib->tail = NULL;
    atomic_fetch_sub_explicit(&lib->nqueued, 1, memory_order_relaxed);
    if (lib->waking > 0) lib->waking--;
    t->next = NULL;
    if (lib->env_gone) {
      /* Nobody can receive the result any more. */
      pthread_mutex_unlock(&lib->mu);
      task_free(t);
      pthread_mutex_lock(&lib->mu);
      continue;
    }
    /* More queued: this worker wakes the next sleeper (a chain), so a burst of tasks costs the JS
     * thread at most one wake-up. */
    bool chain = lib->head != NULL && lib->waking == 0 && lib->spinning == 0;
    if (chain) lib->waking++;
    pthread_mutex_unlock(&lib->mu);
    if (chain) pthread_cond_signal(&lib->cv);

    run_task(t);

    pthread_mutex_lock(&lib->mu);
    bool delivered = false;
    if (!lib->env_gone && !lib->tsfn_released) {
      bool first = lib->done_head == NULL;
      if (lib->done_tail) lib->done_tail->next = t;
      else lib->done_head = t;
      lib->done_tail = t;
      atomic_store_explicit(&lib->has_done, 1, memory_order_relaxed);
      delivered = true;
      /* Unbounded queue: non-blocking never waits. Holding lib->mu here is
       * what makes the env_gone/tsfn_released check race-free. */
      if (first && napi_call_threadsafe_function(lib->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok) {
        lib->done_head = lib->done_tail = NULL; /* t was the only one */
        atomic_store_explicit(&lib->has_done, 0, memory_order_relaxed);
        delivered = false;
      }
    }
    if (!delivered) {
      pthread_mutex_unlock(&lib->mu);
      task_free(t);
      pthread_mutex_lock(&lib->mu);
    }
  }
  pthread_mutex_unlock(&lib->mu);
  lib_unref(lib);
  return NULL;
}

/* ------------------------------------------------------- JS-thread helpers -- */

static napi_value throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static napi_value throw_type(napi_env env, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, NULL, msg);
  return NULL;
}

/* Throws an Error with a string .code (e.g. XKS_DLOPEN). */
static napi_value throw_coded(napi_env env, const char *code, const char *msg, CK_RV rv, const char *method) {
  napi_value err, m, c, meth;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_error(env, NULL, m, &err) != napi_ok) {
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  if (code != NULL) napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  else napi_create_double(env, (double)rv, &c);
  napi_set_named_property(env, err, "code", c);
  if (method != NULL && napi_create_string_utf8(env, method, NAPI_AUTO_LENGTH, &meth) == napi_ok)
    napi_set_named_property(env, err, "method", meth);
  napi_throw(env, err);
  return NULL;
}

static bool get_number(napi_env env, napi_value v, double *out) {
  napi_valuetype ty;
  if (napi_typeof(env, v, &ty) != napi_ok || ty != napi_number) return false;
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* A CK_ULONG handle or type: an integer in [0, 2^53-1]. */
static bool arg_ulong(napi_env env, napi_value v, const char *what, CK_ULONG *out) {
  double d;
  if (!get_number(env, v, &d) || !isfinite(d) || d < 0 || d > MAX_SAFE_INTEGER || floor(d) != d) {
    throw_type(env, "%s must be an integer from 0 to 2^53-1", what);
    return false;
  }
  *out = (CK_ULONG)d;
  return true;
}

static bool arg_count(napi_env env, napi_value v, const char *what, double min, double max, size_t *out) {
  double d;
  if (!get_number(env, v, &d) || !isfinite(d) || d < min || d > max || floor(d) != d) {
    throw_type(env, "%s must be an integer from %.0f to %.0f", what, min, max);
    return false;
  }
  *out = (size_t)d;
  return true;
}

/* Copies a Uint8Array (Buffer) into native memory. */
static bool arg_bytes(napi_env env, napi_value v, const char *what, bytes_t *out) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    throw_type(env, "%s must be a Buffer or Uint8Array", what);
    return false;
  }
  if (!bytes_alloc(out, len)) {
    napi_throw_error(env, NULL, "out of memory");
    return false;
  }
  if (len) memcpy(out->p, data, len);
  return true;
}

static bool arg_array(napi_env env, napi_value v, const char *what, uint32_t max, uint32_t *len) {
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, len) != napi_ok) {
    throw_type(env, "%s must be an array", what);
    return false;
  }
  if (*len > max) {
    throw_type(env, "%s has more than %u entries", what, max);
    return false;
  }
  return true;
}

/* [[type, Buffer], ...] -> CK_ATTRIBUTE[] with native copies of the values. */
static bool arg_template(napi_env env, napi_value v, CK_ATTRIBUTE **out, CK_ULONG *nout) {
  uint32_t n;
  if (!arg_array(env, v, "template", MAX_ATTRS, &n)) return false;
  CK_ATTRIBUTE *a = calloc(n ? n : 1, sizeof *a);
  if (a == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return false;
  }
  *out = a;
  *nout = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e, ty, val;
    uint32_t elen = 0;
    bool is_array = false;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_is_array(env, e, &is_array) != napi_ok || !is_array ||
        napi_get_array_length(env, e, &elen) != napi_ok || elen != 2 || napi_get_element(env, e, 0, &ty) != napi_ok ||
        napi_get_element(env, e, 1, &val) != napi_ok) {
      throw_type(env, "template[%u] must be [type: number, value: Buffer]", i);
      return false;
    }
    CK_ULONG type;
    char what[48];
    snprintf(what, sizeof what, "template[%u][0]", i);
    if (!arg_ulong(env, ty, what, &type)) return false;
    bytes_t b = {0};
    snprintf(what, sizeof what, "template[%u][1]", i);
    if (!arg_bytes(env, val, what, &b)) return false;
    a[i].type = type;
    a[i].pValue = b.p;
    a[i].ulValueLen = b.n;
    *nout = i + 1;
  }
  return true;
}

static lib_t *this_lib(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  bool tagged = false;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  napi_valuetype ty;
  if (napi_typeof(env, self, &ty) != napi_ok || ty != napi_object ||
      napi_check_object_type_tag(env, self, &LIB_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    throw_type(env, "method called on an object that is not a NativeLibrary");
    return NULL;
  }
  return data;
}

static task_t *task_new(napi_env env, op_t op) {
  task_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  t->op = op;
  return t;
}

/* Queues t and returns its Promise; frees t on failure. */
static napi_value submit(napi_env env, lib_t *lib, task_t *t) {
  napi_value promise;
  if (napi_create_promise(env, &t->deferred, &promise) != napi_ok) {
    task_free(t);
    napi_throw_error(env, NULL, "cannot create a Promise");
    return NULL;
  }
  lib_ref(lib);
  t->lib = lib;
  if (lib->pending++ == 0 && !lib->tsfn_refed) {
    napi_ref_threadsafe_function(env, lib->tsfn);
    lib->tsfn_refed = true;
  }
  pthread_mutex_lock(&lib->mu);
  if (lib->tail) lib->tail->next = t;
  else lib->head = t;
  lib->tail = t;
  /* Wake a sleeper only when no worker watches the queue and no wake-up is on its way: the
   * worker that takes a task wakes the next one while more are queued. Race-free: `spinning` and
   * `waking` change under mu, and a worker checks the queue under mu before it sleeps. */
  atomic_fetch_add_explicit(&lib->nqueued, 1, memory_order_release);
  atomic_store_explicit(&lib->last_submit_ns, now_ns(), memory_order_relaxed);
  bool wake = lib->spinning == 0 && lib->waking == 0;
  if (wake) lib->waking++;
  pthread_mutex_unlock(&lib->mu);
  if (wake) pthread_cond_signal(&lib->cv); /* after the unlock: the woken worker does not wait for the mutex */
  return promise;
}

static void cleanup_hook(void *arg);

/* JS thread, once the JS object is gone and nothing is pending: stop using
 * the tsfn and the cleanup hook. */
static void lib_retire(napi_env env, lib_t *lib) {
  pthread_mutex_lock(&lib->mu);
  bool release = !lib->tsfn_released && !lib->env_gone;
  lib->tsfn_released = true;
  pthread_mutex_unlock(&lib->mu);
  if (release) napi_release_threadsafe_function(lib->tsfn, napi_tsfn_release);
  if (lib->hook_registered) {
    lib->hook_registered = false;
    napi_remove_env_cleanup_hook(env, cleanup_hook, lib);
    lib_unref(lib); /* the hook's reference */
  }
}

/* ----------------------------------------------------------- JS results -- */

static napi_status set_str(napi_env env, napi_value obj, const char *name, const CK_UTF8CHAR *s, size_t n) {
  /* PKCS#11 pads fixed-length text with blanks; some modules use NULs. */
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0')) n--;
  napi_value v;
  napi_status st = napi_create_string_utf8(env, (const char *)s, n, &v);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, obj, name, v);
}

static napi_status set_num(napi_env env, napi_value obj, const char *name, double d) {
  napi_value v;
  napi_status st = napi_create_double(env, d, &v);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, obj, name, v);
}

static napi_status set_version(napi_env env, napi_value obj, const char *name, CK_VERSION ver) {
  char buf[16];
  snprintf(buf, sizeof buf, "%u.%u", (unsigned)ver.major, (unsigned)ver.minor);
  napi_value v;
  napi_status st = napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &v);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, obj, name, v);
}

static napi_status make_buffer(napi_env env, const uint8_t *p, size_t n, napi_value *out) {
  void *copy;
  return napi_create_buffer_copy(env, n, n ? p : (const uint8_t *)"", &copy, out);
}

#define ST(call)                                                               \
  do {                                                                         \
    if ((st = (call)) != napi_ok) return st;                                   \
  } while (0)

static napi_status token_value(napi_env env, const CK_TOKEN_INFO *ti, napi_value *out) {
  napi_status st;
  ST(napi_create_object(env, out));
  ST(set_str(env, *out, "label", ti->label, sizeof ti->label));
  ST(set_str(env, *out, "manufacturerId", ti->manufacturerID, sizeof ti->manufacturerID));
  ST(set_str(env, *out, "model", ti->model, sizeof ti->model));
  ST(set_str(env, *out, "serialNumber", ti->serialNumber, sizeof ti->serialNumber));
  ST(set_num(env, *out, "flags", (double)ti->flags));
  ST(set_version(env, *out, "hardwareVersion", ti->hardwareVersion));
  ST(set_version(env, *out, "firmwareVersion", ti->firmwareVersion));
  return napi_ok;
}

static napi_status result_value(napi_env env, task_t *t, napi_value *out) {
  napi_status st;
  switch (t->op) {
    case OP_INITIALIZE:
    case OP_FINALIZE:
    case OP_CLOSE_SESSION:
    case OP_LOGIN:
    case OP_LOGOUT:
    case OP_DESTROY_OBJECT:
      return napi_get_undefined(env, out);
    case OP_INFO:
      ST(napi_create_object(env, out));
      ST(set_str(env, *out, "manufacturerId", t->info.manufacturerID, sizeof t->info.manufacturerID));
      ST(set_str(env, *out, "libraryDescription", t->info.libraryDescription, sizeof t->info.libraryDescription));
      ST(set_version(env, *out, "cryptokiVersion", t->info.cryptokiVersion));
      ST(set_version(env, *out, "libraryVersion", t->info.libraryVersion));
      return napi_ok;
    case OP_SLOTS:
      ST(napi_create_array_with_length(env, t->nslots, out));
      for (size_t i = 0; i < t->nslots; i++) {
        const slot_result_t *s = &t->slots[i];
        napi_value o;
        ST(napi_create_object(env, &o));
        ST(set_num(env, o, "slot", (double)s->id));
        ST(set_str(env, o, "description", s->info.slotDescription, sizeof s->info.slotDescription));
        ST(set_num(env, o, "flags", (double)s->info.flags));
        if (s->has_token) {
          napi_value tok;
          ST(token_value(env, &s->token, &tok));
          ST(napi_set_named_property(env, o, "token", tok));
        }
        ST(napi_set_element(env, *out, (uint32_t)i, o));
      }
      return napi_ok;
    case OP_OPEN_SESSION:
    case OP_GENERATE_KEY:
      return napi_create_double(env, (double)t->result_handle, out);
    case OP_SESSION_INFO:
      ST(napi_create_object(env, out));
      ST(set_num(env, *out, "slot", (double)t->session_info.slotID));
      ST(set_num(env, *out, "state", (double)t->session_info.state));
      ST(set_num(env, *out, "flags", (double)t->session_info.flags));
      ST(set_num(env, *out, "deviceError", (double)t->session_info.ulDeviceError));
      return napi_ok;
    case OP_FIND_OBJECTS:
      ST(napi_create_array_with_length(env, t->nhandles, out));
      for (size_t i = 0; i < t->nhandles; i++) {
        napi_value h;
        ST(napi_create_double(env, (double)t->handles[i], &h));
        ST(napi_set_element(env, *out, (uint32_t)i, h));
      }
      return napi_ok;
    case OP_GET_ATTRIBUTES:
      ST(napi_create_array_with_length(env, t->nattrs, out));
      for (CK_ULONG i = 0; i < t->nattrs; i++) {
        napi_value v;
        const CK_ATTRIBUTE *a = &t->attrs[i];
        if (a->pValue == NULL || a->ulValueLen == CK_UNAVAILABLE_INFORMATION) ST(napi_get_null(env, &v));
        else ST(make_buffer(env, a->pValue, a->ulValueLen, &v));
        ST(napi_set_element(env, *out, (uint32_t)i, v));
      }
      return napi_ok;
    case OP_GENERATE_RANDOM:
      return make_buffer(env, t->out.p, t->out.n, out);
    case OP_ENCRYPT_GCM: {
      napi_value o, iv;
      ST(napi_create_object(env, out));
      ST(make_buffer(env, t->out.p, t->out_used, &o));
      ST(make_buffer(env, t->iv.p, t->iv.n, &iv));
      ST(napi_set_named_property(env, *out, "output", o));
      ST(napi_set_named_property(env, *out, "iv", iv));
      return napi_ok;
    }
    case OP_DECRYPT_GCM:
      return make_buffer(env, t->out.p, t->out_used, out);
  }
  return napi_generic_failure;
}

static napi_status error_value(napi_env env, task_t *t, napi_value *out) {
  napi_status st;
  char msg[160];
  napi_value m, code, method;
  if (t->xerr != NULL) snprintf(msg, sizeof msg, "%s", t->xmsg);
  else snprintf(msg, sizeof msg, "%s returned 0x%08lx", t->method, (unsigned long)t->rv);
  ST(napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m));
  ST(napi_create_error(env, NULL, m, out));
  if (t->xerr != NULL) ST(napi_create_string_utf8(env, t->xerr, NAPI_AUTO_LENGTH, &code));
  else ST(napi_create_double(env, (double)t->rv, &code));
  ST(napi_set_named_property(env, *out, "code", code));
  ST(napi_create_string_utf8(env, t->method, NAPI_AUTO_LENGTH, &method));
  ST(napi_set_named_property(env, *out, "method", method));
  return napi_ok;
}

static void settle(napi_env env, task_t *t);

/* On the JS thread (env == NULL while the tsfn is torn down: frees instead): settles every finished
 * task of the library, in completion order. Returns how many. */
static size_t settle_done(napi_env env, lib_t *lib) {
  pthread_mutex_lock(&lib->mu);
  task_t *t = lib->done_head;
  lib->done_head = lib->done_tail = NULL;
  atomic_store_explicit(&lib->has_done, 0, memory_order_relaxed);
  pthread_mutex_unlock(&lib->mu);
  size_t n = 0;
  while (t != NULL) {
    task_t *next = t->next;
    t->next = NULL;
    if (env == NULL) task_free(t);
    else settle(env, t);
    t = next;
    n++;
  }
  return n;
}

/* The tsfn callback: settles what has finished by the time the event loop comes round to it. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)data;
  settle_done(env, context);
}

/* One finished task: its Promise settled, its memory wiped and freed. */
static void settle(napi_env env, task_t *t) {
  lib_t *lib = t->lib;
  napi_value v;
  bool failed = t->rv != CKR_OK || t->xerr != NULL;
  napi_status st = failed ? error_value(env, t, &v) : result_value(env, t, &v);
  if (st == napi_ok) {
    if (failed) napi_reject_deferred(env, t->deferred, v);
    else napi_resolve_deferred(env, t->deferred, v);
  } else {
    /* Building the result failed (out of memory in V8?): still settle. */
    napi_value m, err;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &err);
    if (napi_create_string_utf8(env, "xkshsm: cannot build the result", NAPI_AUTO_LENGTH, &m) == napi_ok &&
        napi_create_error(env, NULL, m, &err) == napi_ok)
      napi_reject_deferred(env, t->deferred, err);
  }
  /* Wipe secrets (decrypted data, attribute values) before anything else. */
  task_free(t);
  if (--lib->pending == 0) {
    if (lib->tsfn_refed) {
      napi_unref_threadsafe_function(env, lib->tsfn);
      lib->tsfn_refed = false;
    }
    if (lib->js_gone) lib_retire(env, lib);
  }
}

/* -------------------------------------------------------------- lifetime -- */

/* Env teardown (normal exit, worker_threads termination); runs before Node's
 * own teardown of the tsfn because hooks run in reverse order of
 * registration and ours is added after the tsfn is created. */
static void cleanup_hook(void *arg) {
  lib_t *lib = arg;
  pthread_mutex_lock(&lib->mu);
  lib->env_gone = true;
  lib->stopping = true;
  bool release = !lib->tsfn_released;
  lib->tsfn_released = true;
  pthread_cond_broadcast(&lib->cv);
  pthread_mutex_unlock(&lib->mu);
  lib->hook_registered = false;
  /* Abort: tasks still in the tsfn queue come back through call_js with
   * env == NULL and are freed there. */
  if (release) napi_release_threadsafe_function(lib->tsfn, napi_tsfn_abort);
  lib_unref(lib); /* the hook's reference */
}

static void tsfn_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  lib_unref(data); /* the tsfn's reference */
}

/* The JS object was garbage-collected (or the env is going away). */
static void lib_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  lib_t *lib = data;
  pthread_mutex_lock(&lib->mu);
  lib->stopping = true; /* idle workers exit; queued tasks still run */
  bool env_gone = lib->env_gone;
  pthread_cond_broadcast(&lib->cv);
  pthread_mutex_unlock(&lib->mu);
  lib->js_gone = true;
  if (!env_gone && lib->pending == 0) lib_retire(env, lib);
  lib_unref(lib); /* the JS object's reference */
}

/* ------------------------------------------------------------ JS methods -- */

#define ARGS(n)                                                                \
  size_t argc = (n);                                                           \
  napi_value argv[(n) > 0 ? (n) : 1];                                          \
  lib_t *lib = this_lib(env, info, &argc, argv);                               \
  if (lib == NULL) return NULL

#define NEW_TASK(op)                                                           \
  task_t *t = task_new(env, (op));                                              \
  if (t == NULL) return NULL

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      task_free(t);                                                            \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static napi_value m_initialize(napi_env env, napi_callback_info info) {
  ARGS(0);
  NEW_TASK(OP_INITIALIZE);
  return submit(env, lib, t);
}

static napi_value m_finalize(napi_env env, napi_callback_info info) {
  ARGS(0);
  NEW_TASK(OP_FINALIZE);
  return submit(env, lib, t);
}

static napi_value m_info(napi_env env, napi_callback_info info) {
  ARGS(0);
  NEW_TASK(OP_INFO);
  return submit(env, lib, t);
}

static napi_value m_slots(napi_env env, napi_callback_info info) {
  ARGS(1);
  bool present;
  napi_valuetype ty;
  if (napi_typeof(env, argv[0], &ty) != napi_ok || ty != napi_boolean ||
      napi_get_value_bool(env, argv[0], &present) != napi_ok)
    return throw_type(env, "tokenPresent must be a boolean");
  NEW_TASK(OP_SLOTS);
  t->number = present;
  return submit(env, lib, t);
}

/* Methods whose only argument is a handle. */
static napi_value handle_op(napi_env env, napi_callback_info info, op_t op, const char *what) {
  ARGS(1);
  NEW_TASK(op);
  CHECK(arg_ulong(env, argv[0], what, &t->handle));
  return submit(env, lib, t);
}

static napi_value m_open_session(napi_env env, napi_callback_info info) {
  return handle_op(env, info, OP_OPEN_SESSION, "slot");
}
static napi_value m_close_session(napi_env env, napi_callback_info info) {
  return handle_op(env, info, OP_CLOSE_SESSION, "session");
}
static napi_value m_logout(napi_env env, napi_callback_info info) {
  return handle_op(env, info, OP_LOGOUT, "session");
}
static napi_value m_session_info(napi_env env, napi_callback_info info) {
  return handle_op(env, info, OP_SESSION_INFO, "session");
}

static napi_value m_login(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_TASK(OP_LOGIN);
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_bytes(env, argv[1], "pin", &t->data));
  return submit(env, lib, t);
}

static napi_value m_find_objects(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_TASK(OP_FIND_OBJECTS);
  size_t max;
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_template(env, argv[1], &t->tmpl, &t->ntmpl));
  CHECK(arg_count(env, argv[2], "max", 1, MAX_FIND, &max));
  t->number = max;
  return submit(env, lib, t);
}

static napi_value m_get_attributes(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_TASK(OP_GET_ATTRIBUTES);
  uint32_t n;
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_ulong(env, argv[1], "object", &t->object));
  CHECK(arg_array(env, argv[2], "types", MAX_ATTRS, &n));
  t->attrs = calloc(n ? n : 1, sizeof *t->attrs);
  if (t->attrs == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    CHECK(false);
  }
  t->nattrs = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    char what[32];
    snprintf(what, sizeof what, "types[%u]", i);
    CHECK(napi_get_element(env, argv[2], i, &e) == napi_ok);
    CHECK(arg_ulong(env, e, what, &t->attrs[i].type));
  }
  return submit(env, lib, t);
}

static napi_value m_generate_random(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_TASK(OP_GENERATE_RANDOM);
  size_t len;
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_count(env, argv[1], "length", 0, MAX_OUTPUT, &len));
  if (!bytes_alloc(&t->out, len)) {
    napi_throw_error(env, NULL, "out of memory");
    CHECK(false);
  }
  return submit(env, lib, t);
}

static napi_value m_generate_key(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_TASK(OP_GENERATE_KEY);
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_ulong(env, argv[1], "mechanism", &t->number));
  CHECK(arg_template(env, argv[2], &t->tmpl, &t->ntmpl));
  return submit(env, lib, t);
}

static napi_value m_destroy_object(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_TASK(OP_DESTROY_OBJECT);
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_ulong(env, argv[1], "object", &t->object));
  return submit(env, lib, t);
}

static napi_value gcm_op(napi_env env, napi_callback_info info, op_t op) {
  ARGS(6);
  NEW_TASK(op);
  CHECK(arg_ulong(env, argv[0], "session", &t->handle));
  CHECK(arg_ulong(env, argv[1], "key", &t->object));
  CHECK(arg_bytes(env, argv[2], "iv", &t->iv));
  CHECK(arg_bytes(env, argv[3], "aad", &t->aad));
  CHECK(arg_bytes(env, argv[4], op == OP_ENCRYPT_GCM ? "plaintext" : "input", &t->data));
  CHECK(arg_count(env, argv[5], "outLength", 0, MAX_OUTPUT, &t->out_len));
  if (!bytes_alloc(&t->out, t->out_len)) {
    napi_throw_error(env, NULL, "out of memory");
    CHECK(false);
  }
  return submit(env, lib, t);
}

static napi_value m_encrypt_gcm(napi_env env, napi_callback_info info) { return gcm_op(env, info, OP_ENCRYPT_GCM); }
static napi_value m_decrypt_gcm(napi_env env, napi_callback_info info) { return gcm_op(env, info, OP_DECRYPT_GCM); }

static napi_value m_in_flight(napi_env env, napi_callback_info info) {
  ARGS(0);
  napi_value v;
  napi_create_int32(env, atomic_load_explicit(&lib->in_flight, memory_order_relaxed), &v);
  return v;
}

/* settleReady(): settles, now, the tasks that have finished and wait for the event loop's next turn
 * (the tsfn), and returns how many. A relaxed load when there are none: cheap enough to call between
 * requests. Under load a turn of the loop can take many ms (every connection's reads), and a result
 * ready in µs would otherwise wait for the next one. Promise reactions run at the caller's next
 * microtask checkpoint, as they would from the tsfn. */
static napi_value m_settle_ready(napi_env env, napi_callback_info info) {
  ARGS(0);
  size_t n = atomic_load_explicit(&lib->has_done, memory_order_relaxed) ? settle_done(env, lib) : 0;
  napi_value v;
  napi_create_double(env, (double)n, &v);
  return v;
}

static napi_value m_pending(napi_env env, napi_callback_info info) {
  ARGS(0);
  napi_value v;
  napi_create_double(env, (double)lib->pending, &v);
  return v;
}

/* ---------------------------------------------------------- openLibrary -- */

static bool start_workers(lib_t *lib, size_t n) {
  pthread_attr_t attr;
  sigset_t all, old;
  bool ok = true;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* Workers inherit a mask with the asynchronous signals blocked, so that
   * SIGINT, SIGTERM, SIGCHLD... are delivered to Node's own threads. Faults
   * stay unblocked: a blocked SIGSEGV would bypass any installed handler. */
  sigfillset(&all);
  static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&all, faults[i]);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (size_t i = 0; i < n; i++) {
    pthread_t th;
    lib_ref(lib);
    if (pthread_create(&th, &attr, worker_main, lib) != 0) {
      lib_unref(lib);
      ok = false;
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return ok;
}

static napi_value define_methods(napi_env env, napi_value obj, napi_value path) {
  const napi_property_descriptor props[] = {
      {"path", NULL, NULL, NULL, NULL, path, napi_enumerable, NULL},
      {"initialize", NULL, m_initialize, NULL, NULL, NULL, napi_default_method, NULL},
      {"finalize", NULL, m_finalize, NULL, NULL, NULL, napi_default_method, NULL},
      {"info", NULL, m_info, NULL, NULL, NULL, napi_default_method, NULL},
      {"slots", NULL, m_slots, NULL, NULL, NULL, napi_default_method, NULL},
      {"openSession", NULL, m_open_session, NULL, NULL, NULL, napi_default_method, NULL},
      {"closeSession", NULL, m_close_session, NULL, NULL, NULL, napi_default_method, NULL},
      {"login", NULL, m_login, NULL, NULL, NULL, napi_default_method, NULL},
      {"logout", NULL, m_logout, NULL, NULL, NULL, napi_default_method, NULL},
      {"sessionInfo", NULL, m_session_info, NULL, NULL, NULL, napi_default_method, NULL},
      {"findObjects", NULL, m_find_objects, NULL, NULL, NULL, napi_default_method, NULL},
      {"getAttributes", NULL, m_get_attributes, NULL, NULL, NULL, napi_default_method, NULL},
      {"generateRandom", NULL, m_generate_random, NULL, NULL, NULL, napi_default_method, NULL},
      {"generateKey", NULL, m_generate_key, NULL, NULL, NULL, napi_default_method, NULL},
      {"destroyObject", NULL, m_destroy_object, NULL, NULL, NULL, napi_default_method, NULL},
      {"encryptGcm", NULL, m_encrypt_gcm, NULL, NULL, NULL, napi_default_method, NULL},
      {"decryptGcm", NULL, m_decrypt_gcm, NULL, NULL, NULL, napi_default_method, NULL},
      {"inFlight", NULL, m_in_flight, NULL, NULL, NULL, napi_default_method, NULL},
      {"pending", NULL, m_pending, NULL, NULL, NULL, napi_default_method, NULL},
      {"settleReady", NULL, m_settle_ready, NULL, NULL, NULL, napi_default_method, NULL},
  };
  if (napi_define_properties(env, obj, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return obj;
}

static void ready_flag_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  lib_unref(hint);
}

_Static_assert(sizeof(atomic_int) == sizeof(int32_t), "readyFlag is an Int32Array over has_done");

/* openLibrary(path, { threads }): dlopen + C_GetFunctionList, start workers. */
static napi_value open_library(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], jsthreads, obj, name;
  char *path = NULL;
  size_t plen = 0, threads;
  napi_valuetype ty;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (napi_typeof(env, argv[0], &ty) != napi_ok || ty != napi_string ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &plen) != napi_ok || plen == 0)
    return throw_type(env, "path must be a non-empty string");
  if (napi_typeof(env, argv[1], &ty) != napi_ok || ty != napi_object ||
      napi_get_named_property(env, argv[1], "threads", &jsthreads) != napi_ok)
    return throw_type(env, "opts must be an object { threads: number }");
  if (!arg_count(env, jsthreads, "opts.threads", 1, MAX_THREADS, &threads)) return NULL;
  /* opts.watchUs: how long an idle worker watches the queue before it sleeps (default 0, never);
   * XKSHSM_SPIN_US, when set, overrides it (for measurements). */
  size_t watch_us = 0;
  bool has_watch = false;
  if (napi_has_named_property(env, argv[1], "watchUs", &has_watch) != napi_ok) return NULL;
  if (has_watch) {
    napi_value jswatch;
    if (napi_get_named_property(env, argv[1], "watchUs", &jswatch) != napi_ok) return NULL;
    if (napi_typeof(env, jswatch, &ty) != napi_ok) return NULL;
    if (ty != napi_undefined && !arg_count(env, jswatch, "opts.watchUs", 0, MAX_WATCH_US, &watch_us)) return NULL;
  }
  const char *spin_env = getenv("XKSHSM_SPIN_US");
  if (spin_env != NULL) {
    unsigned long v = strtoul(spin_env, NULL, 10);
    watch_us = v > MAX_WATCH_US ? MAX_WATCH_US : (size_t)v;
  }
  path = malloc(plen + 1);
  if (path == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], path, plen + 1, &plen);
  if (strlen(path) != plen) {
    free(path);
    return throw_type(env, "path must not contain NUL characters");
  }

  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (dl == NULL) {
    const char *e = dlerror();
    char msg[1024];
    snprintf(msg, sizeof msg, "cannot load PKCS#11 library: %s", e ? e : path);
    free(path);
    return throw_coded(env, "XKS_DLOPEN", msg, 0, NULL);
  }
  CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
  if (get_list == NULL) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s does not export C_GetFunctionList: it is not a PKCS#11 library", path);
    dlclose(dl);
    free(path);
    return throw_coded(env, "XKS_DLOPEN", msg, 0, NULL);
  }
  CK_FUNCTION_LIST_PTR fl = NULL;
  CK_RV rv = get_list(&fl);
  if (rv != CKR_OK || fl == NULL) {
    char msg[64];
    if (rv == CKR_OK) rv = CKR_GENERAL_ERROR;
    snprintf(msg, sizeof msg, "C_GetFunctionList returned 0x%08lx", (unsigned long)rv);
    dlclose(dl);
    free(path);
    return throw_coded(env, NULL, msg, rv, "C_GetFunctionList");
  }

  lib_t *lib = calloc(1, sizeof *lib);
  if (lib == NULL) {
    dlclose(dl);
    free(path);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  lib->dl = dl;
  lib->fl = fl;
  lib->path = path;
  atomic_init(&lib->refs, 1); /* the JS object's, released by lib_finalize */
  atomic_init(&lib->in_flight, 0);
  lib->spin_ns = (long long)watch_us * 1000LL;
  pthread_mutex_init(&lib->mu, NULL);
  pthread_cond_init(&lib->cv, NULL);

  if (napi_create_string_utf8(env, "xkshsm", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, lib, tsfn_finalized, lib, call_js,
                                      &lib->tsfn) != napi_ok) {
    lib_unref(lib);
    napi_throw_error(env, NULL, "cannot create the completion queue");
    return NULL;
  }
  lib_ref(lib); /* the tsfn's, released by tsfn_finalized */
  napi_unref_threadsafe_function(env, lib->tsfn);

  napi_value jspath;
  if (napi_create_object(env, &obj) != napi_ok || napi_create_string_utf8(env, path, plen, &jspath) != napi_ok ||
      define_methods(env, obj, jspath) == NULL || napi_type_tag_object(env, obj, &LIB_TAG) != napi_ok ||
      napi_wrap(env, obj, lib, lib_finalize, NULL, NULL) != napi_ok) {
    lib->tsfn_released = true;
    napi_release_threadsafe_function(lib->tsfn, napi_tsfn_release);
    lib_unref(lib);
    napi_throw_error(env, NULL, "cannot create the library object");
    return NULL;
  }
  /* readyFlag: has_done as an Int32Array, so that JS can skip settleReady() with a plain load when
   * nothing waits. The buffer holds a reference to lib (dropped by its finalizer). */
  napi_value flag_buf, flag;
  lib_ref(lib);
  if (napi_create_external_arraybuffer(env, (void *)&lib->has_done, sizeof lib->has_done, ready_flag_finalize, lib, &flag_buf) != napi_ok)
    lib_unref(lib); /* no finalizer will run; JS then calls settleReady() every time */
  else if (napi_create_typedarray(env, napi_int32_array, 1, flag_buf, 0, &flag) == napi_ok)
    napi_set_named_property(env, obj, "readyFlag", flag);
  /* From here on lib_finalize owns the JS object's reference. */
  lib_ref(lib); /* the hook's, released by cleanup_hook or lib_retire */
  if (napi_add_env_cleanup_hook(env, cleanup_hook, lib) == napi_ok) lib->hook_registered = true;
  else lib_unref(lib);

  if (!start_workers(lib, threads)) {
    /* Workers already started exit when the object is collected. */
    pthread_mutex_lock(&lib->mu);
    lib->stopping = true;
    pthread_cond_broadcast(&lib->cv);
    pthread_mutex_unlock(&lib->mu);
    napi_throw_error(env, NULL, "cannot start worker threads");
    return NULL;
  }
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openLibrary", NULL, open_library, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 1, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
