// community_gate MQTT contract v1 for ESPHome gate controllers.
//
// Signing (both directions): sig = hex(HMAC-SHA256(key, topic + "\n" + body)), where body
// is the JSON object text as sent minus the trailing ,"sig":"<64 hex>" member.
// See docs/mqtt.md. mbedtls ships with both ESP-IDF and Arduino-ESP32.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mbedtls/md.h"

namespace community_gate {

static const size_t SIG_HEX = 64;

inline bool hex_to_bytes(const std::string &hex, uint8_t *out, size_t len) {
  if (hex.size() != len * 2) return false;
  for (size_t i = 0; i < len; i++) {
    char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
    char *end = nullptr;
    out[i] = (uint8_t) strtoul(pair, &end, 16);
    if (end != pair + 2) return false;
  }
  return true;
}

inline std::string hmac_hex(const std::string &key_hex, const std::string &topic,
                            const std::string &body) {
  uint8_t key[32];
  if (!hex_to_bytes(key_hex, key, sizeof(key))) return "";
  uint8_t mac[32];
  const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
  mbedtls_md_context_t ctx;
  mbedtls_md_init(&ctx);
  mbedtls_md_setup(&ctx, info, 1);
  mbedtls_md_hmac_starts(&ctx, key, sizeof(key));
  mbedtls_md_hmac_update(&ctx, (const uint8_t *) topic.data(), topic.size());
  mbedtls_md_hmac_update(&ctx, (const uint8_t *) "\n", 1);
  mbedtls_md_hmac_update(&ctx, (const uint8_t *) body.data(), body.size());
  mbedtls_md_hmac_finish(&ctx, mac);
  mbedtls_md_free(&ctx);
  char out[65];
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
  return std::string(out, 64);
}

// The device's counter: (boot count << 20) + sequence. The boot count is stored in
// flash at every boot, so a counter never repeats across reboots or power cuts.
inline uint64_t next_ctr(uint32_t boot_count, uint32_t &seq) {
  seq++;
  return ((uint64_t) boot_count << 20) | (seq & 0xFFFFF);
}

// Sign a body ({"v":1,...}) for topic: returns the payload to publish.
inline std::string sign(const std::string &key_hex, const std::string &topic,
                        const std::string &body) {
  std::string sig = hmac_hex(key_hex, topic, body);
  return body.substr(0, body.size() - 1) + ",\"sig\":\"" + sig + "\"}";
}

// Envelope + fields. `fields` is ",\"value\":\"123\"" style (already JSON), may be "".
inline std::string body(const std::string &dev, uint64_t ctr, uint32_t ts,
                        const std::string &fields) {
  char head[128];
  snprintf(head, sizeof(head), "{\"v\":1,\"dev\":\"%s\",\"ctr\":%llu,\"ts\":%lu", dev.c_str(),
           (unsigned long long) ctr, (unsigned long) ts);
  return std::string(head) + fields + "}";
}

// Verify a hub message. On success `out_body` is the signed body (safe to read).
inline bool verify(const std::string &key_hex, const std::string &topic,
                   const std::string &payload, std::string &out_body) {
  const std::string marker = ",\"sig\":\"";
  size_t pos = payload.rfind(marker);
  if (pos == std::string::npos || payload.size() != pos + marker.size() + SIG_HEX + 2) return false;
  std::string sig = payload.substr(pos + marker.size(), SIG_HEX);
  std::string b = payload.substr(0, pos) + "}";
  std::string want = hmac_hex(key_hex, topic, b);
  if (want.size() != SIG_HEX) return false;
  uint8_t diff = 0;  // constant time
  for (size_t i = 0; i < SIG_HEX; i++) diff |= (uint8_t) (want[i] ^ sig[i]);
  if (diff != 0) return false;
  out_body = b;
  return true;
}

// Read an unsigned integer / boolean member from a verified body (the hub writes
// compact JSON with these keys exactly once).
inline uint64_t field_u64(const std::string &b, const char *key) {
  std::string k = std::string("\"") + key + "\":";
  size_t p = b.find(k);
  if (p == std::string::npos) return 0;
  return strtoull(b.c_str() + p + k.size(), nullptr, 10);
}

inline bool field_true(const std::string &b, const char *key) {
  std::string k = std::string("\"") + key + "\":true";
  return b.find(k) != std::string::npos;
}

// Escape a reader value for JSON (digits and letters in practice).
inline std::string json_str(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if ((unsigned char) c >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace community_gate
