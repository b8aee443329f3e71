// http://… and https://… — one POST per flush with libcurl (the whole -dest value is the URL).
//
//   Content-Type  the marshaller's (reference §7.2: jsonl application/x-ndjson, protoJson
//                 application/json, csv text/csv, tsv text/tab-separated-values, protoText
//                 text/plain; charset=utf-8, others application/octet-stream)
//   timeout       -produceTimeout when > 0, else 10 s, for the whole request (connect included)
//   keep-alive    one easy handle reused: its connection cache keeps the connection open
//   result        2xx is success; anything else, or a transport error, is an error for the
//                 caller (which retries and counts). Redirects are not followed (a 3xx is an
//                 error): a collector that moved should be reconfigured, not silently chased.
//   https         the system CA store verifies the server (libcurl defaults).
//   flush id      X-Xtcp-Flush-Id: <process id>-<sequence>, the same on every retry of one flush
//
// Delivery is at-least-once: a request that timed out may still have been processed by the
// server, and the output stage then retries it. Retries are recognised here without any help
// from the caller: a Send() whose bytes equal those of the previous failed Send() is a retry of
// that flush, carries its flush id and counts retry/count. A receiver drops duplicates by id.
//
// Counters (destHTTP): upstream newRequest/error, do/error, status/error, posts/count,
// postBytes/count; ours retry/count (sends that repeat a failed flush), timeout/error (requests
// that timed out: the server may have processed them) and the latency summary post/count (s).

#include <unistd.h>

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/mask.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "sink/lazy_libs.h"
#include "sink/sinks.h"
#include "sink/socket_util.h"

namespace xtcp::sink {
namespace {

// libcurl, loaded when the first http(s) sink is made (see lazy_libs.h).
const CurlApi* g_curl = nullptr;

constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { g_curl->curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "<hex unix µs of the first use>.<hex pid>": with the sequence, unique across restarts and
// across the daemons that post to one receiver.
const std::string& ProcessId() {
  static const std::string id =
      absl::StrFormat("%x.%x", absl::ToUnixMicros(absl::Now()), static_cast<uint32_t>(::getpid()));
  return id;
}
// Flush sequence numbers, process-wide so that two sinks of one process never share an id.
std::atomic<uint64_t> g_flush_seq{0};

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

class HttpSink final : public Sink {
 public:
  HttpSink(std::string url, std::string_view scheme, const SinkOptions& opts)
      : url_(std::move(url)),
        shown_url_(MaskUrlUserinfo(url_)),
        scheme_(scheme),
        timeout_(opts.produce_timeout > absl::ZeroDuration() ? opts.produce_timeout
                                                             : kDefaultTimeout) {
    const std::string type =
        opts.content_type.empty() ? "application/octet-stream" : opts.content_type;
    headers_ = g_curl->curl_slist_append(headers_, absl::StrCat("Content-Type: ", type).c_str());
    headers_ = g_curl->curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    // The flush id line is our own node at the tail, rewritten per flush (no allocation).
    if (curl_slist* tail = headers_; tail != nullptr) {
      while (tail->next != nullptr) tail = tail->next;
      tail->next = &id_node_;
    }
    if (Metrics* m = opts.metrics) {
      new_request_errors_ = &m->Count("destHTTP", "newRequest", "error");
      do_errors_ = &m->Count("destHTTP", "do", "error");
      status_errors_ = &m->Count("destHTTP", "status", "error");
      posts_ = &m->Count("destHTTP", "posts", "count");
      retries_ = &m->Count("destHTTP", "retry", "count");
      timeouts_ = &m->Count("destHTTP", "timeout", "error");
      post_bytes_ = &m->Count("destHTTP", "postBytes", "count");
      latency_ = &m->Summary("destHTTP", "post", "count");
    }
  }
  ~HttpSink() override {
    if (curl_ != nullptr) g_curl->curl_easy_cleanup(curl_);
    for (curl_slist* n = headers_; n != nullptr; n = n->next) {
      if (n->next == &id_node_) n->next = nullptr;  // not libcurl's to free
    }
    g_curl->curl_slist_free_all(headers_);
  }

  std::string_view scheme() const override { return scheme_; }

  absl::Status Send(std::string_view payload) override {
    if (curl_ == nullptr && !Setup()) {
      Inc(new_request_errors_);
      return absl::InternalError("destHTTP: cannot create a libcurl handle");
    }
    // A Send of the bytes that failed last is the output stage retrying that flush: same id.
    const bool retry = failed_pending_ && payload == failed_;
    if (retry) {
      Inc(retries_);
    } else {
      flush_seq_ = g_flush_seq.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    id_header_.clear();  // keeps its capacity: no allocation per flush
    absl::StrAppend(&id_header_, "X-Xtcp-Flush-Id: ", ProcessId(), "-", flush_seq_);
    id_node_.data = id_header_.data();
    absl::Status s = Post(payload);
    if (s.ok()) {
      failed_pending_ = false;
      failed_ = std::string();  // a failed flush can be large: do not keep its memory
    } else {
      if (!retry) failed_.assign(payload.data(), payload.size());
      failed_pending_ = true;
    }
    return s;
  }

 private:
  absl::Status Post(std::string_view payload) {
    g_curl->curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.data());
    g_curl->curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(payload.size()));
    const absl::Time start = absl::Now();
    const CURLcode rc = g_curl->curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      Inc(do_errors_);
      if (rc == CURLE_OPERATION_TIMEDOUT) Inc(timeouts_);
      absl::Status s = absl::UnavailableError(
          absl::StrCat("destHTTP POST ", shown_url_, ": ", g_curl->curl_easy_strerror(rc),
                       error_[0] != '\0' ? absl::StrCat(" (", error_, ")") : ""));
      Warn(s.message());
      return s;
    }
    long status = 0;
    g_curl->curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
      Inc(status_errors_);
      absl::Status s =
          absl::UnavailableError(absl::StrCat("destHTTP POST ", shown_url_, ": status ", status));
      Warn(s.message());
      return s;
    }
    Inc(posts_);
    if (post_bytes_) post_bytes_->Increment(static_cast<double>(payload.size()));
    if (latency_) latency_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
    return absl::OkStatus();
  }

