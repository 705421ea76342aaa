// The IoCtx class, implemented across ioctx.cc (objects, listing), ops.cc (compound
// operations), watch.cc (watch/notify) and admin.cc (cls_lock).
#pragma once

#include "common.h"

namespace ceph_napi {

class IoCtx : public Napi::ObjectWrap<IoCtx> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit IoCtx(const Napi::CallbackInfo& info);
  ~IoCtx() override;

  std::shared_ptr<IoState> st;
  // Throws ESHUTDOWN unless the ioctx and its connection are open.
  void Check(Napi::Env env);

  // ioctx.cc
  Napi::Value PoolId(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteFull(const Napi::CallbackInfo& info);
  Napi::Value Append(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Exec(const Napi::CallbackInfo& info);
  Napi::Value OpenList(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // ops.cc
  Napi::Value WriteOp(const Napi::CallbackInfo& info);
  Napi::Value ReadOp(const Napi::CallbackInfo& info);
  // watch.cc
  Napi::Value Watch(const Napi::CallbackInfo& info);
  Napi::Value Unwatch(const Napi::CallbackInfo& info);
  Napi::Value WatchCheck(const Napi::CallbackInfo& info);
  Napi::Value Notify(const Napi::CallbackInfo& info);
  Napi::Value NotifyAck(const Napi::CallbackInfo& info);
  // admin.cc
  Napi::Value LockExclusive(const Napi::CallbackInfo& info);
  Napi::Value LockShared(const Napi::CallbackInfo& info);
  Napi::Value Unlock(const Napi::CallbackInfo& info);
  Napi::Value BreakLock(const Napi::CallbackInfo& info);
  Napi::Value ListLockers(const Napi::CallbackInfo& info);
};

// A Pending that resolves with a value computed by a lambda on the JS thread.
class SimpleAio : public AioPending {
 public:
  using Fn = std::function<Napi::Value(Napi::Env, int)>;
  SimpleAio(std::shared_ptr<IoState> st, Napi::Env env, std::string what, Fn fn = nullptr)
      : AioPending(std::move(st), env, std::move(what)), fn(std::move(fn)) {}
  Napi::Value Result(Napi::Env env, int rc) override { return fn ? fn(env, rc) : env.Undefined(); }
  Fn fn;
};

}  // namespace ceph_napi
