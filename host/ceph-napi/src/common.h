// Shared pieces of the addon: errors with errno, the per-connection completion channel
// (one thread-safe function, ref'd only while aio ops are in flight), and a lambda-based
// AsyncWorker for librados calls that have no aio variant.
#pragma once

#include <napi.h>
#include <rados/librados.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ceph_napi {

// A JS Error for a negative librados return: message "<what>: <strerror> (-N)",
// `errno` = N (negative, as Node's system errors), `code` = 'ENOENT' etc.
Napi::Error RadosError(Napi::Env env, const std::string& what, int rc);

// Per-instance data: the constructors, so nothing is static (works in worker threads).
struct AddonData {
  Napi::FunctionReference ioctxCtor;
  Napi::FunctionReference listCtor;
};

// Work finishing on a librados thread, resumed on the JS thread.
class Pending {
 public:
  virtual ~Pending() = default;
  // Runs on the JS thread; settles the promise or calls back into JS.
  virtual void Complete(Napi::Env env) = 0;
  // True for ops counted as in flight (they ref the channel); watch events are not.
  bool counted = true;
};

struct Conn;
void CallJs(Napi::Env env, Napi::Function, Conn* conn, Pending* p);
using Channel = Napi::TypedThreadSafeFunction<Conn, Pending, CallJs>;

// One rados_t with its completion channel. Shared by the Rados object, its IoCtxs and
// any pending op (shared_ptr), so none outlives the handle it uses.
struct IoState;

// One watch (rados_aio_watch2): its JS callbacks. librados calls back with a raw pointer to
// it until rados_watch_flush, so the Conn keeps it until shutdown (keepAlive).
struct WatchCtx {
  struct Conn* conn = nullptr;
  uint64_t cookie = 0;
  bool closed = false;
  Napi::FunctionReference onNotify;
  Napi::FunctionReference onError;
};

struct Conn {
  rados_t cluster = nullptr;
  napi_env env = nullptr;
  bool connected = false;
  bool shutDown = false;
  Channel channel;
  bool channelLive = false;
  // Set when the JS environment is torn down (process or worker exit without shutdown):
  // librados threads may still call back, and must not touch the freed channel.
  std::atomic<bool> envGone{false};
  int64_t inflight = 0;
  bool refd = false;
  // Heap holders of watch contexts: freed after rados_shutdown (librados may call a
  // watch callback until rados_watch_flush/rados_shutdown).
  std::vector<std::shared_ptr<WatchCtx>> keepAlive;
  std::vector<std::function<void()>> onIdle;
  // Open ioctxs: destroyed by shutdown before rados_shutdown.
  std::vector<std::weak_ptr<IoState>> ioctxs;

  // JS thread: an op is submitted.
  void Begin();
  // JS thread: an op completed.
  void End();
  // Any thread: hands `p` to the JS thread. Returns false if the channel is closed.
  bool Post(Pending* p);
};

// One rados_ioctx_t. Destroyed when closed and no op of it is in flight.
struct IoState {
  std::shared_ptr<Conn> conn;
  rados_ioctx_t io = nullptr;
  std::string pool;
  int64_t inflight = 0;
  bool closing = false;
  std::vector<std::function<void()>> onIdle;
  void Destroy() {
    if (io != nullptr) {
      rados_ioctx_destroy(io);
      io = nullptr;
    }
  }
  // After shutdown, Destroy() already ran (before rados_shutdown), so io is null here.
  ~IoState() { Destroy(); }
  // JS thread.
  void Begin() {
    ++inflight;
    conn->Begin();
  }
  void End() {
    if (--inflight == 0) {
      auto waiters = std::move(onIdle);
      onIdle.clear();
      for (auto& w : waiters) w();
    }
  }
};

// An aio op of an ioctx: owns its completion; Complete() reads the return value.
class AioPending : public Pending {
 public:
  AioPending(std::shared_ptr<IoState> st, Napi::Env env, std::string what)
      : st(std::move(st)), deferred(Napi::Promise::Deferred::New(env)), what(std::move(what)) {}
  ~AioPending() override {
    if (comp != nullptr) rados_aio_release(comp);
  }
  // Creates the completion; the callback posts this to the JS thread.
  rados_completion_t MakeCompletion();
  // Call after a successful submit; on a failed submit call Fail() instead (JS thread).
  void Submitted() { st->Begin(); }
  void Complete(Napi::Env env) override;
  // JS thread: success value; `rc` is the op's return value (>= 0).
  virtual Napi::Value Result(Napi::Env env, int rc) = 0;
  // JS thread: a negative return value; default rejects with RadosError.
  virtual void Failed(Napi::Env env, int rc);
  std::shared_ptr<IoState> st;
  Napi::Promise::Deferred deferred;
  std::string what;
  rados_completion_t comp = nullptr;
};

// Submits `p` (whose completion `submit` uses); returns its promise. On a submit error the
// promise rejects and `p` is freed.
Napi::Value SubmitAio(Napi::Env env, AioPending* p, const std::function<int(rados_completion_t)>& submit);

// Runs `work` on the libuv pool, then `ok` on the JS thread (if work returned >= 0);
// a negative return rejects with RadosError(what, rc).
class FnWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<int()>;
  using Ok = std::function<Napi::Value(Napi::Env)>;
  using Fin = std::function<void()>;
  // `fin` runs on the JS thread before the promise settles, on success and failure.
  static Napi::Promise Run(Napi::Env env, std::string what, Work work, Ok ok, Fin fin = nullptr);

 private:
  FnWorker(Napi::Env env, std::string what, Work work, Ok ok, Fin fin);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;
  Napi::Promise::Deferred deferred_;
  std::string what_;
  Work work_;
  Ok ok_;
  Fin fin_;
  int rc_ = 0;
};

// A FnWorker counted as in flight on the ioctx (so close() waits for it).
Napi::Promise IoWorker(Napi::Env env, std::shared_ptr<IoState> st, std::string what, FnWorker::Work work, FnWorker::Ok ok);

// Helpers for argument handling.
std::string StrArg(const Napi::CallbackInfo& info, size_t i, const char* name);
uint64_t U64Arg(const Napi::CallbackInfo& info, size_t i, const char* name);
// Bytes of a Buffer/Uint8Array (or a string, as UTF-8) into a std::string.
std::string BytesOf(Napi::Value v, const char* name);
// A Buffer owning `data` (malloc'd): freed by the GC, no copy.
Napi::Buffer<char> OwnedBuffer(Napi::Env env, char* data, size_t len);
std::string U64Str(uint64_t v);
uint64_t ParseU64(Napi::Env env, Napi::Value v, const char* name);

// Class registration, one per file.
Napi::Function InitRados(Napi::Env env, AddonData* data);
Napi::Function InitIoCtx(Napi::Env env, AddonData* data);
Napi::Function InitObjectList(Napi::Env env, AddonData* data);

}  // namespace ceph_napi
