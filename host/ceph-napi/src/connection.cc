// `Rados`: one rados_t. Set-up and monitor calls are blocking in librados, so they run
// in FnWorkers; the completion channel is created here and shared with every IoCtx.
#include "common.h"

#include <cstdlib>
#include <cstring>

namespace ceph_napi {

namespace {

class Rados : public Napi::ObjectWrap<Rados> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Rados", {
      InstanceMethod<&Rados::ConfReadFile>("confReadFile"),
      InstanceMethod<&Rados::ConfSet>("confSet"),
      InstanceMethod<&Rados::ConfGet>("confGet"),
      InstanceMethod<&Rados::Connect>("connect"),
      InstanceMethod<&Rados::Shutdown>("shutdown"),
      InstanceMethod<&Rados::Fsid>("fsid"),
      InstanceMethod<&Rados::InstanceId>("instanceId"),
      InstanceMethod<&Rados::PoolCreate>("poolCreate"),
      InstanceMethod<&Rados::PoolDelete>("poolDelete"),
      InstanceMethod<&Rados::PoolLookup>("poolLookup"),
      InstanceMethod<&Rados::PoolList>("poolList"),
      InstanceMethod<&Rados::MonCommand>("monCommand"),
      InstanceMethod<&Rados::BlocklistAdd>("blocklistAdd"),
      InstanceMethod<&Rados::WaitForLatestOsdmap>("waitForLatestOsdmap"),
      InstanceMethod<&Rados::OpenIoCtx>("openIoCtx"),
      InstanceMethod<&Rados::InFlight>("inFlight"),
    });
  }

  // new Rados(clusterName, entityName): rados_create2.
  explicit Rados(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Rados>(info) {
    Napi::Env env = info.Env();
    std::string cluster = StrArg(info, 0, "clusterName");
    std::string name = StrArg(info, 1, "name");
    conn_ = std::make_shared<Conn>();
    int rc = rados_create2(&conn_->cluster, cluster.c_str(), name.c_str(), 0);
    if (rc < 0) throw RadosError(env, "rados_create2", rc);
    conn_->env = env;
    conn_->channel = Channel::New(env, "ceph-napi", 0, 1, conn_.get());
    conn_->channelLive = true;
    // Idle until an op is in flight: an idle connection must not keep the process alive.
    conn_->channel.Unref(env);
    // Exit without shutdown(): stop librados' callbacks from reaching the channel.
    std::weak_ptr<Conn> weak = conn_;
    env.AddCleanupHook([weak] {
      if (auto c = weak.lock()) c->envGone.store(true);
    });
  }

  ~Rados() override {
    // Garbage-collected without shutdown(): release what can be released without
    // blocking the JS thread. The rados_t itself is leaked (rados_shutdown blocks).
    if (conn_ && conn_->channelLive) {
      conn_->channel.Release();
      conn_->channelLive = false;
    }
  }

 private:
  std::shared_ptr<Conn> conn_;

  void CheckOpen(Napi::Env env, bool needConnected = true) {
    if (conn_->shutDown) throw RadosError(env, "rados", -ESHUTDOWN);
    if (needConnected && !conn_->connected) throw RadosError(env, "rados: not connected", -ENOTCONN);
  }

  Napi::Value ConfReadFile(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env(), false);
    std::string path = StrArg(info, 0, "path");
    int rc = rados_conf_read_file(conn_->cluster, path.c_str());
    if (rc < 0) throw RadosError(info.Env(), "rados_conf_read_file " + path, rc);
    return info.Env().Undefined();
  }

  Napi::Value ConfSet(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env(), false);
    std::string k = StrArg(info, 0, "key"), v = StrArg(info, 1, "value");
    int rc = rados_conf_set(conn_->cluster, k.c_str(), v.c_str());
    if (rc < 0) throw RadosError(info.Env(), "rados_conf_set " + k, rc);
    return info.Env().Undefined();
  }

  Napi::Value ConfGet(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env(), false);
    std::string k = StrArg(info, 0, "key");
    std::vector<char> buf(4096);
    int rc = rados_conf_get(conn_->cluster, k.c_str(), buf.data(), buf.size());
    if (rc < 0) throw RadosError(info.Env(), "rados_conf_get " + k, rc);
    return Napi::String::New(info.Env(), buf.data());
  }

  Napi::Value Connect(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env(), false);
    auto conn = conn_;
    return FnWorker::Run(info.Env(), "rados_connect", [conn] { return rados_connect(conn->cluster); },
                         [conn](Napi::Env env) {
                           conn->connected = true;
                           return env.Undefined();
                         });
  }

  // Waits for in-flight ops, destroys the ioctxs, flushes watch callbacks, shuts down.
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    if (conn_->shutDown) {
      deferred.Resolve(env.Undefined());
      return deferred.Promise();
    }
    conn_->shutDown = true;
    auto conn = conn_;
    auto run = [conn, deferred, env]() {
      for (auto& w : conn->ioctxs) {
        if (auto st = w.lock()) st->Destroy();
      }
      conn->ioctxs.clear();
      bool connected = conn->connected;
      FnWorker::Run(env, "rados_shutdown",
                    [conn, connected] {
                      if (connected) rados_watch_flush(conn->cluster);
                      rados_shutdown(conn->cluster);
                      return 0;
                    },
                    [conn](Napi::Env env) {
                      if (conn->channelLive) {
                        conn->channel.Release();
                        conn->channelLive = false;
                      }
                      conn->keepAlive.clear();
                      return env.Undefined();
                    })
          .Then(Napi::Function::New(env, [deferred](const Napi::CallbackInfo& i) { deferred.Resolve(i.Env().Undefined()); }),
                Napi::Function::New(env, [deferred](const Napi::CallbackInfo& i) { deferred.Reject(i[0]); }));
    };
    if (conn->inflight == 0) run();
    else conn->onIdle.push_back(run);
    return deferred.Promise();
  }

  Napi::Value Fsid(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    char buf[64] = {0};
    int rc = rados_cluster_fsid(conn_->cluster, buf, sizeof(buf) - 1);
    if (rc < 0) throw RadosError(info.Env(), "rados_cluster_fsid", rc);
    return Napi::String::New(info.Env(), buf);
  }

  Napi::Value InstanceId(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    return Napi::String::New(info.Env(), U64Str(rados_get_instance_id(conn_->cluster)));
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(conn_->inflight));
  }

  Napi::Value PoolCreate(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string name = StrArg(info, 0, "pool");
    auto conn = conn_;
    return FnWorker::Run(info.Env(), "rados_pool_create " + name,
                         [conn, name] { return rados_pool_create(conn->cluster, name.c_str()); }, nullptr);
  }

  Napi::Value PoolDelete(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string name = StrArg(info, 0, "pool");
    auto conn = conn_;
    return FnWorker::Run(info.Env(), "rados_pool_delete " + name,
                         [conn, name] { return rados_pool_delete(conn->cluster, name.c_str()); }, nullptr);
  }

  Napi::Value PoolLookup(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string name = StrArg(info, 0, "pool");
    auto conn = conn_;
    auto id = std::make_shared<int64_t>(0);
    return FnWorker::Run(info.Env(), "rados_pool_lookup " + name,
                         [conn, name, id] {
                           int64_t r = rados_pool_lookup(conn->cluster, name.c_str());
                           if (r < 0) return static_cast<int>(r);
                           *id = r;
                           return 0;
                         },
                         [id](Napi::Env env) { return Napi::Number::New(env, static_cast<double>(*id)); });
  }

  Napi::Value PoolList(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    auto conn = conn_;
    auto names = std::make_shared<std::vector<std::string>>();
    return FnWorker::Run(info.Env(), "rados_pool_list",
                         [conn, names] {
                           std::vector<char> buf(4096);
                           for (;;) {
                             int r = rados_pool_list(conn->cluster, buf.data(), buf.size());
                             if (r < 0) return r;
                             if (static_cast<size_t>(r) <= buf.size()) break;
                             buf.resize(r);
                           }
                           // NUL-separated names, ended by an empty one.
                           for (const char* p = buf.data(); *p != '\0'; p += strlen(p) + 1) names->emplace_back(p);
                           return 0;
                         },
                         [names](Napi::Env env) {
                           auto arr = Napi::Array::New(env, names->size());
                           for (size_t i = 0; i < names->size(); i++) arr.Set(i, Napi::String::New(env, (*names)[i]));
                           return arr;
                         });
  }

  // monCommand(cmdJson, inbuf?, target?): rados_mon_command(_target). Resolves
  // { outbuf: Buffer, outs: string }; a failure's error carries `outs` too.
  Napi::Value MonCommand(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::string cmd = StrArg(info, 0, "cmd");
    std::string in = info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull() ? BytesOf(info[1], "inbuf") : std::string();
    std::string target = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : std::string();
    struct Out {
      char* outbuf = nullptr;
      size_t outlen = 0;
      char* outs = nullptr;
      size_t outslen = 0;
      int rc = 0;
      ~Out() {
        if (outbuf) rados_buffer_free(outbuf);
        if (outs) rados_buffer_free(outs);
      }
    };
    auto out = std::make_shared<Out>();
    auto conn = conn_;
    auto deferred = Napi::Promise::Deferred::New(env);
    // Not FnWorker: a failure must still carry the monitor's status text.
    FnWorker::Run(env, "rados_mon_command",
                  [conn, cmd, in, target, out] {
                    const char* cmds[1] = {cmd.c_str()};
                    out->rc = target.empty()
                                  ? rados_mon_command(conn->cluster, cmds, 1, in.data(), in.size(), &out->outbuf, &out->outlen, &out->outs, &out->outslen)
                                  : rados_mon_command_target(conn->cluster, target.c_str(), cmds, 1, in.data(), in.size(), &out->outbuf, &out->outlen, &out->outs, &out->outslen);
                    return 0;
                  },
                  [out, cmd, deferred](Napi::Env env) {
                    std::string outs(out->outs ? out->outs : "", out->outslen);
                    if (out->rc < 0) {
                      Napi::Error e = RadosError(env, "mon command " + cmd + (outs.empty() ? "" : ": " + outs), out->rc);
                      e.Set("outs", Napi::String::New(env, outs));
                      deferred.Reject(e.Value());
                    } else {
                      auto r = Napi::Object::New(env);
                      r.Set("outbuf", Napi::Buffer<char>::Copy(env, out->outbuf ? out->outbuf : "", out->outlen));
                      r.Set("outs", Napi::String::New(env, outs));
                      deferred.Resolve(r);
                    }
                    return env.Undefined();
                  });
    return deferred.Promise();
  }

  Napi::Value BlocklistAdd(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    std::string addr = StrArg(info, 0, "addr");
    uint32_t expire = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    auto conn = conn_;
    std::vector<char> a(addr.begin(), addr.end());
    a.push_back('\0');
    return FnWorker::Run(info.Env(), "rados_blocklist_add " + addr,
                         [conn, a, expire]() mutable { return rados_blocklist_add(conn->cluster, a.data(), expire); }, nullptr);
  }

  Napi::Value WaitForLatestOsdmap(const Napi::CallbackInfo& info) {
    CheckOpen(info.Env());
    auto conn = conn_;
    return FnWorker::Run(info.Env(), "rados_wait_for_latest_osdmap",
                         [conn] { return rados_wait_for_latest_osdmap(conn->cluster); }, nullptr);
  }

  Napi::Value OpenIoCtx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    std::string pool = StrArg(info, 0, "pool");
    auto st = std::make_shared<IoState>();
    st->conn = conn_;
    st->pool = pool;
    auto* data = env.GetInstanceData<AddonData>();
    return FnWorker::Run(env, "rados_ioctx_create " + pool,
                         [st] { return rados_ioctx_create(st->conn->cluster, st->pool.c_str(), &st->io); },
                         [st, data](Napi::Env env) -> Napi::Value {
                           if (st->conn->shutDown) {
                             st->Destroy();
                             throw RadosError(env, "rados_ioctx_create", -ESHUTDOWN);
                           }
                           st->conn->ioctxs.push_back(st);
                           auto holder = Napi::External<std::shared_ptr<IoState>>::New(
                               env, new std::shared_ptr<IoState>(st),
                               [](Napi::Env, std::shared_ptr<IoState>* p) { delete p; });
                           return data->ioctxCtor.New({holder});
                         });
  }
};

}  // namespace

Napi::Function InitRados(Napi::Env env, AddonData*) { return Rados::Define(env); }

}  // namespace ceph_napi
