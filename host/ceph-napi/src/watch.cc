// watch/notify: rados_aio_watch2 with callbacks posted to the JS thread through the
// connection's channel (watch events do not count as in flight, so an idle watch does not
// keep the process alive), rados_aio_notify with the reply decoded into acks and timeouts,
// rados_notify_ack, rados_watch_check, rados_aio_unwatch. (The 16.2 C API has no
// rados_list_watchers: the ceph backend lists watchers with a probe notify.)
#include "ioctx.h"

namespace ceph_napi {

namespace {

class NotifyEvent : public Pending {
 public:
  NotifyEvent(WatchCtx* w, uint64_t notifyId, uint64_t cookie, uint64_t notifier, const void* data, size_t len)
      : w(w), notifyId(notifyId), cookie(cookie), notifier(notifier), payload(static_cast<const char*>(data), len) {
    counted = false;
  }
  void Complete(Napi::Env env) override {
    Napi::HandleScope scope(env);
    if (w->closed || w->onNotify.IsEmpty()) return;
    w->onNotify.Call({Napi::String::New(env, U64Str(notifyId)), Napi::String::New(env, U64Str(cookie)),
                      Napi::String::New(env, U64Str(notifier)), Napi::Buffer<char>::Copy(env, payload.data(), payload.size())});
  }
  WatchCtx* w;
  uint64_t notifyId, cookie, notifier;
  std::string payload;
};

class WatchErrorEvent : public Pending {
 public:
  WatchErrorEvent(WatchCtx* w, uint64_t cookie, int err) : w(w), cookie(cookie), err(err) { counted = false; }
  void Complete(Napi::Env env) override {
    Napi::HandleScope scope(env);
    if (w->closed || w->onError.IsEmpty()) return;
    w->onError.Call({Napi::String::New(env, U64Str(cookie)), RadosError(env, "watch " + U64Str(cookie), err).Value()});
  }
  WatchCtx* w;
  uint64_t cookie;
  int err;
};

void OnNotify(void* arg, uint64_t notifyId, uint64_t cookie, uint64_t notifier, void* data, size_t len) {
  auto* w = static_cast<WatchCtx*>(arg);
  auto* e = new NotifyEvent(w, notifyId, cookie, notifier, data, len);
  if (!w->conn->Post(e)) delete e;
}

void OnWatchError(void* arg, uint64_t cookie, int err) {
  auto* w = static_cast<WatchCtx*>(arg);
  auto* e = new WatchErrorEvent(w, cookie, err);
  if (!w->conn->Post(e)) delete e;
}

class WatchAio : public AioPending {
 public:
  WatchAio(std::shared_ptr<IoState> st, Napi::Env env, std::string what, std::shared_ptr<WatchCtx> w)
      : AioPending(std::move(st), env, std::move(what)), w(std::move(w)) {}
  Napi::Value Result(Napi::Env env, int) override {
    w->cookie = handle;
    return Napi::String::New(env, U64Str(handle));
  }
  void Failed(Napi::Env env, int rc) override {
    w->closed = true;
    w->onNotify.Reset();
    w->onError.Reset();
    AioPending::Failed(env, rc);
  }
  std::shared_ptr<WatchCtx> w;
  uint64_t handle = 0;
};

class NotifyAio : public AioPending {
 public:
  using AioPending::AioPending;
  ~NotifyAio() override {
    if (reply) rados_buffer_free(reply);
  }
  Napi::Value Result(Napi::Env env, int rc) override {
    struct notify_ack_t* acks = nullptr;
    struct notify_timeout_t* timeouts = nullptr;
    size_t nacks = 0, ntimeouts = 0;
    auto o = Napi::Object::New(env);
    auto a = Napi::Array::New(env), t = Napi::Array::New(env);
    if (reply != nullptr && replyLen > 0) {
      int r = rados_decode_notify_response(reply, replyLen, &acks, &nacks, &timeouts, &ntimeouts);
      if (r < 0) throw RadosError(env, "rados_decode_notify_response", r);
      for (size_t i = 0; i < nacks; i++) {
        auto ack = Napi::Object::New(env);
        ack.Set("notifierId", U64Str(acks[i].notifier_id));
        ack.Set("cookie", U64Str(acks[i].cookie));
        ack.Set("payload", Napi::Buffer<char>::Copy(env, acks[i].payload ? acks[i].payload : "", acks[i].payload_len));
        a.Set(static_cast<uint32_t>(i), ack);
      }
      for (size_t i = 0; i < ntimeouts; i++) {
        auto to = Napi::Object::New(env);
        to.Set("notifierId", U64Str(timeouts[i].notifier_id));
        to.Set("cookie", U64Str(timeouts[i].cookie));
        t.Set(static_cast<uint32_t>(i), to);
      }
      rados_free_notify_response(acks, nacks, timeouts);
    }
    o.Set("acks", a);
    o.Set("timeouts", t);
    o.Set("timedOut", Napi::Boolean::New(env, rc == -ETIMEDOUT));
    return o;
  }
  // ETIMEDOUT still carries the acks and the watchers that timed out: resolve with them.
  void Failed(Napi::Env env, int rc) override {
    if (rc == -ETIMEDOUT) {
      try {
        deferred.Resolve(Result(env, rc));
      } catch (const Napi::Error& e) {
        deferred.Reject(e.Value());
      }
      return;
    }
    AioPending::Failed(env, rc);
  }
  char* reply = nullptr;
  size_t replyLen = 0;
};

}  // namespace

// watch(oid, onNotify(notifyId, cookie, notifierId, payload), onError(cookie, err), timeoutS?)
// → cookie (decimal string). The callbacks must ack with notifyAck().
Napi::Value IoCtx::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "onNotify must be a function");
  uint32_t timeout = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : 0;
  auto w = std::make_shared<WatchCtx>();
  w->conn = st->conn.get();
  w->onNotify = Napi::Persistent(info[1].As<Napi::Function>());
  if (info.Length() > 2 && info[2].IsFunction()) w->onError = Napi::Persistent(info[2].As<Napi::Function>());
  st->conn->keepAlive.push_back(w);
  auto* p = new WatchAio(st, env, "rados_aio_watch2 " + oid, w);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) {
    return rados_aio_watch2(io, oid.c_str(), c, &p->handle, OnNotify, OnWatchError, timeout, w.get());
  });
}