  void Warn(absl::string_view what) { log_limit_.Warn("sink http", what); }

  bool Setup() {
    GlobalInit();
    curl_ = g_curl->curl_easy_init();
    if (curl_ == nullptr) return false;
    const long ms = static_cast<long>(absl::ToInt64Milliseconds(timeout_));
    bool ok = true;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str()) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_POST, 1L) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;  // threads: no SIGALRM
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_USERAGENT, "xtcp2") == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &DiscardBody) == CURLE_OK;
    ok &= g_curl->curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_) == CURLE_OK;
    if (!ok) {
      g_curl->curl_easy_cleanup(curl_);
      curl_ = nullptr;
    }
    return ok;
  }

  const std::string url_;
  const std::string shown_url_;  // url_ with the password masked, for messages
  const std::string scheme_;
  const absl::Duration timeout_;
  curl_slist* headers_ = nullptr;
  CURL* curl_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  curl_slist id_node_{nullptr, nullptr};  // X-Xtcp-Flush-Id, linked at the tail of headers_
  std::string id_header_;                 // what id_node_.data points into
  uint64_t flush_seq_ = 0;                // of the flush being sent
  bool failed_pending_ = false;           // the last Send() failed; failed_ holds its bytes
  std::string failed_;
  LogLimiter log_limit_;
  prometheus::Counter* new_request_errors_ = nullptr;
  prometheus::Counter* do_errors_ = nullptr;
  prometheus::Counter* status_errors_ = nullptr;
  prometheus::Counter* posts_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Counter* timeouts_ = nullptr;
  prometheus::Counter* post_bytes_ = nullptr;
  prometheus::Summary* latency_ = nullptr;
};

// Checks the URL with libcurl's own parser: http or https, a host, nothing libcurl rejects.
absl::Status ValidateUrl(const std::string& url, std::string_view scheme) {
  GlobalInit();
  CURLU* u = g_curl->curl_url();
  const CURLUcode rc = g_curl->curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  char* host = nullptr;
  if (rc == CURLUE_OK) g_curl->curl_url_get(u, CURLUPART_HOST, &host, 0);
  // libcurl reads "http:///x" as host "x" and guesses at "http:host": we want the authority
  // right after "scheme://", as the user wrote it.
  const std::string prefix = absl::StrCat(AsAbsl(scheme), "://");
  const bool written_host =
      url.size() > prefix.size() && url.compare(0, prefix.size(), prefix) == 0 &&
      std::string_view("/?#").find(url[prefix.size()]) == std::string_view::npos;
  const bool has_host = written_host && host != nullptr && host[0] != '\0';
  g_curl->curl_free(host);
  g_curl->curl_url_cleanup(u);
  if (rc != CURLUE_OK || !has_host) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", MaskUrlUserinfo(std::string(url)), "\" for flag -dest: not a valid ",
        AsAbsl(scheme), " URL (want ", AsAbsl(scheme), "://host[:port]/path)",
        rc != CURLUE_OK ? absl::StrCat(": ", g_curl->curl_url_strerror(rc)) : ""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Sink>> NewHttpScheme(const SinkOptions& opts,
                                                    std::string_view scheme) {
  auto api = LoadCurl();
  if (!api.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("-dest ", AsAbsl(scheme), ": ", api.status().message()));
  }
  g_curl = *api;
  if (absl::Status s = ValidateUrl(opts.dest, scheme); !s.ok()) return s;
  return std::make_unique<HttpSink>(opts.dest, scheme, opts);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sink>> NewHttp(const SinkOptions& opts, std::string_view) {
  return NewHttpScheme(opts, "http");
}

absl::StatusOr<std::unique_ptr<Sink>> NewHttps(const SinkOptions& opts, std::string_view) {
  return NewHttpScheme(opts, "https");
}

}  // namespace xtcp::sink
