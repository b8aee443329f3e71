#pragma once
// A minimal S3 client: AWS Signature Version 4 over libcurl (loaded lazily, lazy_libs.h).
//
// Only what the s3parquet sink needs: HEAD bucket (the start-up probe), PUT object (single
// request, or multipart above ClientOptions::multipart_threshold), GET/LIST for tests and tools,
// and a generic signed request underneath them. One Client is used by one thread at a time; its
// curl easy handle (and with it the connection) is reused between requests.
//
// Addressing:
//   path-style      <scheme>://<host[:port]>/<bucket>/<key>
//   virtual-hosted  <scheme>://<bucket>.<host[:port]>/<key>
//   kAuto: virtual-hosted for *.amazonaws.com endpoints, path-style for everything else (IP
//   addresses, localhost, MinIO, Ceph, s3rver), as the usual S3 SDKs decide.
//
// Signing: every request is signed with SigV4 (service "s3", header-based: Authorization with
// host, x-amz-content-sha256 and x-amz-date signed) over the SHA-256 of the body.
//
// Errors: a transport failure or a non-2xx answer is a non-OK status whose message names the
// request, the HTTP status and S3's error code when the answer carried one. ErrorClass() sorts a
// status into upstream's uploadErrorClass labels; Retryable() says whether trying again can help.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xtcp::sink::s3 {

enum class Addressing { kAuto, kPathStyle, kVirtualHosted };

struct ClientOptions {
  // "http://host[:port]", "https://host[:port]" or "host[:port]" (plain http, as upstream: only
  // an explicit https:// turns TLS on). A trailing '/' is ignored.
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";  // "" means us-east-1
  std::string access_key;
  std::string secret_key;
  Addressing addressing = Addressing::kAuto;
  // Whole-request bound (connect included) of each HTTP request.
  absl::Duration request_timeout = absl::Seconds(30);
  // PutObject bodies of at least this many bytes go as a multipart upload of part_size parts
  // (S3's minimum part size is 5 MiB, except for the last part).
  size_t multipart_threshold = size_t{16} << 20;
  size_t part_size = size_t{8} << 20;
};

struct Response {
  long status = 0;  // HTTP status
  std::string body;
  std::string etag;  // the ETag header, quotes kept
};

class Client {
 public:
  // InvalidArgument for an unusable endpoint/bucket; FailedPrecondition when libcurl cannot be
  // loaded.
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // OK when the bucket exists and the credentials may use it; NotFound for 404; else an error.
  absl::Status HeadBucket();
  // Stores `body` under `key`; multipart (with an abort on failure) from multipart_threshold on.
  // `*parts` (may be null) gets the number of HTTP requests that carried the body (1 for a single
  // PUT).
  absl::Status PutObject(std::string_view key, std::string_view body,
                         std::string_view content_type = "application/octet-stream",
                         int* parts = nullptr);
  absl::StatusOr<std::string> GetObject(std::string_view key);
  // Keys under `prefix` (ListObjectsV2, following continuation tokens), sorted.
  absl::StatusOr<std::vector<std::string>> ListKeys(std::string_view prefix = "");

  // One signed request. `key` empty: the bucket itself. `query` is the raw query string without
  // '?', already in canonical order with values URI-encoded (e.g. "partNumber=1&uploadId=abc").
  // Non-2xx answers are returned as a Response, not as an error; transport failures are errors.
  absl::StatusOr<Response> Request(std::string_view method, std::string_view key,
                                   std::string_view query, std::string_view body,
                                   std::string_view content_type = "");

  // The URL a request for `key` goes to (for logs and tests).
  std::string UrlFor(std::string_view key) const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "tls", "timeout", "canceled", "dns", "refused" or "other" (upstream's uploadErrorClass labels).
std::string_view ErrorClass(const absl::Status& status);
// False for answers that repeat as long as nothing changes (403, 400, 404, …: bad credentials,
// no bucket); true for transport failures, 408, 429 and 5xx.
bool Retryable(const absl::Status& status);

// ---- Signature Version 4 building blocks (exposed for tests) ----

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
// S3's URI encoding of one path segment or query value (RFC 3986 unreserved characters kept; '/'
// kept when `keep_slash`).
std::string UriEncode(std::string_view s, bool keep_slash);

struct SigningInput {
  std::string method;
  std::string canonical_uri;    // already URI-encoded path, e.g. "/bucket/a%20b.parquet"
  std::string canonical_query;  // e.g. "partNumber=1&uploadId=x" ("" for none)
  // Headers to sign: lower-case names, trimmed values; sorted by the signer. Must include host
  // and, for S3, x-amz-content-sha256 and x-amz-date.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body (or "UNSIGNED-PAYLOAD")
  absl::Time time;
  std::string region;
  std::string service = "s3";
  std::string access_key;
  std::string secret_key;
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // the Authorization header's value
};

Signature SignV4(const SigningInput& in);

}  // namespace xtcp::sink::s3