// unwatch(cookie): rados_aio_unwatch; the callbacks are dropped when it completes.
Napi::Value IoCtx::Unwatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  uint64_t cookie = U64Arg(info, 0, "cookie");
  std::shared_ptr<WatchCtx> w;
  for (auto& k : st->conn->keepAlive) {
    if (k->cookie == cookie && !k->closed) w = k;
  }
  auto* p = new SimpleAio(st, env, "rados_aio_unwatch " + U64Str(cookie), [w](Napi::Env env, int) {
    if (w) {
      w->closed = true;
      w->onNotify.Reset();
      w->onError.Reset();
    }
    return env.Undefined();
  });
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) { return rados_aio_unwatch(io, cookie, c); });
}

// watchCheck(cookie) → ms since the watch was last confirmed, or a negative errno.
Napi::Value IoCtx::WatchCheck(const Napi::CallbackInfo& info) {
  Check(info.Env());
  return Napi::Number::New(info.Env(), rados_watch_check(st->io, U64Arg(info, 0, "cookie")));
}

// notify(oid, payload, timeoutMs) → { acks: [{notifierId, cookie, payload}], timeouts: [...], timedOut }.
Napi::Value IoCtx::Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  std::string data = BytesOf(info[1], "payload");
  uint64_t timeoutMs = U64Arg(info, 2, "timeoutMs");
  auto* p = new NotifyAio(st, env, "rados_aio_notify " + oid);
  auto io = st->io;
  return SubmitAio(env, p, [&](rados_completion_t c) {
    return rados_aio_notify(io, oid.c_str(), c, data.data(), data.size(), timeoutMs, &p->reply, &p->replyLen);
  });
}

// notifyAck(oid, notifyId, cookie, reply?): queued by librados without waiting.
Napi::Value IoCtx::NotifyAck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Check(env);
  std::string oid = StrArg(info, 0, "oid");
  uint64_t notifyId = U64Arg(info, 1, "notifyId"), cookie = U64Arg(info, 2, "cookie");
  std::string reply = info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull() ? BytesOf(info[3], "reply") : std::string();
  int rc = rados_notify_ack(st->io, oid.c_str(), notifyId, cookie, reply.empty() ? nullptr : reply.data(), static_cast<int>(reply.size()));
  if (rc < 0) throw RadosError(env, "rados_notify_ack " + oid, rc);
  return env.Undefined();
}

}  // namespace ceph_napi
